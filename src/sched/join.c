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

enum { JOB_PENDING = 0, JOB_DONE = 1 };

/* Wakes the joiners sleeping until thief pushes work or finishes a job. */
static void wake_helpers(sp_worker *thief)
{
    /* seq_cst: the caller's publication (a push, or a job marked done) is
     * ordered before this load, against the increment in join_sleep */
    if (atomic_load_explicit(&thief->helpers_sleeping, memory_order_seq_cst) == 0)
        return;
    /* release: pairs with the acquire load in join_sleep */
    atomic_fetch_add_explicit(&thief->helper_seq, 1, memory_order_release);
    sp__futex_wake(&thief->helper_seq, INT_MAX);
}

void sp__job_execute(sp_task *task, sp_worker *w)
{
    sp__join_job *job = (sp__join_job *)task;

    /* release: pairs with the acquire load in join_wait, which then steals
     * from this worker's deque */
    atomic_store_explicit(&job->thief, w, memory_order_release);
    job->fn(job->arg);
    SP_COUNT(w, tasks_run);

    /* seq_cst: publishes fn's effects to the joiner and orders the store
     * before the load of helpers_sleeping in wake_helpers */
    atomic_store_explicit(&job->state, JOB_DONE, memory_order_seq_cst);
    wake_helpers(w);
}

/*
 * Sleeps until the thief pushes work or finishes a job. The joiner
 * registers in helpers_sleeping, then checks the job and the thief's deque
 * once more; the thief publishes first and then reads helpers_sleeping. One
 * of the two sees the other, so the wake is not lost. The job record stays
 * valid while the joiner sleeps, because the joiner owns it.
 */
static void join_sleep(sp_worker *w, sp__join_job *job, sp_worker *thief)
{
    /* acquire: pairs with the release increment in wake_helpers */
    uint32_t seen = atomic_load_explicit(&thief->helper_seq, memory_order_acquire);
    atomic_fetch_add_explicit(&thief->helpers_sleeping, 1, memory_order_seq_cst);
    /* seq_cst fence: orders the increment before the checks below */
    atomic_thread_fence(memory_order_seq_cst);

    bool done = atomic_load_explicit(&job->state, memory_order_acquire) == JOB_DONE;
    if (!done && !sp__deque_nonempty(&thief->jobs)) {
        SP_COUNT(w, parks);
        sp__futex_wait(&thief->helper_seq, seen, INT64_MAX);
        SP_COUNT(w, wakeups);
    }

    atomic_fetch_sub_explicit(&thief->helpers_sleeping, 1, memory_order_relaxed);
}

/* Waits for a stolen job, helping its thief; sleeps after spin_us idle. */
static void join_wait(sp_worker *w, sp__join_job *job)
{
    int64_t idle_since = 0;

    for (;;) {
        /* acquire: pairs with the store of JOB_DONE in sp__job_execute */
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
        if (thief == NULL || now - idle_since < (int64_t)w->pool->spin_us * 1000) {
            for (int i = 0; i < 16; i++)
                ck_pr_stall();
            continue;
        }

        /* The thief runs a sequential stretch with nothing to steal. */
        join_sleep(w, job, thief);
        idle_since = 0;
    }
}

bool sp__join_push_slow(sp_worker *w, sp__join_job *job)
{
    int64_t before = sp__deque_push(&w->jobs, &job->task);
    if (before < 0)
        return false;

    /* The deque was empty: idle workers and joiners sleeping on this
     * worker may not know that work exists. */
    if (before == 0) {
        sp__pool_notify(w->pool);
        wake_helpers(w);
    }
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

void sp__join_null(void (*fa)(void *), void *a, void (*fb)(void *), void *b)
{
    const char *which = fa == NULL && fb == NULL ? "fa and fb are"
                        : fa == NULL             ? "fa is"
                                                 : "fb is";
    sp__log("sp_join: %s NULL; nothing runs in place of a NULL function", which);
    if (fa != NULL)
        fa(a);
    if (fb != NULL)
        fb(b);
}

void(sp_join)(void (*fa)(void *), void *a, void (*fb)(void *), void *b)
{
    sp__join_inline(fa, a, fb, b);
}
