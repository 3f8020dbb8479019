/*
 * Idle workers: bounded searching, parking on the pool's futex, waking, and
 * the spare threads that replace blocked workers.
 *
 * Why no wake-up is lost. A parking worker reads idle_seq, increments
 * parked, issues a seq_cst fence and checks every queue once more before it
 * sleeps on the value it read. A producer publishes its task, issues a
 * seq_cst fence and then reads searching and parked (sp__pool_notify).
 * Between the two fences one side sees the other: either the parking worker
 * finds the task, or the producer sees parked > 0 and bumps idle_seq, which
 * makes the futex wait return at once.
 *
 * A producer skips the wake while a worker is searching: that searcher
 * either takes the task, or stops searching and passes through the same
 * park check. A searcher that takes work and was the last searcher wakes one
 * more parked worker when work remains, so wake-ups spread one at a time.
 *
 * Joins push without a fence when the deque already held items; those
 * items were announced when the deque became non-empty, and the owner pops
 * its own join jobs in any case, so no work is ever stranded.
 */
#include <limits.h>
#include <sched.h>
#include <stdint.h>

#include <ck_pr.h>

#include <stealpool/ctx.h>

#include "log.h"
#include "platform/futex.h"
#include "sched/blocking.h"
#include "sched/pool_internal.h"

void sp__pool_notify(sp_pool *pool)
{
    /* seq_cst fence: orders the caller's publication of work before the
     * loads of searching and parked (see the file comment) */
    atomic_thread_fence(memory_order_seq_cst);

    /* relaxed: ordered by the fence above */
    if (atomic_load_explicit(&pool->searching, memory_order_relaxed) != 0)
        return;
    if (atomic_load_explicit(&pool->parked, memory_order_relaxed) == 0)
        return;

    /* release: the woken worker's acquire read of idle_seq follows it */
    atomic_fetch_add_explicit(&pool->idle_seq, 1, memory_order_release);
    sp__futex_wake(&pool->idle_seq, 1);
}

void sp__pool_wake_all(sp_pool *pool)
{
    /* release: the stopping flag written before is seen by woken workers */
    atomic_fetch_add_explicit(&pool->idle_seq, 1, memory_order_release);
    sp__futex_wake(&pool->idle_seq, INT_MAX);

    pthread_mutex_lock(&pool->spare_lock);
    for (unsigned i = 0; i < pool->spare_idle_count; i++) {
        sp_worker *spare = pool->spare_idle[i];
        /* release: pairs with the acquire load in spare_retire */
        atomic_fetch_add_explicit(&spare->spare_wake, 1, memory_order_release);
        sp__futex_wake(&spare->spare_wake, 1);
    }
    pthread_mutex_unlock(&pool->spare_lock);
}

static bool try_start_searching(sp_pool *pool)
{
    /* relaxed: the count only limits how many workers spin */
    uint32_t count = atomic_load_explicit(&pool->searching, memory_order_relaxed);
    while (count < pool->max_searching) {
        if (atomic_compare_exchange_weak_explicit(&pool->searching, &count, count + 1,
                                                  memory_order_seq_cst, memory_order_relaxed))
            return true;
    }
    return false;
}

/* A searcher found work: the last searcher to stop wakes one more worker
 * when other work is waiting. */
static void stop_searching_with_work(sp_pool *pool)
{
    /* seq_cst: must be ordered before the queue checks below, against the
     * fence in sp__pool_notify */
    if (atomic_fetch_sub_explicit(&pool->searching, 1, memory_order_seq_cst) != 1)
        return;
    if (sp__pool_has_work(pool))
        sp__pool_notify(pool);
}

static bool is_stopping(sp_pool *pool)
{
    /* acquire: pairs with the release store in sp_pool_destroy */
    return atomic_load_explicit(&pool->stopping, memory_order_acquire);
}

/* Spare only: leaves the pool while more threads run than configured, and
 * sleeps until a blocked worker needs a replacement. Returns false when the
 * pool stops. */
static bool spare_retire_if_excess(sp_worker *w)
{
    sp_pool *pool = w->pool;

    /* relaxed: a heuristic; the CAS below decides */
    int active = atomic_load_explicit(&pool->active, memory_order_relaxed);
    if (active <= (int)pool->workers)
        return true;
    if (!atomic_compare_exchange_strong_explicit(&pool->active, &active, active - 1,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return true;

    pthread_mutex_lock(&pool->spare_lock);
    /* acquire: pairs with the release increments by whoever wakes us */
    uint32_t seen = atomic_load_explicit(&w->spare_wake, memory_order_acquire);
    w->retired = true;
    pool->spare_idle[pool->spare_idle_count++] = w;
    pthread_mutex_unlock(&pool->spare_lock);

    /* Producers skipped their wake while this spare was searching, and it
     * leaves without the park check: pass work it did not take to a parked
     * worker. seq_cst fence: orders the earlier decrement of searching
     * before the queue checks, against the fence in sp__pool_notify. */
    atomic_thread_fence(memory_order_seq_cst);
    if (sp__pool_has_work(pool))
        sp__pool_notify(pool);

    for (;;) {
        if (is_stopping(pool))
            return false;
        pthread_mutex_lock(&pool->spare_lock);
        bool retired = w->retired;
        pthread_mutex_unlock(&pool->spare_lock);
        if (!retired)
            return true;
        sp__futex_wait(&w->spare_wake, seen, INT64_MAX);
        seen = atomic_load_explicit(&w->spare_wake, memory_order_acquire);
    }
}

sp_task *sp__worker_idle(sp_worker *w)
{
    sp_pool *pool = w->pool;
    bool searching = try_start_searching(pool);
    int64_t spin_end = sp_now_ns() + (int64_t)pool->spin_us * 1000;

    for (;;) {
        /* Search: steal for up to spin_us. */
        while (searching) {
            sp_task *task = sp__find_work(w);
            if (task != NULL) {
                stop_searching_with_work(pool);
                return task;
            }
            int64_t now = sp_now_ns();
            if (is_stopping(pool) || now >= spin_end) {
                /* seq_cst: ordered before the park check below */
                atomic_fetch_sub_explicit(&pool->searching, 1, memory_order_seq_cst);
                searching = false;
                break;
            }
            for (int i = 0; i < 32; i++)
                ck_pr_stall();

            /* Give the CPU to a runnable thread that shares it: often the
             * thread that submits the next task. Measured with a submitting
             * thread on the worker's CPU (group limit 20, 1000 short
             * tasks), yielding only after 10 us of search made a batch
             * take 1.2 ms instead of 0.66 ms. */
            sched_yield();
        }

        if (is_stopping(pool))
            return NULL;
        if (w->spare && !spare_retire_if_excess(w))
            return NULL;

        /* Park: announce, check once more, then sleep. */
        /* acquire: pairs with the release increment in sp__pool_notify */
        uint32_t seen = atomic_load_explicit(&pool->idle_seq, memory_order_acquire);
        atomic_fetch_add_explicit(&pool->parked, 1, memory_order_seq_cst);
        /* seq_cst fence: orders the increment of parked before the queue
         * checks (see the file comment) */
        atomic_thread_fence(memory_order_seq_cst);

        sp_task *task = sp__find_work(w);
        if (task != NULL || is_stopping(pool)) {
            atomic_fetch_sub_explicit(&pool->parked, 1, memory_order_seq_cst);
            if (task != NULL && sp__pool_has_work(pool))
                sp__pool_notify(pool);
            return task;
        }

        SP_COUNT(w, parks);
        sp__futex_wait(&pool->idle_seq, seen, INT64_MAX);
        atomic_fetch_sub_explicit(&pool->parked, 1, memory_order_seq_cst);
        SP_COUNT(w, wakeups);

        searching = try_start_searching(pool);
        spin_end = sp_now_ns() + (int64_t)pool->spin_us * 1000;
    }
}

/* Wakes a retired spare or starts a new one. Called with active already
 * raised on the spare's behalf. */
static void start_replacement(sp_pool *pool)
{
    pthread_mutex_lock(&pool->spare_lock);

    if (pool->spare_idle_count > 0) {
        sp_worker *spare = pool->spare_idle[--pool->spare_idle_count];
        spare->retired = false;
        /* release: pairs with the acquire load in spare_retire_if_excess */
        atomic_fetch_add_explicit(&spare->spare_wake, 1, memory_order_release);
        sp__futex_wake(&spare->spare_wake, 1);
        pthread_mutex_unlock(&pool->spare_lock);
        return;
    }

    /* relaxed: nslots only grows, and only under spare_lock */
    unsigned slot = atomic_load_explicit(&pool->nslots, memory_order_relaxed);
    int rc = -1;
    if (slot < pool->workers + SP_SPARE_MAX)
        rc = sp__worker_start(pool, slot, true);

    if (rc != 0) {
        /* relaxed: only the count matters */
        atomic_fetch_sub_explicit(&pool->active, 1, memory_order_relaxed);
        if (!pool->spare_limit_logged) {
            pool->spare_limit_logged = true;
            sp__log("no spare worker could start for a blocked worker (%u spares in use); "
                    "tasks that wait on each other may stall",
                    slot - pool->workers);
        }
    }
    pthread_mutex_unlock(&pool->spare_lock);
}

void sp__block_begin(void)
{
    sp_worker *w = sp__current_worker;
    if (w == NULL)
        return;

    sp_pool *pool = w->pool;
    /* acq_rel: the counter decides who starts a replacement */
    int active = atomic_fetch_sub_explicit(&pool->active, 1, memory_order_acq_rel) - 1;
    if (active >= (int)pool->workers)
        return;
    if (is_stopping(pool))
        return;

    /* relaxed: raised on behalf of the replacement that starts below */
    atomic_fetch_add_explicit(&pool->active, 1, memory_order_relaxed);
    start_replacement(pool);
}

void sp__block_end(void)
{
    sp_worker *w = sp__current_worker;
    if (w == NULL)
        return;

    /* relaxed: only the count matters; spares read it to retire */
    atomic_fetch_add_explicit(&w->pool->active, 1, memory_order_relaxed);
}
