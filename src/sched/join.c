/*
 * sp_join: fork-join with the job record on the caller's stack.
 *
 * The caller pushes a job for fb on its own jobs deque, runs fa, then pops.
 * Getting the job back means nobody stole it, and fb runs inline. Otherwise
 * a thief runs it, and the caller waits by "leapfrogging" (Wagner and
 * Calder, 1993): it steals only from the thief's jobs deque, which holds
 * nothing but descendants of fb, because a worker steals only when its own
 * deque is empty. The waiting caller therefore never runs a task that could
 * block on the frame beneath it.
 */
#include <limits.h>
#include <stdint.h>

#include <ck_pr.h>

#include <stealpool/ctx.h>

#include "log.h"
#include "platform/futex.h"
#include "sched/pool_internal.h"

enum { JOB_PENDING = 0, JOB_DONE = 1, JOB_SLEEPING = 2 };

void sp__job_execute(sp_task *task, sp_worker *w)
{
    sp__join_job *job = (sp__join_job *)task;

    /* release: pairs with the acquire load in join_wait, which then steals
     * from this worker's deque */
    atomic_store_explicit(&job->thief, w, memory_order_release);
    job->fn(job->arg);
    SP_COUNT(w, tasks_run);

    /* acq_rel: publishes fn's effects to the joiner; reads whether it sleeps */
    uint32_t prev = atomic_exchange_explicit(&job->state, JOB_DONE, memory_order_acq_rel);
    if (prev == JOB_SLEEPING)
        sp__futex_wake(&job->state, 1);
}

/* Waits for a stolen job, helping its thief; sleeps after spin_us idle. */
static void join_wait(sp_worker *w, sp__join_job *job)
{
    int64_t idle_since = 0;

    for (;;) {
        /* acquire: pairs with the exchange in sp__job_execute */
        uint32_t state = atomic_load_explicit(&job->state, memory_order_acquire);
        if (state == JOB_DONE)
            return;

        /* acquire: pairs with the release store in sp__job_execute */
        sp_worker *thief = atomic_load_explicit(&job->thief, memory_order_acquire);
        if (thief != NULL) {
            sp_task *task = sp__deque_steal(&thief->jobs);
            if (task == SP_DEQUE_ABORT)
                continue;
            if (task != NULL) {
                SP_COUNT(w, steals);
                sp__run_task(w, task);
                idle_since = 0;
                continue;
            }
        }

        int64_t now = sp_now_ns();
        if (idle_since == 0)
            idle_since = now;
        if (now - idle_since < (int64_t)w->pool->spin_us * 1000) {
            for (int i = 0; i < 16; i++)
                ck_pr_stall();
            continue;
        }

        /* The thief runs a long sequential stretch: sleep until it is done. */
        uint32_t expected = JOB_PENDING;
        /* acquire on failure: the state may be JOB_DONE with fn's effects */
        if (atomic_compare_exchange_strong_explicit(&job->state, &expected, JOB_SLEEPING,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire)) {
            SP_COUNT(w, parks);
            sp__futex_wait(&job->state, JOB_SLEEPING, INT64_MAX);
            SP_COUNT(w, wakeups);
        }
        idle_since = 0;
    }
}

bool sp__join_push_slow(sp_worker *w, sp__join_job *job)
{
    int64_t before = sp__deque_push(&w->jobs, &job->task);
    if (before < 0)
        return false;

    /* The deque was empty: idle workers may not know that work exists. */
    if (before == 0)
        sp__pool_notify(w->pool);
    return true;
}

bool sp__join_pop_slow(sp_worker *w, sp__join_job *job, int64_t bottom)
{
    /* relaxed: ordered after the store of bottom by the caller's fence */
    int64_t top = atomic_load_explicit(&w->jobs.top, memory_order_relaxed);

    if (top == bottom) {
        /* The job is the last item: race the thieves for it through top. */
        bool won = atomic_compare_exchange_strong_explicit(&w->jobs.top, &top, top + 1,
                                                           memory_order_seq_cst,
                                                           memory_order_relaxed);
        /* relaxed: only the owner writes bottom */
        atomic_store_explicit(&w->jobs.bottom, bottom + 1, memory_order_relaxed);
        if (won)
            return true;
    } else {
        /* Empty: the job was stolen. Restore bottom. */
        atomic_store_explicit(&w->jobs.bottom, bottom + 1, memory_order_relaxed);
    }

    join_wait(w, job);
    return false;
}

/* sp_join from outside any worker: the whole join runs on the default pool. */
typedef struct outside_join {
    void (*fa)(void *);
    void *a;
    void (*fb)(void *);
    void *b;
} outside_join;

static void outside_join_run(void *arg)
{
    outside_join *oj = arg;
    sp_join(oj->fa, oj->a, oj->fb, oj->b);
}

void sp__join_outside(void (*fa)(void *), void *a, void (*fb)(void *), void *b)
{
    outside_join oj = {fa, a, fb, b};
    sp_pool *pool = sp_default_pool();
    if (pool == NULL || sp_pool_run(pool, outside_join_run, &oj) != 0) {
        fa(a);
        fb(b);
    }
}

void(sp_join)(void (*fa)(void *), void *a, void (*fb)(void *), void *b)
{
    sp__join_inline(fa, a, fb, b);
}
