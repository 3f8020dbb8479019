/*
 * Allocation failure in every public function that allocates.
 *
 * For k = 0, 1, 2, ... the test arms sp__alloc_fail_after(k), so that the
 * k-th allocation from then on fails, makes the call, and disarms. While
 * the armed failure fired, the call must return ENOMEM (or, where the
 * contract absorbs the failure, still complete with the right result), and
 * the objects involved must stay usable and destroy cleanly. The loop ends
 * at the first k whose failure never fired: the call then made fewer than
 * k + 1 allocations and must have succeeded. Leaks are caught by
 * LeakSanitizer in the AddressSanitizer build, and leaked semaphore or
 * group members by the log line their destroy writes.
 *
 * Injection counts the allocations of every thread, so each call is armed
 * while the pools involved are idle.
 */
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stealpool.h>

#include "alloc.h"
#include "check.h"
#include "fib.h"

/* More allocations than any single call makes; a loop that reaches it
 * means the failure keeps firing. */
enum { K_MAX = 64 };

static _Atomic int log_lines;

static void count_log(void *user, const char *line)
{
    (void)user;
    (void)line;
    /* relaxed: read by the test thread after the calls that log */
    atomic_fetch_add_explicit(&log_lines, 1, memory_order_relaxed);
}

static int logs_taken(void)
{
    /* relaxed: a counter, see count_log */
    return atomic_exchange_explicit(&log_lines, 0, memory_order_relaxed);
}

static sp_pool *pool_new(unsigned workers, unsigned deque_capacity)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = workers;
    cfg.pin = SP_PIN_NONE;
    cfg.deque_capacity = deque_capacity;
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);
    return pool;
}

static _Atomic long task_runs;

static void count_task(void *arg)
{
    (void)arg;
    /* relaxed: a counter read after the pool settles */
    atomic_fetch_add_explicit(&task_runs, 1, memory_order_relaxed);
}

static void nothing(void *arg)
{
    (void)arg;
}

/* Lets tasks submitted earlier run: sp_pool_run's task queues behind them
 * in the injection queue, and the pause covers a task still running on the
 * other worker. Used before checking that a task never ran. */
static void pool_settle(sp_pool *pool)
{
    CHECK_EQ(sp_pool_run(pool, nothing, NULL), 0);
    test_sleep_ns(20000000);
}

/* Polls until task_runs reaches runs and sem (may be NULL) has available
 * units free, for at most 10 s times the test scale. */
static bool wait_for_runs(long runs, sp_sem *sem, int64_t available)
{
    int64_t deadline = test_now_ns() + (int64_t)10000000000 * sp_test_scale();
    while (test_now_ns() < deadline) {
        /* relaxed: a counter polled until it settles */
        long now_runs = atomic_load_explicit(&task_runs, memory_order_relaxed);
        if (now_runs == runs && (sem == NULL || sp_sem_available(sem) == available))
            return true;
        test_sleep_ns(100000);
    }
    return false;
}

/* ---- Pool ------------------------------------------------------------------ */

static void alloc_fail_pool_create(void)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 2;
    cfg.pin = SP_PIN_NONE;

    int k;
    for (k = 0; k < K_MAX; k++) {
        sp_pool *pool = (sp_pool *)&cfg;
        sp__alloc_fail_after(k);
        int rc = sp_pool_create(&pool, &cfg);
        bool fired = !sp__alloc_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            if (rc == 0) {
                fib_frame call = {20, 0};
                CHECK_EQ(sp_pool_run(pool, fib_sp_task, &call), 0);
                CHECK_EQ(call.result, 6765);
                CHECK_EQ(sp_pool_destroy(pool), 0);
            }
            break;
        }
        CHECK_EQ(rc, ENOMEM);
        CHECK(pool == (sp_pool *)&cfg);
        if (rc == 0)
            sp_pool_destroy(pool);
    }
    CHECK_LT(k, K_MAX);
    CHECK_GE(k, 3); /* at least the plan, the pool and its slots */
}

static void alloc_fail_config_plan(void)
{
    int k;
    for (k = 0; k < K_MAX; k++) {
        sp_plan plan;
        sp__alloc_fail_after(k);
        int rc = sp_config_plan(NULL, &plan, NULL, 0);
        if (sp__alloc_disarm()) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK_EQ(rc, ENOMEM);
    }
    CHECK_EQ(k, 1);
}

static void alloc_fail_submit_outside(void)
{
    sp_pool *pool = pool_new(2, 256);
    if (pool == NULL)
        return;
    atomic_store_explicit(&task_runs, 0, memory_order_relaxed);

    sp__alloc_fail_after(0);
    int rc = sp_submit(pool, count_task, NULL);
    CHECK(!sp__alloc_disarm());
    CHECK_EQ(rc, ENOMEM);

    /* The pool still takes tasks, and the failed one never runs. */
    CHECK_EQ(sp_submit(pool, count_task, NULL), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(atomic_load_explicit(&task_runs, memory_order_relaxed), 1);
}

/* Inside the only worker of a pool whose deques hold 16 tasks: the first
 * 16 submissions fill the local deque, and the 17th needs it to grow. */
typedef struct local_submit {
    sp_pool *pool;
    int      record_failure; /* sp_submit with the record failing */
    int      growth_failure; /* sp_submit with the deque growth failing */
    bool     record_fired;
    bool     growth_fired;
} local_submit;

static void submit_from_worker(void *arg)
{
    local_submit *ls = arg;

    sp__alloc_fail_after(0);
    ls->record_failure = sp_submit(ls->pool, count_task, NULL);
    ls->record_fired = !sp__alloc_disarm();

    for (int i = 0; i < 16; i++)
        CHECK_EQ(sp_submit(ls->pool, count_task, NULL), 0);
    sp__alloc_fail_after(1);
    ls->growth_failure = sp_submit(ls->pool, count_task, NULL);
    ls->growth_fired = !sp__alloc_disarm();
}

static void alloc_fail_submit_from_worker(void)
{
    sp_pool *pool = pool_new(1, 16);
    if (pool == NULL)
        return;
    atomic_store_explicit(&task_runs, 0, memory_order_relaxed);

    local_submit ls = {.pool = pool};
    CHECK_EQ(sp_pool_run(pool, submit_from_worker, &ls), 0);
    CHECK(ls.record_fired);
    CHECK_EQ(ls.record_failure, ENOMEM);
    CHECK(ls.growth_fired);
    CHECK_EQ(ls.growth_failure, ENOMEM);

    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(atomic_load_explicit(&task_runs, memory_order_relaxed), 16);
}

/* sp_pool_run and sp_join allocate nothing while the deque has room. */
static void alloc_fail_run_and_join_allocate_nothing(void)
{
    sp_pool *pool = pool_new(2, 256);
    if (pool == NULL)
        return;

    fib_frame call = {18, 0};
    sp__alloc_fail_after(0);
    CHECK_EQ(sp_pool_run(pool, fib_sp_task, &call), 0);
    CHECK(sp__alloc_disarm());
    CHECK_EQ(call.result, 2584);

    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* A join whose deque cannot grow runs both halves on the caller. */
static void join_deep(void *arg)
{
    fib_frame *call = arg;
    sp__alloc_fail_after(0);
    fib_sp_task(call);
}

static void alloc_fail_join_growth_runs_inline(void)
{
    sp_pool *pool = pool_new(1, 16);
    if (pool == NULL)
        return;

    fib_frame call = {24, 0};
    CHECK_EQ(sp_pool_run(pool, join_deep, &call), 0);
    CHECK(!sp__alloc_disarm());
    CHECK_EQ(call.result, 46368);

    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* The default pool cannot be created: sp_default_pool returns NULL and
 * sp_join from outside a worker still runs both calls, on the caller. A
 * fork child is used because the default pool is created only once per
 * process. */
static void alloc_fail_default_pool(void)
{
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        sp__alloc_fail_after(0);
        sp_pool *pool = sp_default_pool();
        bool fired = !sp__alloc_disarm();
        fib_frame call = {20, 0};
        fib_sp_task(&call);
        _exit(fired && pool == NULL && call.result == 6765 ? 0 : 1);
    }

    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

/* ---- Contexts -------------------------------------------------------------- */

static int ctx_make(int kind, sp_ctx *parent, sp_ctx **out)
{
    switch (kind) {
    case 0:
        return sp_ctx_with_cancel(parent, out);
    case 1:
        return sp_ctx_with_deadline(parent, sp_now_ns() + 1000000000, out);
    default:
        return sp_ctx_with_timeout(parent, 1000000000, out);
    }
}

static void alloc_fail_ctx_with(void)
{
    sp_ctx *parent = NULL;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);

    for (int kind = 0; kind < 3; kind++) {
        sp_ctx *child = parent;
        sp__alloc_fail_after(0);
        int rc = ctx_make(kind, parent, &child);
        CHECK(!sp__alloc_disarm());
        CHECK_EQ(rc, ENOMEM);
        CHECK(child == parent);

        rc = ctx_make(kind, parent, &child);
        CHECK_EQ(rc, 0);
        if (rc == 0) {
            /* The failed call left the parent's children alone. */
            sp_ctx_cancel(parent);
            CHECK_EQ(sp_ctx_err(child), ECANCELED);
            sp_ctx_release(child);
        }
        sp_ctx_release(parent);
        parent = NULL;
        CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
    }
    sp_ctx_release(parent);
}

/* ---- Semaphore ------------------------------------------------------------- */

static void alloc_fail_sem_create(void)
{
    sp_sem *sem = (sp_sem *)&sem;
    sp__alloc_fail_after(0);
    int rc = sp_sem_create(&sem, 4);
    CHECK(!sp__alloc_disarm());
    CHECK_EQ(rc, ENOMEM);
    CHECK(sem == (sp_sem *)&sem);

    CHECK_EQ(sp_sem_create(&sem, 4), 0);
    sp_sem_destroy(sem);
}

/* Admitted at once: the record (k = 0) or sp_submit's record (k = 1). */
static void alloc_fail_sem_submit_admitted(void)
{
    sp_pool *pool = pool_new(2, 256);
    sp_sem *sem = NULL;
    CHECK_EQ(sp_sem_create(&sem, 4), 0);
    if (pool == NULL || sem == NULL)
        return;
    atomic_store_explicit(&task_runs, 0, memory_order_relaxed);
    logs_taken();

    int k;
    for (k = 0; k < K_MAX; k++) {
        sp__alloc_fail_after(k);
        int rc = sp_sem_submit(sem, 2, pool, count_task, NULL);
        if (sp__alloc_disarm()) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK_EQ(rc, ENOMEM);
        CHECK_EQ(sp_sem_available(sem), 4);
    }
    CHECK_EQ(k, 2);

    CHECK(wait_for_runs(1, sem, 4));
    sp_sem_destroy(sem); /* logs if a failed call left a member behind */
    CHECK_EQ(logs_taken(), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* Queued, then admitted by a release whose sp_submit fails: the task is
 * dropped, logged, and its units come back. */
static void alloc_fail_sem_submit_admitted_later(void)
{
    sp_pool *pool = pool_new(2, 256);
    sp_sem *sem = NULL;
    CHECK_EQ(sp_sem_create(&sem, 1), 0);
    if (pool == NULL || sem == NULL)
        return;
    atomic_store_explicit(&task_runs, 0, memory_order_relaxed);

    CHECK(sp_sem_try_acquire(sem, 1));
    CHECK_EQ(sp_sem_submit(sem, 1, pool, count_task, NULL), 0);
    logs_taken();

    sp__alloc_fail_after(0);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK(!sp__alloc_disarm());
    CHECK_EQ(logs_taken(), 1);
    CHECK_EQ(sp_sem_available(sem), 1);

    pool_settle(pool);
    CHECK_EQ(atomic_load_explicit(&task_runs, memory_order_relaxed), 0);
    CHECK_EQ(sp_sem_submit(sem, 1, pool, count_task, NULL), 0);
    CHECK(wait_for_runs(1, sem, 1));
    sp_sem_destroy(sem);
    CHECK_EQ(logs_taken(), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* ---- Error group ----------------------------------------------------------- */

static int group_count_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    /* relaxed: read after sp_group_wait */
    atomic_fetch_add_explicit(&task_runs, 1, memory_order_relaxed);
    return 0;
}

static void alloc_fail_group_create(void)
{
    sp_pool *pool = pool_new(2, 256);
    sp_ctx *parent = NULL;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
    if (pool == NULL || parent == NULL)
        return;

    int k;
    for (k = 0; k < K_MAX; k++) {
        sp_group *g = (sp_group *)&k;
        sp__alloc_fail_after(k);
        int rc = sp_group_create(&g, pool, parent);
        if (sp__alloc_disarm()) {
            CHECK_EQ(rc, 0);
            if (rc == 0) {
                CHECK_EQ(sp_group_go(g, group_count_task, NULL), 0);
                CHECK_EQ(sp_group_wait(g), 0);
                sp_group_destroy(g);
            }
            break;
        }
        CHECK_EQ(rc, ENOMEM);
        CHECK(g == (sp_group *)&k);
    }
    CHECK_EQ(k, 2); /* the group and its context */

    sp_ctx_release(parent);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

static void alloc_fail_group_go(bool limited, bool try_go)
{
    sp_pool *pool = pool_new(2, 256);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
    if (pool == NULL || g == NULL)
        return;
    if (limited)
        CHECK_EQ(sp_group_set_limit(g, 2), 0);
    atomic_store_explicit(&task_runs, 0, memory_order_relaxed);
    logs_taken();

    int k;
    for (k = 0; k < K_MAX; k++) {
        sp__alloc_fail_after(k);
        int rc = try_go ? (sp_group_try_go(g, group_count_task, NULL) ? 0 : ENOMEM)
                        : sp_group_go(g, group_count_task, NULL);
        if (sp__alloc_disarm()) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK_EQ(rc, ENOMEM);
        /* A failed go leaves no member behind: wait returns at once. */
        CHECK_EQ(sp_group_wait(g), 0);
    }
    CHECK_EQ(k, 2); /* the group's task record and sp_submit's */

    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(atomic_load_explicit(&task_runs, memory_order_relaxed), 1);
    /* The failed calls gave their slots back: with limit 1 a task still runs. */
    if (limited) {
        CHECK_EQ(sp_group_set_limit(g, 1), 0);
        CHECK_EQ(sp_group_go(g, group_count_task, NULL), 0);
        CHECK_EQ(sp_group_wait(g), 0);
    }
    sp_group_destroy(g);
    CHECK_EQ(logs_taken(), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

static void alloc_fail_group_go_unlimited(void) { alloc_fail_group_go(false, false); }
static void alloc_fail_group_go_limited(void) { alloc_fail_group_go(true, false); }
static void alloc_fail_group_try_go(void) { alloc_fail_group_go(true, true); }

/* ---- Channel and limiter --------------------------------------------------- */

static void alloc_fail_chan_create(void)
{
    for (size_t capacity = 0; capacity <= 8; capacity += 8) {
        int k;
        for (k = 0; k < K_MAX; k++) {
            sp_chan *ch = (sp_chan *)&k;
            sp__alloc_fail_after(k);
            int rc = sp_chan_create(&ch, sizeof(int), capacity);
            if (sp__alloc_disarm()) {
                CHECK_EQ(rc, 0);
                if (rc == 0) {
                    int value = 42, got = 0;
                    if (capacity > 0) {
                        CHECK_EQ(sp_chan_send(ch, &value, NULL), 0);
                        CHECK_EQ(sp_chan_recv(ch, &got, NULL), 0);
                        CHECK_EQ(got, 42);
                    }
                    sp_chan_destroy(ch);
                }
                break;
            }
            CHECK_EQ(rc, ENOMEM);
            CHECK(ch == (sp_chan *)&k);
        }
        /* The channel, plus its ring when buffered. */
        CHECK_EQ(k, capacity == 0 ? 1 : 2);
    }
}

static void alloc_fail_limiter_create(void)
{
    sp_limiter *l = (sp_limiter *)&l;
    sp__alloc_fail_after(0);
    int rc = sp_limiter_create(&l, 100, 4);
    CHECK(!sp__alloc_disarm());
    CHECK_EQ(rc, ENOMEM);
    CHECK(l == (sp_limiter *)&l);

    CHECK_EQ(sp_limiter_create(&l, 100, 4), 0);
    CHECK(sp_limiter_allow(l, 4));
    sp_limiter_destroy(l);
}

/* A wait that must sleep sets up a timer context; when that fails the
 * tokens go back and the call returns ENOMEM. */
static void alloc_fail_limiter_wait(void)
{
    sp_limiter *l = NULL;
    CHECK_EQ(sp_limiter_create(&l, 1000, 1), 0);
    if (l == NULL)
        return;

    CHECK(sp_limiter_allow(l, 1));
    int64_t now = sp_now_ns();
    double before = sp_limiter_tokens_at(l, now);
    sp__alloc_fail_after(0);
    int rc = sp_limiter_wait(l, 1, NULL);
    bool fired = !sp__alloc_disarm();
    if (fired) {
        CHECK_EQ(rc, ENOMEM);
        CHECK_NEAR(sp_limiter_tokens_at(l, now), before, 1e-6);
    } else {
        /* The bucket refilled before the call: no sleep was needed. */
        CHECK_EQ(rc, 0);
    }

    CHECK_EQ(sp_limiter_wait(l, 1, NULL), 0);
    sp_limiter_destroy(l);
}

int main(void)
{
    sp_set_log(count_log, NULL);

    RUN_TEST(alloc_fail_pool_create);
    RUN_TEST(alloc_fail_config_plan);
    RUN_TEST(alloc_fail_submit_outside);
    RUN_TEST(alloc_fail_submit_from_worker);
    RUN_TEST(alloc_fail_run_and_join_allocate_nothing);
    RUN_TEST(alloc_fail_join_growth_runs_inline);
    RUN_TEST(alloc_fail_default_pool);
    RUN_TEST(alloc_fail_ctx_with);
    RUN_TEST(alloc_fail_sem_create);
    RUN_TEST(alloc_fail_sem_submit_admitted);
    RUN_TEST(alloc_fail_sem_submit_admitted_later);
    RUN_TEST(alloc_fail_group_create);
    RUN_TEST(alloc_fail_group_go_unlimited);
    RUN_TEST(alloc_fail_group_go_limited);
    RUN_TEST(alloc_fail_group_try_go);
    RUN_TEST(alloc_fail_chan_create);
    RUN_TEST(alloc_fail_limiter_create);
    RUN_TEST(alloc_fail_limiter_wait);

    sp_set_log(NULL, NULL);
    return check_exit_code();
}
