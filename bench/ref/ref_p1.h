/*
 * P1 loops on the reference runtimes: oneTBB parallel_for and an OpenMP
 * `parallel for schedule(dynamic)`, each computing items 0 .. count-1 (item
 * i uses i % P1_BATCH_ITEMS as its input) and storing the 64-bit sum of the
 * results in *checksum. `threads` counts the threads that may run items,
 * the caller included (>= 1). Each function blocks and returns 0, EINVAL
 * for threads == 0, or ENOMEM. p1_tbb.cc is compiled only with oneTBB
 * (SB_HAVE_TBB), p1_omp.c only with OpenMP (SB_HAVE_OPENMP).
 */
#ifndef SP_BENCH_REF_P1_H
#define SP_BENCH_REF_P1_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int ref_tbb_p1(unsigned threads, uint32_t count, uint64_t *checksum);
int ref_omp_p1(unsigned threads, uint32_t count, uint64_t *checksum);

#ifdef __cplusplus
}
#endif

#endif
