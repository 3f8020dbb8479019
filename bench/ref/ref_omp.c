/*
 * F1, F2 and F3 on OpenMP tasks: `omp task` for the second half of every
 * split and `omp taskwait` to join, started from one thread of a parallel
 * region of the requested size.
 */
#include "ref.h"

#include <errno.h>
#include <stdio.h>

#include <omp.h>

#include "nqueens.h"

static uint64_t fib(unsigned n)
{
    if (n < 2)
        return n;

    uint64_t a;
    uint64_t b;
#pragma omp task shared(b)
    b = fib(n - 2);
    a = fib(n - 1);
#pragma omp taskwait
    return a + b;
}

static uint64_t nqueens_solve(const nqueens_board *board);

static uint64_t nqueens_columns(const nqueens_board *board, uint32_t columns)
{
    if ((columns & (columns - 1)) == 0) {
        nqueens_board next = nqueens_place(board, columns);
        return nqueens_solve(&next);
    }

    uint32_t lower = nqueens_lower_half(columns);
    uint64_t left;
    uint64_t right;
#pragma omp task shared(right)
    right = nqueens_columns(board, columns ^ lower);
    left = nqueens_columns(board, lower);
#pragma omp taskwait
    return left + right;
}

static uint64_t nqueens_solve(const nqueens_board *board)
{
    if (board->row == board->n)
        return 1;

    uint32_t columns = nqueens_free_columns(board);
    if (columns == 0)
        return 0;
    return nqueens_columns(board, columns);
}

static void uts_visit(const uts_params *p, const uts_state *node, uint32_t height,
                      uts_counts *acc);

static void uts_range(const uts_params *p, const uts_state *parent, uint32_t child_height,
                      int lo, int hi, uts_counts *acc)
{
    if (hi - lo == 1) {
        uts_state child;
        uts_child_state(parent, (uint32_t)lo, &child);
        uts_visit(p, &child, child_height, acc);
        return;
    }

    int mid = lo + (hi - lo) / 2;
    uts_counts right = {0, 0, 0};
#pragma omp task shared(right)
    uts_range(p, parent, child_height, mid, hi, &right);
    uts_range(p, parent, child_height, lo, mid, acc);
#pragma omp taskwait
    uts_counts_merge(acc, &right);
}

static void uts_visit(const uts_params *p, const uts_state *node, uint32_t height,
                      uts_counts *acc)
{
    int children = uts_count_node(p, node, height, acc);
    if (children == 0)
        return;
    uts_range(p, node, height + 1, 0, children, acc);
}

const char *ref_omp_version(void)
{
    static char text[64];
    snprintf(text, sizeof text, "OpenMP %d (libgomp)", _OPENMP);
    return text;
}

int ref_omp_fib(unsigned threads, unsigned n, uint64_t *out)
{
    if (threads == 0)
        return EINVAL;

    uint64_t result = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(threads)
#pragma omp single
    result = fib(n);
    *out = result;
    return 0;
}

int ref_omp_nqueens(unsigned threads, unsigned n, uint64_t *out)
{
    if (threads == 0 || n == 0 || n > NQUEENS_MAX_N)
        return EINVAL;

    uint64_t result = 0;
    nqueens_board board = nqueens_empty(n);
    omp_set_dynamic(0);
#pragma omp parallel num_threads(threads)
#pragma omp single
    result = nqueens_solve(&board);
    *out = result;
    return 0;
}

int ref_omp_uts(unsigned threads, const uts_params *p, uts_counts *out)
{
    if (threads == 0)
        return EINVAL;

    uts_counts result = {0, 0, 0};
    omp_set_dynamic(0);
#pragma omp parallel num_threads(threads)
#pragma omp single
    {
        uts_state root;
        uts_root_state(p, &root);
        uts_visit(p, &root, 0, &result);
    }
    *out = result;
    return 0;
}
