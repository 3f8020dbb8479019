/* The worker loop: find work in the local deques, the injection queue and
 * other workers' deques, run it, and go idle when there is none. */
#include <stdint.h>

#include "platform/cpus.h"
#include "sched/pool_internal.h"
#include "log.h"

_Thread_local sp_worker *sp__current_worker __attribute__((tls_model("initial-exec")));

void sp__run_task(sp_worker *w, sp_task *task)
{
    task->execute(task, w);
}

static uint64_t next_random(sp_worker *w)
{
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return x;
}

/* Takes from a deque, retrying when a steal lost a race but items remain. */
static sp_task *take_oldest(sp_deque *dq)
{
    for (;;) {
        sp_task *task = sp__deque_steal(dq);
        if (task != SP_DEQUE_ABORT)
            return task;
    }
}

/* One pass over the other workers, starting at a random victim. */
static sp_task *steal_round(sp_worker *w)
{
    sp_pool *pool = w->pool;
    /* acquire: pairs with the release store in sp__worker_start, so the
     * slots below nslots are initialised */
    unsigned count = atomic_load_explicit(&pool->nslots, memory_order_acquire);
    unsigned start = (unsigned)(next_random(w) % count);

    for (unsigned i = 0; i < count; i++) {
        sp_worker *victim = pool->slots[(start + i) % count];
        if (victim == w)
            continue;

        SP_COUNT(w, steal_attempts);
        sp_task *task = take_oldest(&victim->jobs);
        if (task == NULL)
            task = take_oldest(&victim->tasks);
        if (task != NULL) {
            SP_COUNT(w, steals);
            return task;
        }
    }
    return NULL;
}

sp_task *sp__find_work(sp_worker *w)
{
    sp_task *task = sp__deque_pop(&w->jobs);
    if (task != NULL)
        return task;

    task = take_oldest(&w->tasks);
    if (task != NULL)
        return task;

    task = sp__inject_take(w->pool);
    if (task != NULL) {
        SP_COUNT(w, injected);
        return task;
    }

    return steal_round(w);
}

bool sp__pool_has_work(sp_pool *pool)
{
    /* relaxed: a hint; the callers order it with their own fences */
    if (atomic_load_explicit(&pool->inject_count, memory_order_relaxed) != 0)
        return true;

    /* acquire: pairs with the release store in sp__worker_start */
    unsigned count = atomic_load_explicit(&pool->nslots, memory_order_acquire);
    for (unsigned i = 0; i < count; i++) {
        sp_worker *w = pool->slots[i];
        if (sp__deque_nonempty(&w->jobs) || sp__deque_nonempty(&w->tasks))
            return true;
    }
    return false;
}

void *sp__worker_main(void *arg)
{
    sp_worker *w = arg;
    sp__current_worker = w;

    if (w->cpu >= 0) {
        int rc = sp__pin_thread(pthread_self(), w->cpu);
        if (rc != 0)
            sp__log("worker %u: pinning to CPU %d failed (error %d); it runs unpinned",
                    w->index, w->cpu, rc);
    }

    for (;;) {
        sp_task *task = sp__find_work(w);
        if (task == NULL)
            task = sp__worker_idle(w);
        if (task == NULL)
            break;
        sp__run_task(w, task);
    }

    sp__current_worker = NULL;
    return NULL;
}
