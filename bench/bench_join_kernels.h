/*
 * C kernels of the bench_join micro-benchmarks. They live in C so that the
 * C++ benchmark file needs no stealpool header and no C11 atomics.
 */
#ifndef SP_BENCH_JOIN_KERNELS_H
#define SP_BENCH_JOIN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sp_pool;

/* Creates a pool of `workers` workers, other settings from SP_* variables. */
int bj_pool_create(unsigned workers, struct sp_pool **out);

void bj_pool_destroy(struct sp_pool *pool);

/*
 * Submits `tasks` empty tasks to pool from the calling (non-worker) thread
 * with sp_submit, then waits until all have run. Returns 0 or sp_submit's
 * error. Aborts the program when the batch has not finished after 60 s.
 */
int bj_submit_and_wait(struct sp_pool *pool, size_t tasks);

/*
 * Runs one task on pool that pushes `tasks` small tasks onto its own worker's
 * queue with sp_submit and then spins, without running them, until the
 * other workers have stolen and run all of them. Needs at least 2 workers.
 * Returns 0, EINVAL for fewer than 2 workers, or sp_submit's or
 * sp_pool_run's error; aborts the program when the batch has not finished
 * after 60 s. *stolen receives the number of tasks that
 * ran on a worker other than the producer (all of them when the scheduler
 * works).
 */
int bj_produce_and_steal(struct sp_pool *pool, size_t tasks, uint64_t *stolen);

#ifdef __cplusplus
}
#endif

#endif
