/* UTS node counter on a stealpool pool. */
#ifndef SP_BENCH_UTS_SP_H
#define SP_BENCH_UTS_SP_H

#include <stealpool/pool.h>

#include "uts.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Counts the tree of p on pool through sp_pool_run and stores the result in
 * *out. A node's children are explored by splitting their index range in
 * halves with sp_join until one child is left. Blocks. Returns sp_pool_run's
 * error, leaving *out unchanged.
 */
int uts_count_sp(sp_pool *pool, const uts_params *p, uts_counts *out);

#ifdef __cplusplus
}
#endif

#endif
