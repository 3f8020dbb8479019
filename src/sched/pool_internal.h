/*
 * Pool and worker records shared by the files of the scheduler.
 *
 * Threads. A pool has `workers` worker threads started at creation, plus
 * up to SP_SPARE_MAX spare threads started on demand while workers are
 * blocked in the library (see blocking.h). Each thread owns one slot of
 * `slots`; slot i of a spare is >= workers.
 *
 * Queues. Each slot has two Chase-Lev deques: `jobs` holds only sp_join
 * jobs (and parallel_for halves), so that a waiting join can never pop an
 * unrelated task; `tasks` holds tasks that the worker submitted. Tasks
 * submitted from other threads go to the injection queue.
 *
 * Parking word protocol (idle_seq, parked, searching):
 *   - A worker that finds no work becomes a searcher (at most
 *     max_searching at once) and spins for spin_us, stealing.
 *   - Then it reads idle_seq, increments parked, checks every queue once
 *     more and only then sleeps on idle_seq with the value it read.
 *   - Whoever makes work visible calls sp__pool_notify: when nobody is
 *     searching and someone is parked, it bumps idle_seq and wakes one.
 *   - A searcher that finds work stops searching; the last one to stop
 *     wakes one more parked worker, so waking spreads one at a time while
 *     work remains (no thundering herd).
 */
#ifndef SP_SCHED_POOL_INTERNAL_H
#define SP_SCHED_POOL_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool/pool.h>
#include <stealpool/stats.h>

#include "alloc.h"
#include "sched/deque.h"
#include "sched/task.h"

#define SP_SPARE_MAX 256u

/* The counters of sp_stats, declared once for the struct, sums and table. */
#define SP_STATS_FIELDS(X) \
    X(tasks_run)           \
    X(spawned)             \
    X(steals)              \
    X(steal_attempts)      \
    X(injected)            \
    X(parks)               \
    X(wakeups)

typedef struct sp_worker_counters {
#define SP_COUNTER_FIELD(name) _Atomic uint64_t name;
    SP_STATS_FIELDS(SP_COUNTER_FIELD)
#undef SP_COUNTER_FIELD
} sp_worker_counters;

/* Adds one to a counter owned by the calling worker: no read-modify-write,
 * because only the owner writes it. relaxed: readers only need a value that
 * is not torn. */
#define SP_COUNT(w, name)                                                                \
    atomic_store_explicit(&(w)->counters.name,                                           \
                          atomic_load_explicit(&(w)->counters.name, memory_order_relaxed) \
                              + 1,                                                       \
                          memory_order_relaxed)

struct sp_worker {
    sp_deque jobs;  /* join jobs; owner push/pop, thieves steal; first, for the inline join */
    sp_deque tasks; /* tasks submitted by this worker; everyone takes the oldest */

    alignas(SP_CACHE_LINE) sp_pool *pool;
    unsigned  index;
    int       cpu;  /* -1: not pinned */
    bool      spare;
    uint64_t  rng;  /* owner only */
    pthread_t thread;

    /* Joiners whose stolen job this worker runs sleep on helper_seq until
     * it pushes work or finishes a job. */
    _Atomic uint32_t helper_seq;
    _Atomic uint32_t helpers_sleeping;

    /* Spare threads only: sleeping while retired. */
    _Atomic uint32_t spare_wake;
    bool             retired; /* under pool->spare_lock */

    sp_worker_counters counters;
};

struct sp_pool {
    unsigned workers;       /* configured worker count; read-only */
    unsigned spin_us;       /* read-only */
    unsigned max_searching; /* read-only */
    int64_t  deque_capacity;
    bool     print_stats;
    const char *workers_source; /* where the worker count came from; static */
    int     *cpus;          /* pinning plan, one per worker; read-only */

    sp_worker      **slots;   /* workers + SP_SPARE_MAX entries */
    _Atomic unsigned nslots;  /* slots in use; grows when spares start */

    /* Injection queue: a FIFO of tasks from outside the pool. */
    alignas(SP_CACHE_LINE) pthread_mutex_t inject_lock;
    sp_task         *inject_head; /* under inject_lock */
    sp_task         *inject_tail;
    _Atomic uint32_t inject_count; /* hint read without the lock */

    /* Parking (see the protocol above). */
    alignas(SP_CACHE_LINE) _Atomic uint32_t idle_seq;
    _Atomic uint32_t parked;
    _Atomic uint32_t searching;

    /* Shutdown. pending counts accepted submitted tasks not yet finished. */
    alignas(SP_CACHE_LINE) _Atomic uint32_t pending;
    _Atomic bool closing; /* sp_pool_destroy has begun */
    _Atomic bool stopping; /* every task is done: workers exit */

    /* Compensation for blocked workers (see blocking.h). */
    alignas(SP_CACHE_LINE) _Atomic int active; /* runnable worker threads */
    pthread_mutex_t spare_lock;
    sp_worker      *spare_idle[SP_SPARE_MAX]; /* retired spares, under spare_lock */
    unsigned        spare_idle_count;
    bool            spare_limit_logged;
};

_Static_assert(offsetof(struct sp_worker, jobs) == 0, "the inline join reads jobs at offset 0");

/* The worker running on this thread, or NULL. */
/* initial-exec: a direct %fs-relative access instead of a __tls_get_addr call
 * on every join; the library is linked at start-up, not dlopen()ed late. */
extern _Thread_local sp_worker *sp__current_worker __attribute__((tls_model("initial-exec")));

/* worker.c */
void *sp__worker_main(void *arg);
sp_task *sp__find_work(sp_worker *w);
void sp__run_task(sp_worker *w, sp_task *task);
bool sp__pool_has_work(sp_pool *pool);

/* park.c */
void sp__pool_notify(sp_pool *pool);
sp_task *sp__worker_idle(sp_worker *w);
void sp__pool_wake_all(sp_pool *pool);

/* stats.c: logs the per-worker table of SP_STATS=1. */
void sp__pool_print_stats(sp_pool *pool);

/* pool.c */
int sp__worker_start(sp_pool *pool, unsigned index, bool spare);
void sp__inject(sp_pool *pool, sp_task *task);
sp_task *sp__inject_take(sp_pool *pool);
void sp__task_finished(sp_pool *pool);

#endif
