/*
 * The semaphore together with a pool: weighted admission of tasks with
 * sp_sem_submit, and tasks that block in sp_sem_acquire on pool workers.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stealpool.h>

#include "check.h"
#include "sync/sem_internal.h"

#define MS 1000000LL

static sp_pool *pool_with_workers(unsigned workers)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = workers;
    cfg.pin = SP_PIN_NONE;
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);
    return pool;
}

/* Waits up to 10 s (times the scale) until *counter reaches target. */
static bool wait_count(atomic_int *counter, int target)
{
    int64_t limit = test_now_ns() + 10000 * MS * sp_test_scale();
    while (atomic_load(counter) < target) {
        if (test_now_ns() > limit)
            return false;
        test_sleep_ns(200000);
    }
    return true;
}

/* Waits up to 10 s (times the scale) until sem has `units` available. */
static bool wait_available(sp_sem *sem, int64_t units)
{
    int64_t limit = test_now_ns() + 10000 * MS * sp_test_scale();
    while (sp_sem_available(sem) != units) {
        if (test_now_ns() > limit)
            return false;
        test_sleep_ns(200000);
    }
    return true;
}

/* Tasks that track the units held by running tasks. */
typedef struct weighted_task {
    int64_t      n;
    atomic_llong *held;
    atomic_llong *max_held;
    atomic_int   *done;
} weighted_task;

static void weighted_task_run(void *arg)
{
    weighted_task *task = arg;
    long long held = atomic_fetch_add(task->held, task->n) + task->n;
    long long max = atomic_load(task->max_held);
    while (held > max && !atomic_compare_exchange_weak(task->max_held, &max, held)) {
    }
    test_sleep_ns(200000);
    atomic_fetch_sub(task->held, task->n);
    atomic_fetch_add(task->done, 1);
}

static void sem_submit_bounds_running_tasks(void)
{
    enum { TASKS = 40, CAPACITY = 3 };
    sp_pool *pool = pool_with_workers(2);
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, CAPACITY), 0);

    atomic_llong held = 0, max_held = 0;
    atomic_int done = 0;
    weighted_task tasks[TASKS];
    for (int i = 0; i < TASKS; i++) {
        tasks[i] = (weighted_task){.n = 1 + i % CAPACITY, .held = &held,
                                   .max_held = &max_held, .done = &done};
        CHECK_EQ(sp_sem_submit(sem, tasks[i].n, pool, weighted_task_run, &tasks[i]), 0);
    }

    CHECK(wait_count(&done, TASKS));
    CHECK(wait_available(sem, CAPACITY));
    CHECK_LE(atomic_load(&max_held), CAPACITY);
    CHECK_GT(atomic_load(&max_held), 0);
    CHECK_EQ(sp__sem_queued_count(sem, 0), 0);

    CHECK_EQ(sp_pool_destroy(pool), 0);
    sp_sem_destroy(sem);
}

static void noop_task(void *arg)
{
    (void)arg;
}

static void sem_submit_error_codes(void)
{
    sp_pool *pool = pool_with_workers(1);
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 4), 0);

    CHECK_EQ(sp_sem_submit(NULL, 1, pool, noop_task, NULL), EINVAL);
    CHECK_EQ(sp_sem_submit(sem, 1, NULL, noop_task, NULL), EINVAL);
    CHECK_EQ(sp_sem_submit(sem, 1, pool, NULL, NULL), EINVAL);
    CHECK_EQ(sp_sem_submit(sem, 0, pool, noop_task, NULL), EINVAL);
    CHECK_EQ(sp_sem_submit(sem, -1, pool, noop_task, NULL), EINVAL);
    CHECK_EQ(sp_sem_submit(sem, 5, pool, noop_task, NULL), EINVAL);
    CHECK_EQ(sp_sem_available(sem), 4);
    CHECK_EQ(sp__sem_queued_count(sem, 0), 0);

    CHECK_EQ(sp_pool_destroy(pool), 0);
    sp_sem_destroy(sem);
}

/* A queued task is admitted in FIFO order with threads and holds back the
 * smaller requests behind it. */
typedef struct order_state {
    sp_sem     *sem;
    atomic_bool task_ran;
    atomic_bool task_release_seen_by_b; /* B admitted while the task had not run */
    atomic_int  done;
} order_state;

static void order_task_run(void *arg)
{
    order_state *state = arg;
    atomic_store(&state->task_ran, true);
    atomic_fetch_add(&state->done, 1);
}

static void *order_thread_main(void *arg)
{
    order_state *state = arg;
    CHECK_EQ(sp_sem_acquire(state->sem, 1, NULL), 0);
    if (!atomic_load(&state->task_ran))
        atomic_store(&state->task_release_seen_by_b, true);
    CHECK_EQ(sp_sem_release(state->sem, 1), 0);
    return NULL;
}

static void sem_submit_fifo_with_threads(void)
{
    sp_pool *pool = pool_with_workers(2);
    order_state state;
    memset(&state, 0, sizeof state);
    CHECK_EQ(sp_sem_create(&state.sem, 2), 0);
    CHECK_EQ(sp_sem_acquire(state.sem, 2, NULL), 0);

    CHECK_EQ(sp_sem_submit(state.sem, 2, pool, order_task_run, &state), 0);
    CHECK_EQ(sp__sem_queued_count(state.sem, 2), 1);

    pthread_t b;
    CHECK_EQ(pthread_create(&b, NULL, order_thread_main, &state), 0);
    int64_t limit = test_now_ns() + 5000 * MS * sp_test_scale();
    while (sp__sem_queued_count(state.sem, 1) < 1 && test_now_ns() < limit)
        test_sleep_ns(100000);
    CHECK_EQ(sp__sem_queued_count(state.sem, 1), 1);

    /* One unit free: the task at the head needs 2, so B must wait too. */
    CHECK_EQ(sp_sem_release(state.sem, 1), 0);
    CHECK_EQ(sp_sem_available(state.sem), 1);
    CHECK_EQ(sp__sem_queued_count(state.sem, 0), 2);
    CHECK(!atomic_load(&state.task_ran));

    CHECK_EQ(sp_sem_release(state.sem, 1), 0);
    pthread_join(b, NULL);
    CHECK(atomic_load(&state.task_ran));
    CHECK(!atomic_load(&state.task_release_seen_by_b));
    CHECK(wait_available(state.sem, 2));

    CHECK_EQ(sp_pool_destroy(pool), 0);
    sp_sem_destroy(state.sem);
}

/*
 * Tasks that block in sp_sem_acquire on every worker, while the releases
 * come from tasks queued behind them: the pool must start spare workers
 * instead of deadlocking. Pool of 2 workers, 8 acquiring tasks, then 8
 * releasing tasks.
 */
typedef struct blocking_state {
    sp_sem    *sem;
    atomic_int acquired;
    atomic_int released;
    atomic_int failed;
} blocking_state;

static void blocking_acquire_task(void *arg)
{
    blocking_state *state = arg;
    sp_ctx *ctx;
    if (sp_ctx_with_timeout(NULL, 10000 * MS * sp_test_scale(), &ctx) != 0) {
        atomic_fetch_add(&state->failed, 1);
        return;
    }
    if (sp_sem_acquire(state->sem, 1, ctx) == 0)
        atomic_fetch_add(&state->acquired, 1);
    else
        atomic_fetch_add(&state->failed, 1);
    sp_ctx_release(ctx);
}

static void blocking_release_task(void *arg)
{
    blocking_state *state = arg;
    CHECK_EQ(sp_sem_release(state->sem, 1), 0);
    atomic_fetch_add(&state->released, 1);
}

static void sem_worker_acquire_no_deadlock(void)
{
    enum { PAIRS = 8 };
    sp_pool *pool = pool_with_workers(2);
    blocking_state state;
    memset(&state, 0, sizeof state);
    CHECK_EQ(sp_sem_create(&state.sem, PAIRS), 0);
    CHECK_EQ(sp_sem_acquire(state.sem, PAIRS, NULL), 0);

    for (int i = 0; i < PAIRS; i++)
        CHECK_EQ(sp_submit(pool, blocking_acquire_task, &state), 0);
    for (int i = 0; i < PAIRS; i++)
        CHECK_EQ(sp_submit(pool, blocking_release_task, &state), 0);

    CHECK(wait_count(&state.acquired, PAIRS));
    CHECK_EQ(atomic_load(&state.released), PAIRS);
    CHECK_EQ(atomic_load(&state.failed), 0);

    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(sp_sem_available(state.sem), 0);
    CHECK_EQ(sp_sem_release(state.sem, PAIRS), 0);
    sp_sem_destroy(state.sem);
}

/* The same with sp_sem_submit releasing: the acquiring tasks wait for the
 * units of queued weighted tasks. */
static void sem_worker_acquire_behind_submitted(void)
{
    enum { PAIRS = 8 };
    sp_pool *pool = pool_with_workers(2);
    blocking_state state;
    memset(&state, 0, sizeof state);
    CHECK_EQ(sp_sem_create(&state.sem, 1), 0);

    atomic_llong held = 0, max_held = 0;
    atomic_int done = 0;
    weighted_task tasks[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        tasks[i] = (weighted_task){.n = 1, .held = &held, .max_held = &max_held, .done = &done};
        CHECK_EQ(sp_submit(pool, blocking_acquire_task, &state), 0);
        CHECK_EQ(sp_sem_submit(state.sem, 1, pool, weighted_task_run, &tasks[i]), 0);
    }

    /* Each acquiring task keeps its unit, so release them from here. */
    for (int i = 0; i < PAIRS; i++) {
        int64_t limit = test_now_ns() + 10000 * MS * sp_test_scale();
        while (atomic_load(&state.acquired) + atomic_load(&state.failed) <= i
               && test_now_ns() < limit)
            test_sleep_ns(200000);
        CHECK_EQ(sp_sem_release(state.sem, 1), 0);
    }

    CHECK(wait_count(&done, PAIRS));
    CHECK_EQ(atomic_load(&state.acquired), PAIRS);
    CHECK_EQ(atomic_load(&state.failed), 0);
    CHECK_EQ(atomic_load(&max_held), 1);
    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(sp_sem_available(state.sem), 1);
    sp_sem_destroy(state.sem);
}

/* Destroy refuses to free while a task is queued; with a task running, the
 * task frees the semaphore when it finishes. */
static atomic_int log_lines;

static void count_log(void *user, const char *line)
{
    (void)user;
    (void)line;
    atomic_fetch_add(&log_lines, 1);
}

typedef struct gate_task {
    atomic_bool open;
    atomic_bool started;
    atomic_int  done;
} gate_task;

static void gate_task_run(void *arg)
{
    gate_task *gate = arg;
    atomic_store(&gate->started, true);
    while (!atomic_load(&gate->open))
        test_sleep_ns(100000);
    atomic_fetch_add(&gate->done, 1);
}

static void sem_destroy_with_queued_task(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 1), 0);
    gate_task gate;
    memset(&gate, 0, sizeof gate);
    atomic_store(&log_lines, 0);
    sp_set_log(count_log, NULL);

    /* Queued behind a held unit: logged and left intact. */
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);
    CHECK_EQ(sp_sem_submit(sem, 1, pool, gate_task_run, &gate), 0);
    sp_sem_destroy(sem);
    CHECK_EQ(atomic_load(&log_lines), 1);
    CHECK_EQ(sp__sem_queued_count(sem, 1), 1);

    /* Admitted and running: destroy succeeds, the task frees it later. */
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    int64_t limit = test_now_ns() + 5000 * MS * sp_test_scale();
    while (!atomic_load(&gate.started) && test_now_ns() < limit)
        test_sleep_ns(100000);
    CHECK(atomic_load(&gate.started));
    CHECK_EQ(sp_sem_available(sem), 0);
    sp_sem_destroy(sem);
    CHECK_EQ(atomic_load(&log_lines), 1);

    atomic_store(&gate.open, true);
    CHECK(wait_count(&gate.done, 1));
    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(atomic_load(&log_lines), 1);
    sp_set_log(NULL, NULL);
}

/* A caller that saw the last task function return may destroy the
 * semaphore at once; destroy waits for the task's release. */
static void flag_task_run(void *arg)
{
    atomic_store((atomic_int *)arg, 1);
}

static void sem_destroy_after_last_task(void)
{
    sp_pool *pool = pool_with_workers(2);
    atomic_store(&log_lines, 0);
    sp_set_log(count_log, NULL);

    int rounds = 2000 / sp_test_scale();
    for (int i = 0; i < rounds; i++) {
        sp_sem *sem;
        CHECK_EQ(sp_sem_create(&sem, 1), 0);
        atomic_int ran = 0;
        CHECK_EQ(sp_sem_submit(sem, 1, pool, flag_task_run, &ran), 0);
        while (atomic_load(&ran) == 0)
            sched_yield();
        sp_sem_destroy(sem);
    }

    sp_set_log(NULL, NULL);
    CHECK_EQ(atomic_load(&log_lines), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/*
 * sp_submit failing after admission: at once the error comes back and the
 * units are free again; for a task admitted later the task is dropped,
 * logged and its units released. A gate task keeps the pool's destroy
 * from finishing while sp_submit returns EPIPE.
 */
static void *destroy_pool_main(void *arg)
{
    CHECK_EQ(sp_pool_destroy(arg), 0);
    return NULL;
}

static void sem_submit_to_closing_pool(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 2), 0);
    gate_task gate;
    memset(&gate, 0, sizeof gate);
    CHECK_EQ(sp_submit(pool, gate_task_run, &gate), 0);

    /* Queued before the pool closes, admitted after. */
    CHECK_EQ(sp_sem_acquire(sem, 2, NULL), 0);
    atomic_int ran = 0;
    CHECK_EQ(sp_sem_submit(sem, 2, pool, flag_task_run, &ran), 0);

    pthread_t destroyer;
    CHECK_EQ(pthread_create(&destroyer, NULL, destroy_pool_main, pool), 0);
    int64_t limit = test_now_ns() + 5000 * MS * sp_test_scale();
    while (sp_submit(pool, noop_task, NULL) != EPIPE && test_now_ns() < limit)
        test_sleep_ns(100000);

    atomic_store(&log_lines, 0);
    sp_set_log(count_log, NULL);
    CHECK_EQ(sp_sem_release(sem, 2), 0);
    CHECK_EQ(atomic_load(&log_lines), 1);
    CHECK_EQ(sp_sem_available(sem), 2);
    CHECK_EQ(sp__sem_queued_count(sem, 0), 0);

    /* Admitted at once: the caller gets the error, nothing is logged. */
    CHECK_EQ(sp_sem_submit(sem, 1, pool, flag_task_run, &ran), EPIPE);
    CHECK_EQ(atomic_load(&log_lines), 1);
    CHECK_EQ(sp_sem_available(sem), 2);
    sp_set_log(NULL, NULL);

    atomic_store(&gate.open, true);
    pthread_join(destroyer, NULL);
    CHECK_EQ(atomic_load(&ran), 0);
    sp_sem_destroy(sem);
}

int main(void)
{
    RUN_TEST(sem_submit_bounds_running_tasks);
    RUN_TEST(sem_submit_error_codes);
    RUN_TEST(sem_submit_fifo_with_threads);
    RUN_TEST(sem_worker_acquire_no_deadlock);
    RUN_TEST(sem_worker_acquire_behind_submitted);
    RUN_TEST(sem_destroy_with_queued_task);
    RUN_TEST(sem_destroy_after_last_task);
    RUN_TEST(sem_submit_to_closing_pool);
    return check_exit_code();
}
