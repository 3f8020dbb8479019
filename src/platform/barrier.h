/*
 * Asymmetric memory barriers through Linux membarrier(2).
 *
 * A thread on the fast side keeps only a compiler barrier; a thread on the
 * slow side calls sp__heavy_barrier, which makes every running thread of
 * the process execute a full memory barrier before it returns. Together
 * they order like a seq_cst fence on both sides, which lets the deque's
 * owner skip its locked instruction on every pop.
 */
#ifndef SP_PLATFORM_BARRIER_H
#define SP_PLATFORM_BARRIER_H

#include <stdbool.h>

/* True once the process registered for MEMBARRIER_CMD_PRIVATE_EXPEDITED.
 * Decided once, before main runs, and never changed afterwards. */
extern bool sp__heavy_barrier_available;

/* Executes the heavy side; only valid when sp__heavy_barrier_available. */
void sp__heavy_barrier(void);

#endif
