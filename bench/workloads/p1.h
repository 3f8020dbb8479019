/*
 * P1: a batch of 1000 items of variable cost, the workload behind the
 * bounded-concurrency patterns of stealpool-bench and the examples.
 *
 * Item i (a uint32_t) starts from h(i), where h is the 32-bit finalizer of
 * MurmurHash3, and runs 20 + h(i) % 180 iterations of a serially dependent
 * mixing step: s ^= s >> 13; s *= 0x5bd1e995; s ^= s >> 15; s += j. The
 * item's result is the final s. A batch's checksum is the 64-bit sum of
 * the results of items 0 .. 999.
 */
#ifndef SP_BENCH_P1_H
#define SP_BENCH_P1_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Items in one batch. */
#define P1_BATCH_ITEMS 1000u

/*
 * Checksum of one batch, items 0 .. 999. Computed by an independent
 * implementation of the same definition (a Python script); the mixing
 * steps of the whole batch add up to 110993 iterations.
 */
#define P1_BATCH_CHECKSUM UINT64_C(2155826487838)

/* Returns the 32-bit MurmurHash3 finalizer of x. */
uint32_t p1_hash(uint32_t x);

/* Computes item i. Never inlined, so every system pays one call per item. */
uint32_t p1_item(uint32_t i) __attribute__((noinline));

/* Returns the sum of the items lo .. hi-1. */
uint64_t p1_range(uint32_t lo, uint32_t hi);

#ifdef __cplusplus
}
#endif

#endif
