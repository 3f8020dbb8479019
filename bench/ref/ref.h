/*
 * F1, F2 and F3 on the reference runtimes: oneTBB task_group and OpenMP
 * tasks (GCC's libgomp). Each function runs the same algorithm and the same
 * task shape as the stealpool version in bench/workloads/: the second half
 * of every split is spawned and the first half runs on the caller, then the
 * caller waits for both.
 *
 * ref_tbb.cc is compiled only when oneTBB is found (SB_HAVE_TBB) and
 * ref_omp.c only when OpenMP is found (SB_HAVE_OPENMP). `threads` is the
 * number of threads that may run tasks, the caller included (>= 1). Every
 * function blocks and returns 0, EINVAL for threads == 0 or a bad n, or
 * ENOMEM when the runtime runs out of memory.
 */
#ifndef SP_BENCH_REF_H
#define SP_BENCH_REF_H

#include <stdint.h>

#include "uts.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the runtime's version as text, such as "oneTBB 2021.8.0". */
const char *ref_tbb_version(void);
int ref_tbb_fib(unsigned threads, unsigned n, uint64_t *out);
int ref_tbb_nqueens(unsigned threads, unsigned n, uint64_t *out);
int ref_tbb_uts(unsigned threads, const uts_params *p, uts_counts *out);

/* Returns the runtime's version as text, such as "OpenMP 201511". */
const char *ref_omp_version(void);
int ref_omp_fib(unsigned threads, unsigned n, uint64_t *out);
int ref_omp_nqueens(unsigned threads, unsigned n, uint64_t *out);
int ref_omp_uts(unsigned threads, const uts_params *p, uts_counts *out);

#ifdef __cplusplus
}
#endif

#endif
