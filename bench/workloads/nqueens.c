#include "nqueens.h"

#include <errno.h>

#include <stealpool/pool.h>

nqueens_board nqueens_empty(unsigned n)
{
    nqueens_board board = {n, 0, 0, 0, 0};
    return board;
}

static uint64_t solve_seq(const nqueens_board *b)
{
    if (b->row == b->n)
        return 1;

    uint64_t solutions = 0;
    uint32_t candidates = nqueens_free_columns(b);
    while (candidates != 0) {
        nqueens_board next = nqueens_place(b, candidates & -candidates);
        candidates &= candidates - 1;
        solutions += solve_seq(&next);
    }
    return solutions;
}

uint64_t nqueens_seq(unsigned n)
{
    if (n == 0 || n > NQUEENS_MAX_N)
        return 0;
    nqueens_board board = nqueens_empty(n);
    return solve_seq(&board);
}

static uint64_t count_placements(const nqueens_board *b)
{
    uint64_t placements = 0;
    uint32_t candidates = nqueens_free_columns(b);
    while (candidates != 0) {
        nqueens_board next = nqueens_place(b, candidates & -candidates);
        candidates &= candidates - 1;
        placements += 1 + count_placements(&next);
    }
    return placements;
}

uint64_t nqueens_placements(unsigned n)
{
    if (n == 0 || n > NQUEENS_MAX_N)
        return 0;
    nqueens_board board = nqueens_empty(n);
    return count_placements(&board);
}

/* Some free columns of a board's next row, one bit each, and on return the
 * solutions below them. */
typedef struct columns_frame {
    const nqueens_board *board;
    uint32_t columns;
    uint64_t solutions;
} columns_frame;

static void columns_task(void *arg);

/* Counts the solutions below board b, forking one task per free column. */
static uint64_t solve_sp(const nqueens_board *b)
{
    if (b->row == b->n)
        return 1;

    uint32_t columns = nqueens_free_columns(b);
    if (columns == 0)
        return 0;

    columns_frame all = {b, columns, 0};
    columns_task(&all);
    return all.solutions;
}

static void columns_task(void *arg)
{
    columns_frame *f = arg;

    if ((f->columns & (f->columns - 1)) == 0) {
        nqueens_board next = nqueens_place(f->board, f->columns);
        f->solutions = solve_sp(&next);
        return;
    }

    uint32_t lower = nqueens_lower_half(f->columns);
    columns_frame left = {f->board, lower, 0};
    columns_frame right = {f->board, f->columns ^ lower, 0};
    sp_join(columns_task, &left, columns_task, &right);
    f->solutions = left.solutions + right.solutions;
}

typedef struct root_frame {
    unsigned n;
    uint64_t solutions;
} root_frame;

static void root_task(void *arg)
{
    root_frame *root = arg;
    nqueens_board board = nqueens_empty(root->n);
    root->solutions = solve_sp(&board);
}

int nqueens_sp(sp_pool *pool, unsigned n, uint64_t *out)
{
    if (n == 0 || n > NQUEENS_MAX_N)
        return EINVAL;

    root_frame root = {n, 0};
    int rc = sp_pool_run(pool, root_task, &root);
    if (rc == 0)
        *out = root.solutions;
    return rc;
}
