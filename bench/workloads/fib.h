/*
 * F1: naive recursive Fibonacci, fib(0) = 0, fib(1) = 1, with a fork at
 * every call that recurses. Used by the known-answer tests, the Google
 * Benchmark programs and stealpool-bench.
 */
#ifndef SP_BENCH_FIB_H
#define SP_BENCH_FIB_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Declared in <stealpool/pool.h>; C++ code that uses only the sequential
 * parts need not include the runtime header. */
struct sp_pool;

/* Frame of one call: the argument n and, on return, fib(n). */
typedef struct fib_frame {
    unsigned n;
    uint64_t result;
} fib_frame;

/* Returns fib(n) by plain recursion; the compiler may inline and unroll it. */
uint64_t fib_seq(unsigned n);

/* Returns fib(n) by plain recursion with one real function call per call. */
uint64_t fib_seq_calls(unsigned n);

/* Sets frame->result to fib(frame->n) with the call shape of fib_sp_task (a
 * frame per call, passed by pointer) and no runtime. A join's cost is the
 * time above this one. */
void fib_seq_frames(void *frame);

/* Returns fib(n) by iteration: the answer the recursive versions must match. */
uint64_t fib_iterative(unsigned n);

/* Returns the number of calls the naive recursion makes: 2 * fib(n + 1) - 1. */
uint64_t fib_call_count(unsigned n);

/*
 * Task body: sets frame->result to fib(frame->n), forking the two recursive
 * calls with sp_join. Meant to run on a pool worker.
 */
void fib_sp_task(void *frame);

/*
 * Computes fib(n) on pool through sp_pool_run and stores it in *out.
 * Blocks. Returns sp_pool_run's error, leaving *out unchanged.
 */
int fib_sp(struct sp_pool *pool, unsigned n, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif
