/* Per-worker scheduler counters. */
#ifndef STEALPOOL_STATS_H
#define STEALPOOL_STATS_H

#include <stdint.h>

#include <stealpool/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Counters of one worker, or their sum. Each worker writes its own counters
 * with relaxed stores, so a snapshot taken while the pool runs is a little
 * stale but never torn.
 */
typedef struct sp_stats {
    uint64_t tasks_run;      /* submitted tasks and stolen join halves run */
    uint64_t spawned;        /* tasks submitted from the worker (joins are not counted) */
    uint64_t steals;         /* successful steals from other workers */
    uint64_t steal_attempts; /* steal attempts, successful or not */
    uint64_t injected;       /* tasks taken from the injection queue */
    uint64_t parks;          /* times the worker parked on its futex */
    uint64_t wakeups;        /* times the worker was woken from a park */
} sp_stats;

/*
 * Reads the counters. total (may be NULL) receives the sum over all worker
 * threads, spare threads included; per_worker (may be NULL) receives up to n
 * entries, one per worker. Returns the number of entries available, which
 * may exceed n, or -EINVAL for a NULL pool.
 */
int sp_pool_stats(sp_pool *pool, sp_stats *total, sp_stats *per_worker, unsigned n);

#ifdef __cplusplus
}
#endif

#endif
