/*
 * F2: count the solutions of the n-queens problem with bit masks, one
 * queen per row. A "placement" puts a queen on a free column of the next
 * row; the search makes nqueens_placements(n) of them. The parallel
 * versions give every placement its own task by splitting each row's set
 * of free columns in halves with a fork per split, so every system runs
 * the same tasks.
 */
#ifndef SP_BENCH_NQUEENS_H
#define SP_BENCH_NQUEENS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Declared in <stealpool/pool.h>; C++ code that uses only the sequential
 * parts need not include the runtime header. */
struct sp_pool;

/* Largest board the bit-mask search supports. */
#define NQUEENS_MAX_N 20

/* Board after `row` queens: columns and both diagonals under attack. */
typedef struct nqueens_board {
    unsigned n;
    unsigned row;
    uint32_t columns;
    uint32_t left_diagonals;  /* shifted left once per row */
    uint32_t right_diagonals; /* shifted right once per row */
} nqueens_board;

/* Returns the empty n x n board. */
nqueens_board nqueens_empty(unsigned n);

/* Returns the free columns of the board's next row as a bit mask. */
static inline uint32_t nqueens_free_columns(const nqueens_board *b)
{
    uint32_t full = (b->n >= 32) ? 0xffffffffu : ((1u << b->n) - 1);
    return ~(b->columns | b->left_diagonals | b->right_diagonals) & full;
}

/* Returns the board after a queen goes to column bit `column` of the next row. */
static inline nqueens_board nqueens_place(const nqueens_board *b, uint32_t column)
{
    nqueens_board next = {b->n, b->row + 1, b->columns | column,
                          (b->left_diagonals | column) << 1,
                          (b->right_diagonals | column) >> 1};
    return next;
}

/*
 * Returns the lower half (rounded down) of the set bits of columns, which
 * has at least two. The parallel versions split a row's free columns this
 * way: the lower half and the rest.
 */
static inline uint32_t nqueens_lower_half(uint32_t columns)
{
    unsigned half = (unsigned)__builtin_popcount(columns) / 2;
    uint32_t lower = 0;
    for (unsigned i = 0; i < half; i++) {
        uint32_t lowest = columns & (0u - columns);
        lower |= lowest;
        columns ^= lowest;
    }
    return lower;
}

/* Returns the number of solutions for n (1 .. NQUEENS_MAX_N), sequentially. */
uint64_t nqueens_seq(unsigned n);

/* Returns the number of placements the search makes for n. */
uint64_t nqueens_placements(unsigned n);

/*
 * Counts the solutions for n on pool through sp_pool_run, one task per
 * placement, and stores the count in *out. Blocks. Returns EINVAL for n
 * outside 1 .. NQUEENS_MAX_N, else sp_pool_run's error.
 */
int nqueens_sp(struct sp_pool *pool, unsigned n, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif
