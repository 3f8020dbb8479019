/*
 * The error group: first error, cancellation, the limit, try_go, nested
 * and in-pool use, the rule that the first real error wins over the
 * ECANCELED that follows it, bad arguments, and a seeded stress run.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <stealpool.h>

#include "alloc.h"
#include "check.h"

#define MS 1000000LL

/* Every counter of this file is seq_cst: tests favour plain reasoning. */
static int counter_get(atomic_int *counter)
{
    return atomic_load_explicit(counter, memory_order_seq_cst);
}

static int counter_add(atomic_int *counter, int n)
{
    return atomic_fetch_add_explicit(counter, n, memory_order_seq_cst) + n;
}

static void counter_set(atomic_int *counter, int value)
{
    atomic_store_explicit(counter, value, memory_order_seq_cst);
}

static void max_update(atomic_int *max, int value)
{
    int seen = counter_get(max);
    while (value > seen && !atomic_compare_exchange_weak_explicit(max, &seen, value,
                                                                  memory_order_seq_cst,
                                                                  memory_order_seq_cst)) {
    }
}

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

/* Returns the time limit of a wait in a test: 10 s times the scale. */
static int64_t patience_deadline(void)
{
    return test_now_ns() + 10000 * MS * sp_test_scale();
}

/* Spins (yielding) until *flag is non-zero or the patience runs out. */
static bool wait_flag(atomic_int *flag)
{
    int64_t deadline = patience_deadline();
    while (counter_get(flag) == 0) {
        if (test_now_ns() > deadline)
            return false;
        sched_yield();
    }
    return true;
}

/* Spins (yielding) until *counter reaches target or the patience runs out. */
static bool wait_count(atomic_int *counter, int target)
{
    int64_t deadline = patience_deadline();
    while (counter_get(counter) < target) {
        if (test_now_ns() > deadline)
            return false;
        sched_yield();
    }
    return true;
}

/* Log lines captured through sp_set_log. */
static atomic_int log_lines;
static atomic_int *log_release_flag;

static void capture_line(void *user, const char *line)
{
    (void)user;
    (void)line;
    counter_add(&log_lines, 1);
    if (log_release_flag != NULL)
        counter_set(log_release_flag, 1);
}

static void capture_start(atomic_int *release_on_log)
{
    counter_set(&log_lines, 0);
    log_release_flag = release_on_log;
    sp_set_log(capture_line, NULL);
}

static int capture_stop(void)
{
    sp_set_log(NULL, NULL);
    log_release_flag = NULL;
    return counter_get(&log_lines);
}

/* ---- shared task bodies ---- */

/* Counts a run and returns the value in arg. */
static atomic_int simple_runs;

static int return_value_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    counter_add(&simple_runs, 1);
    return (int)(intptr_t)arg;
}

/* Runs until the group's context is canceled, then returns ECANCELED. */
static int until_canceled_task(sp_ctx *ctx, void *arg)
{
    atomic_int *seen_cancel = arg;
    int64_t deadline = patience_deadline();
    while (sp_ctx_err(ctx) == 0 && test_now_ns() < deadline)
        sched_yield();
    if (seen_cancel != NULL)
        counter_add(seen_cancel, 1);
    return ECANCELED;
}

/* Holds its slot until *gate->open is set; tracks how many run at once. */
typedef struct gate {
    atomic_int open;
    atomic_int running;
    atomic_int max_running;
    atomic_int started;
    atomic_int finished;
} gate;

static int gated_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    gate *g = arg;
    max_update(&g->max_running, counter_add(&g->running, 1));
    counter_add(&g->started, 1);
    wait_flag(&g->open);
    counter_add(&g->running, -1);
    counter_add(&g->finished, 1);
    return 0;
}

/* ---- tests ---- */

static void group_first_error_cancels_ctx(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
    sp_ctx *ctx = sp_group_ctx(g);
    CHECK(ctx != NULL);
    CHECK_EQ(sp_ctx_err(ctx), 0);

    atomic_int seen_cancel = 0;
    CHECK_EQ(sp_group_go(g, until_canceled_task, &seen_cancel), 0);
    CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)7), 0);

    /* The looping task can only end because the error canceled the context. */
    CHECK(wait_count(&seen_cancel, 1));
    CHECK_EQ(sp_ctx_err(ctx), ECANCELED);
    CHECK_EQ(sp_group_wait(g), 7);
    CHECK_EQ(sp_group_wait(g), 7);

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

static void group_parent_cancel_reaches_tasks(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_ctx *parent = NULL;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, parent), 0);

    atomic_int seen_cancel = 0;
    CHECK_EQ(sp_group_go(g, until_canceled_task, &seen_cancel), 0);
    sp_ctx_cancel(parent);
    CHECK(wait_count(&seen_cancel, 1));

    /* The task's ECANCELED is the only error, so it is the group's error. */
    CHECK_EQ(sp_group_wait(g), ECANCELED);
    CHECK_EQ(sp_ctx_err(sp_group_ctx(g)), ECANCELED);

    sp_group_destroy(g);
    sp_ctx_release(parent);
    sp_pool_destroy(pool);
}

static void group_wait_without_tasks_returns_zero(void)
{
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, NULL, NULL), 0);

    int64_t start = test_now_ns();
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_LT(test_now_ns() - start, 100 * MS * sp_test_scale());
    CHECK_EQ(sp_ctx_err(sp_group_ctx(g)), ECANCELED);

    sp_group_destroy(g);
}

static void group_success_returns_zero(void)
{
    enum { TASKS = 1000 };
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);

    counter_set(&simple_runs, 0);
    for (int i = 0; i < TASKS; i++)
        CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)0), 0);
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&simple_runs), TASKS);

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

/* Waits in each task until k tasks have run at once, so the peak is reached. */
typedef struct peak_state {
    int         k;
    atomic_int  running;
    atomic_int  max_running;
    atomic_int  done;
    int64_t     deadline;
} peak_state;

static int peak_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    peak_state *s = arg;
    max_update(&s->max_running, counter_add(&s->running, 1));
    while (counter_get(&s->max_running) < s->k && test_now_ns() < s->deadline)
        sched_yield();
    for (int i = 0; i < 50; i++)
        sched_yield();
    counter_add(&s->running, -1);
    counter_add(&s->done, 1);
    return 0;
}

static void group_limit_peak_equals_limit(void)
{
    static const int limits[] = {1, 2, 5, 20};
    /* More workers than the largest limit, so that k tasks can run at once. */
    sp_pool *pool = pool_with_workers(24);

    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        int k = limits[l];
        int tasks = k * 10 < 100 ? 100 : k * 10;
        peak_state s = {.k = k, .deadline = patience_deadline()};

        sp_group *g = NULL;
        CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
        CHECK_EQ(sp_group_set_limit(g, k), 0);
        for (int i = 0; i < tasks; i++)
            CHECK_EQ(sp_group_go(g, peak_task, &s), 0);
        CHECK_EQ(sp_group_wait(g), 0);

        CHECK_EQ(counter_get(&s.done), tasks);
        CHECK_EQ(counter_get(&s.max_running), k);
        CHECK_EQ(counter_get(&s.running), 0);
        sp_group_destroy(g);
    }

    sp_pool_destroy(pool);
}

static void group_set_limit_busy_while_active(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);

    gate gt = {0};
    CHECK_EQ(sp_group_go(g, gated_task, &gt), 0);
    CHECK_EQ(sp_group_set_limit(g, 3), EBUSY);
    CHECK(wait_count(&gt.started, 1));
    CHECK_EQ(sp_group_set_limit(g, -1), EBUSY);

    counter_set(&gt.open, 1);
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(sp_group_set_limit(g, 3), 0);
    CHECK_EQ(sp_group_set_limit(g, -5), 0);

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

static void group_set_limit_zero_rejected(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);

    /* Without a limit, a rejected 0 leaves the group without one. */
    capture_start(NULL);
    CHECK_EQ(sp_group_set_limit(g, 0), EINVAL);
    CHECK_EQ(capture_stop(), 1);
    counter_set(&simple_runs, 0);
    CHECK(sp_group_try_go(g, return_value_task, (void *)(intptr_t)0));
    CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)0), 0);
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&simple_runs), 2);

    /* With limit 2, a rejected 0 keeps 2: a third try_go still fails. */
    CHECK_EQ(sp_group_set_limit(g, 2), 0);
    capture_start(NULL);
    CHECK_EQ(sp_group_set_limit(g, 0), EINVAL);
    CHECK_EQ(capture_stop(), 1);
    gate gt = {0};
    CHECK(sp_group_try_go(g, gated_task, &gt));
    CHECK_EQ(sp_group_go(g, gated_task, &gt), 0);
    CHECK(!sp_group_try_go(g, gated_task, &gt));
    counter_set(&gt.open, 1);
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&gt.finished), 2);

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

static void group_try_go_full_runs_nothing(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
    CHECK_EQ(sp_group_set_limit(g, 2), 0);

    gate gt = {0};
    CHECK(sp_group_try_go(g, gated_task, &gt));
    CHECK(sp_group_try_go(g, gated_task, &gt));
    counter_set(&simple_runs, 0);
    for (int i = 0; i < 10; i++)
        CHECK(!sp_group_try_go(g, return_value_task, (void *)(intptr_t)5));

    CHECK(wait_count(&gt.started, 2));
    counter_set(&gt.open, 1);
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&simple_runs), 0);
    CHECK_EQ(counter_get(&gt.max_running), 2);

    /* Once the slots are free, try_go runs again. */
    CHECK(sp_group_try_go(g, return_value_task, (void *)(intptr_t)0));
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&simple_runs), 1);

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

/* A parent task that starts children in its own group. */
typedef struct nest_state {
    sp_group  *group;
    int        children;
    int        depth;
    atomic_int runs;
    atomic_int go_errors;
} nest_state;

static int nest_task(sp_ctx *ctx, void *arg);

typedef struct nest_node {
    nest_state *state;
    int         depth;
} nest_node;

static nest_node nest_nodes[8];

static int nest_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    nest_node *node = arg;
    nest_state *s = node->state;
    counter_add(&s->runs, 1);
    if (node->depth + 1 >= s->depth)
        return 0;
    for (int i = 0; i < s->children; i++)
        if (sp_group_go(s->group, nest_task, &nest_nodes[node->depth + 1]) != 0)
            counter_add(&s->go_errors, 1);
    return 0;
}

static void group_nested_go_completes(void)
{
    /* No limit: a tree of depth 4 with 6 children per node. */
    sp_pool *pool = pool_with_workers(2);
    nest_state s = {.children = 6, .depth = 4};
    CHECK_EQ(sp_group_create(&s.group, pool, NULL), 0);
    for (int d = 0; d < 8; d++)
        nest_nodes[d] = (nest_node){&s, d};

    CHECK_EQ(sp_group_go(s.group, nest_task, &nest_nodes[0]), 0);
    CHECK_EQ(sp_group_wait(s.group), 0);
    CHECK_EQ(counter_get(&s.runs), 1 + 6 + 36 + 216);
    CHECK_EQ(counter_get(&s.go_errors), 0);
    sp_group_destroy(s.group);

    /* Limit 4, two parents of 20 children each: the parents hold 2 slots
     * while they wait in go, the children use the other 2. */
    nest_state limited = {.children = 20, .depth = 2};
    CHECK_EQ(sp_group_create(&limited.group, pool, NULL), 0);
    CHECK_EQ(sp_group_set_limit(limited.group, 4), 0);
    for (int d = 0; d < 8; d++)
        nest_nodes[d] = (nest_node){&limited, d};
    CHECK_EQ(sp_group_go(limited.group, nest_task, &nest_nodes[0]), 0);
    CHECK_EQ(sp_group_go(limited.group, nest_task, &nest_nodes[0]), 0);
    CHECK_EQ(sp_group_wait(limited.group), 0);
    CHECK_EQ(counter_get(&limited.runs), 2 + 40);
    CHECK_EQ(counter_get(&limited.go_errors), 0);
    sp_group_destroy(limited.group);

    sp_pool_destroy(pool);
}

/* Runs a whole group inside a pool task: go, then wait on the worker. */
typedef struct inner_run {
    sp_pool   *pool;
    int        limit;
    int        tasks;
    int        wait_result;
    atomic_int runs;
} inner_run;

static int count_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    counter_add(arg, 1);
    for (int i = 0; i < 20; i++)
        sched_yield();
    return 0;
}

static void inner_run_body(void *arg)
{
    inner_run *r = arg;
    sp_group *g = NULL;
    if (sp_group_create(&g, r->pool, NULL) != 0) {
        r->wait_result = -1;
        return;
    }
    if (r->limit != 0)
        sp_group_set_limit(g, r->limit);
    for (int i = 0; i < r->tasks; i++)
        sp_group_go(g, count_task, &r->runs);
    r->wait_result = sp_group_wait(g);
    sp_group_destroy(g);
}

static void group_wait_inside_pool_task(void)
{
    static const int limits[] = {0, 1, 3};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        /* One worker: the wait must not take the only worker away. */
        sp_pool *pool = pool_with_workers(1);
        inner_run r = {.pool = pool, .limit = limits[l], .tasks = 200, .wait_result = -1};
        CHECK_EQ(sp_pool_run(pool, inner_run_body, &r), 0);
        CHECK_EQ(r.wait_result, 0);
        CHECK_EQ(counter_get(&r.runs), 200);
        sp_pool_destroy(pool);
    }
}

/* A plain pool task that starts members of a shared group. */
typedef struct feeder {
    sp_group   *group;
    int         tasks;
    gate       *tracker;
    atomic_int *go_errors;
} feeder;

static int tracked_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    gate *g = arg;
    max_update(&g->max_running, counter_add(&g->running, 1));
    for (int i = 0; i < 10; i++)
        sched_yield();
    counter_add(&g->running, -1);
    counter_add(&g->finished, 1);
    return 0;
}

static int feeder_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    feeder *f = arg;
    for (int i = 0; i < f->tasks; i++)
        if (sp_group_go(f->group, tracked_task, f->tracker) != 0)
            counter_add(f->go_errors, 1);
    return 0;
}

static void group_go_from_pool_tasks(void)
{
    enum { WORKERS = 2, FEEDERS = 6 };
    static const int limits[] = {1, WORKERS + 6};
    int per_feeder = 300 / sp_test_scale();
    sp_pool *pool = pool_with_workers(WORKERS);

    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        gate tracker = {0};
        atomic_int go_errors = 0;
        sp_group *inner = NULL;
        sp_group *outer = NULL;
        CHECK_EQ(sp_group_create(&inner, pool, NULL), 0);
        CHECK_EQ(sp_group_set_limit(inner, limits[l]), 0);
        CHECK_EQ(sp_group_create(&outer, pool, NULL), 0);

        feeder f = {inner, per_feeder, &tracker, &go_errors};
        for (int i = 0; i < FEEDERS; i++)
            CHECK_EQ(sp_group_go(outer, feeder_task, &f), 0);
        CHECK_EQ(sp_group_wait(outer), 0);
        CHECK_EQ(sp_group_wait(inner), 0);

        CHECK_EQ(counter_get(&go_errors), 0);
        CHECK_EQ(counter_get(&tracker.finished), FEEDERS * per_feeder);
        CHECK_LE(counter_get(&tracker.max_running), limits[l]);
        CHECK_GE(counter_get(&tracker.max_running), 1);
        sp_group_destroy(outer);
        sp_group_destroy(inner);
    }

    sp_pool_destroy(pool);
}

/*
 * The first real error wins. Limit 2. T1 fails with E1 after 20 ms; T2
 * runs until the cancel and then on until 21 ms, and fails with E2; T3 ..
 * T10 run until the cancel and return ECANCELED (T3 waits for a slot).
 */
enum { REAL_E1 = 11, REAL_E2 = 22, REAL_TASKS = 10 };

typedef struct real_state {
    int64_t    start;
    atomic_int running;
    atomic_int max_running;
    _Atomic int64_t t1_returned;
    _Atomic int64_t cancel_seen;
} real_state;

static int64_t time_get(_Atomic int64_t *t)
{
    return atomic_load_explicit(t, memory_order_seq_cst);
}

static void time_set_once(_Atomic int64_t *t, int64_t value)
{
    int64_t zero = 0;
    atomic_compare_exchange_strong_explicit(t, &zero, value, memory_order_seq_cst,
                                            memory_order_seq_cst);
}

static void real_spin_until(int64_t when)
{
    while (test_now_ns() < when)
        sched_yield();
}

static int real_t1(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    real_state *s = arg;
    max_update(&s->max_running, counter_add(&s->running, 1));
    real_spin_until(s->start + 20 * MS);
    counter_add(&s->running, -1);
    time_set_once(&s->t1_returned, test_now_ns());
    return REAL_E1;
}

/* Runs until the context is canceled, noting when it saw the cancel. */
static void real_run_until_cancel(sp_ctx *ctx, real_state *s)
{
    int64_t deadline = patience_deadline();
    while (sp_ctx_err(ctx) == 0 && test_now_ns() < deadline)
        sched_yield();
    time_set_once(&s->cancel_seen, test_now_ns());
}

static int real_t2(sp_ctx *ctx, void *arg)
{
    real_state *s = arg;
    max_update(&s->max_running, counter_add(&s->running, 1));
    real_run_until_cancel(ctx, s);
    real_spin_until(s->start + 21 * MS);
    counter_add(&s->running, -1);
    return REAL_E2;
}

static int real_canceled(sp_ctx *ctx, void *arg)
{
    real_state *s = arg;
    max_update(&s->max_running, counter_add(&s->running, 1));
    real_run_until_cancel(ctx, s);
    counter_add(&s->running, -1);
    return ECANCELED;
}

static void group_real_error_wins(void)
{
    int rounds = 20 / sp_test_scale() + 1;
    sp_pool *pool = pool_with_workers(2);

    for (int round = 0; round < rounds; round++) {
        real_state s = {.start = test_now_ns()};
        sp_group *g = NULL;
        CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
        CHECK_EQ(sp_group_set_limit(g, 2), 0);

        CHECK_EQ(sp_group_go(g, real_t1, &s), 0);
        CHECK_EQ(sp_group_go(g, real_t2, &s), 0);
        int64_t go_returned[REAL_TASKS] = {0};
        for (int t = 2; t < REAL_TASKS; t++) {
            int rc = sp_group_go(g, real_canceled, &s);
            go_returned[t] = test_now_ns();
            CHECK(rc == 0 || rc == ECANCELED);
        }
        int err = sp_group_wait(g);
        int64_t waited = test_now_ns() - s.start;

        CHECK_EQ(err, REAL_E1);
        CHECK_LE(counter_get(&s.max_running), 2);
        CHECK_EQ(counter_get(&s.running), 0);
        CHECK_LT(waited, 1000 * MS * sp_test_scale());

        /* The cancel follows T1's return within 50 ms. */
        int64_t t1 = time_get(&s.t1_returned);
        int64_t seen = time_get(&s.cancel_seen);
        CHECK_GT(t1, 0);
        CHECK_GT(seen, 0);
        CHECK_LT(seen - t1, 50 * MS * sp_test_scale());

        /* Every go that was still waiting returns within 500 ms of it. */
        for (int t = 2; t < REAL_TASKS; t++)
            CHECK_LT(go_returned[t] - t1, 500 * MS * sp_test_scale());

        sp_group_destroy(g);
    }

    sp_pool_destroy(pool);
}

/* A go waiting for a slot returns ECANCELED once the parent is canceled,
 * without any running task having to end first. */
typedef struct blocked_go {
    sp_group  *group;
    gate      *gate;
    int        rc;
    int64_t    returned;
    atomic_int calling;
} blocked_go;

static void *blocked_go_thread(void *arg)
{
    blocked_go *b = arg;
    counter_set(&b->calling, 1);
    b->rc = sp_group_go(b->group, gated_task, b->gate);
    b->returned = test_now_ns();
    return NULL;
}

static void group_blocked_go_returns_on_cancel(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_ctx *parent = NULL;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, parent), 0);
    CHECK_EQ(sp_group_set_limit(g, 1), 0);

    gate gt = {0};
    CHECK_EQ(sp_group_go(g, gated_task, &gt), 0);
    CHECK(wait_count(&gt.started, 1));

    blocked_go b = {.group = g, .gate = &gt, .rc = -1};
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, blocked_go_thread, &b), 0);
    CHECK(wait_flag(&b.calling));
    test_sleep_ns(20 * MS); /* let the call reach its sleep */
    CHECK_EQ(sp_group_set_limit(g, 5), EBUSY);

    int64_t canceled_at = test_now_ns();
    sp_ctx_cancel(parent);
    CHECK_EQ(pthread_join(thread, NULL), 0);
    CHECK_EQ(b.rc, ECANCELED);
    CHECK_LT(b.returned - canceled_at, 500 * MS * sp_test_scale());
    CHECK_EQ(counter_get(&gt.finished), 0);

    counter_set(&gt.open, 1);
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&gt.started), 1);

    sp_group_destroy(g);
    sp_ctx_release(parent);
    sp_pool_destroy(pool);
}

/* A go that finds a free slot runs its task even after the cancel. */
static void group_go_after_cancel_runs_with_free_slot(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
    CHECK_EQ(sp_group_set_limit(g, 1), 0);
    CHECK_EQ(sp_group_wait(g), 0); /* cancels the context */

    counter_set(&simple_runs, 0);
    CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)3), 0);
    CHECK_EQ(sp_group_wait(g), 3);
    CHECK_EQ(counter_get(&simple_runs), 1);

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

/* Waits of several threads at once all return the same error. */
typedef struct waiter_thread {
    sp_group *group;
    int       rc;
} waiter_thread;

static void *wait_thread(void *arg)
{
    waiter_thread *w = arg;
    w->rc = sp_group_wait(w->group);
    return NULL;
}

static void group_concurrent_waits(void)
{
    enum { WAITERS = 4 };
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);

    gate gt = {0};
    CHECK_EQ(sp_group_go(g, gated_task, &gt), 0);
    CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)9), 0);

    pthread_t threads[WAITERS];
    waiter_thread w[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        w[i] = (waiter_thread){g, -1};
        CHECK_EQ(pthread_create(&threads[i], NULL, wait_thread, &w[i]), 0);
    }
    test_sleep_ns(10 * MS);
    counter_set(&gt.open, 1);
    for (int i = 0; i < WAITERS; i++) {
        CHECK_EQ(pthread_join(threads[i], NULL), 0);
        CHECK_EQ(w[i].rc, 9);
    }

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

static void group_destroy_with_members_waits(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);

    gate gt = {0};
    CHECK_EQ(sp_group_go(g, gated_task, &gt), 0);
    CHECK(wait_count(&gt.started, 1));

    /* The log line that reports the misuse opens the gate. */
    capture_start(&gt.open);
    sp_group_destroy(g);
    CHECK_EQ(capture_stop(), 1);
    CHECK_EQ(counter_get(&gt.finished), 1);

    sp_pool_destroy(pool);
}

static void group_bad_arguments_rejected(void)
{
    capture_start(NULL);
    CHECK_EQ(sp_group_create(NULL, NULL, NULL), EINVAL);
    CHECK_EQ(sp_group_set_limit(NULL, 1), EINVAL);
    CHECK_EQ(sp_group_go(NULL, return_value_task, NULL), EINVAL);
    CHECK(!sp_group_try_go(NULL, return_value_task, NULL));
    CHECK_EQ(sp_group_wait(NULL), EINVAL);
    CHECK(sp_group_ctx(NULL) == NULL);
    sp_group_destroy(NULL);
    CHECK_EQ(capture_stop(), 6);

    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, NULL, NULL), 0);
    capture_start(NULL);
    CHECK_EQ(sp_group_go(g, NULL, NULL), EINVAL);
    CHECK(!sp_group_try_go(g, NULL, NULL));
    CHECK_EQ(capture_stop(), 2);
    CHECK_EQ(sp_group_wait(g), 0);
    sp_group_destroy(g);
}

static void group_go_out_of_memory(void)
{
    sp_pool *pool = pool_with_workers(2);
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
    CHECK_EQ(sp_group_set_limit(g, 1), 0);
    counter_set(&simple_runs, 0);

    /* The group's own task record. */
    sp__alloc_fail_after(0);
    CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)4), ENOMEM);
    sp__alloc_disarm();

    /* The pool's record: the member and its slot are given back. */
    sp__alloc_fail_after(1);
    CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)4), ENOMEM);
    sp__alloc_disarm();

    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&simple_runs), 0);
    CHECK_EQ(sp_group_set_limit(g, 1), 0);

    CHECK_EQ(sp_group_go(g, return_value_task, (void *)(intptr_t)0), 0);
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(counter_get(&simple_runs), 1);

    sp_group_destroy(g);
    sp_pool_destroy(pool);
}

/* ---- stress ---- */

typedef struct stress_round {
    sp_group  *group;
    int        limit;
    gate       tracker;
    atomic_int spawned;   /* go calls that returned 0 */
    atomic_int failed_go; /* go calls that returned an error */
    atomic_int errors;    /* bitmask of the errors tasks returned */
    uint64_t   seed;
} stress_round;

typedef struct stress_item {
    stress_round *round;
    int           error;    /* 0 or 1..8 */
    int           children; /* nested go calls */
} stress_item;

enum { STRESS_ITEMS = 64 };
static stress_item stress_items[STRESS_ITEMS];

static int stress_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    stress_item *item = arg;
    stress_round *r = item->round;
    max_update(&r->tracker.max_running, counter_add(&r->tracker.running, 1));

    for (int i = 0; i < item->children; i++) {
        stress_item *child = &stress_items[(item - stress_items + 1 + i) % STRESS_ITEMS];
        /* Children have no children of their own, so nesting stays finite
         * and a parent's slot can always be matched by a free one. */
        if (child->children != 0)
            continue;
        if (sp_group_go(r->group, stress_task, child) == 0)
            counter_add(&r->spawned, 1);
        else
            counter_add(&r->failed_go, 1);
    }

    counter_add(&r->tracker.running, -1);
    if (item->error != 0)
        atomic_fetch_or_explicit(&r->errors, 1 << item->error, memory_order_seq_cst);
    return item->error;
}

static void group_stress_random_limits(void)
{
    uint64_t seed = 0x5eed1234abcdULL;
    int64_t end = test_now_ns() + 3000 * MS;
    int rounds_max = 400 / sp_test_scale();
    sp_pool *pool = pool_with_workers(3);
    fprintf(stderr, "stress seed %llu\n", (unsigned long long)seed);

    int rounds = 0;
    while (rounds < rounds_max && test_now_ns() < end) {
        stress_round r = {.seed = seed};
        CHECK_EQ(sp_group_create(&r.group, pool, NULL), 0);
        uint64_t pick = test_rand(&seed);
        /* -1 (none) or 3 .. 8: at least one slot beyond the parents that
         * may wait in a nested go. */
        r.limit = pick % 4 == 0 ? -1 : (int)(3 + pick % 6);
        CHECK_EQ(sp_group_set_limit(r.group, r.limit), 0);

        for (int i = 0; i < STRESS_ITEMS; i++) {
            uint64_t x = test_rand(&seed);
            stress_items[i].round = &r;
            stress_items[i].error = x % 16 == 0 ? (int)(1 + (x >> 8) % 8) : 0;
            /* Two parents at most, so they never hold every slot. */
            stress_items[i].children = i < 2 ? (int)((x >> 16) % 4) : 0;
        }

        int tasks = (int)(test_rand(&seed) % STRESS_ITEMS) + 1;
        for (int i = 0; i < tasks; i++) {
            int rc = sp_group_go(r.group, stress_task, &stress_items[i]);
            if (rc == 0)
                counter_add(&r.spawned, 1);
            else
                counter_add(&r.failed_go, 1);
        }

        int err = sp_group_wait(r.group);
        int errors = counter_get(&r.errors);
        if (err != 0)
            CHECK((errors & (1 << err)) != 0);
        else
            CHECK_EQ(errors, 0);
        CHECK_EQ(counter_get(&r.tracker.running), 0);
        if (r.limit > 0)
            CHECK_LE(counter_get(&r.tracker.max_running), r.limit);
        /* A go fails only while the group's context is canceled. */
        if (errors == 0)
            CHECK_EQ(counter_get(&r.failed_go), 0);

        sp_group_destroy(r.group);
        rounds++;
    }
    CHECK_GT(rounds, 0);
    sp_pool_destroy(pool);
}

int main(void)
{
    RUN_TEST(group_first_error_cancels_ctx);
    RUN_TEST(group_parent_cancel_reaches_tasks);
    RUN_TEST(group_wait_without_tasks_returns_zero);
    RUN_TEST(group_success_returns_zero);
    RUN_TEST(group_limit_peak_equals_limit);
    RUN_TEST(group_set_limit_busy_while_active);
    RUN_TEST(group_set_limit_zero_rejected);
    RUN_TEST(group_try_go_full_runs_nothing);
    RUN_TEST(group_nested_go_completes);
    RUN_TEST(group_wait_inside_pool_task);
    RUN_TEST(group_go_from_pool_tasks);
    RUN_TEST(group_real_error_wins);
    RUN_TEST(group_blocked_go_returns_on_cancel);
    RUN_TEST(group_go_after_cancel_runs_with_free_slot);
    RUN_TEST(group_concurrent_waits);
    RUN_TEST(group_destroy_with_members_waits);
    RUN_TEST(group_bad_arguments_rejected);
    RUN_TEST(group_go_out_of_memory);
    RUN_TEST(group_stress_random_limits);
    return check_exit_code();
}
