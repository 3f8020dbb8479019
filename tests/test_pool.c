/* Pool lifetime, sp_submit, sp_pool_run, statistics and argument checks. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool.h>
#include <stealpool/stats.h>

#include "check.h"
#include "test_support.h"

/* Log lines captured through sp_set_log. */
typedef struct log_capture {
    pthread_mutex_t lock;
    int             lines;
    bool            saw_total;
    bool            saw_header;
    char            last[512];
} log_capture;

static log_capture captured = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void capture_line(void *user, const char *line)
{
    log_capture *log = user;
    pthread_mutex_lock(&log->lock);
    log->lines++;
    if (strncmp(line, "total", 5) == 0)
        log->saw_total = true;
    if (strstr(line, "tasks_run") != NULL && strstr(line, "parks") != NULL)
        log->saw_header = true;
    snprintf(log->last, sizeof log->last, "%s", line);
    pthread_mutex_unlock(&log->lock);
}

static void capture_start(void)
{
    pthread_mutex_lock(&captured.lock);
    captured.lines = 0;
    captured.saw_total = false;
    captured.saw_header = false;
    captured.last[0] = '\0';
    pthread_mutex_unlock(&captured.lock);
    sp_set_log(capture_line, &captured);
}

/* Restores the default hook and returns the number of lines captured. */
static int capture_stop(void)
{
    sp_set_log(NULL, NULL);
    pthread_mutex_lock(&captured.lock);
    int lines = captured.lines;
    pthread_mutex_unlock(&captured.lock);
    return lines;
}

/* A one-shot flag that tasks wait on, with a timeout so that a broken pool
 * fails the test instead of hanging it. */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    bool            open;
    int             waiting;   /* threads that reached gate_wait */
    int             timeouts;
} gate;

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &attr);
    pthread_condattr_destroy(&attr);
    g->open = false;
    g->waiting = 0;
    g->timeouts = 0;
}

static void gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

static struct timespec deadline_after_ms(int64_t ms)
{
    int64_t ns = test_now_ns() + ms * 1000000;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    return ts;
}

/* Waits until the gate opens. Returns false after timeout_ms. */
static bool gate_wait(gate *g, int64_t timeout_ms)
{
    struct timespec deadline = deadline_after_ms(timeout_ms);
    bool opened = true;

    pthread_mutex_lock(&g->lock);
    g->waiting++;
    pthread_cond_broadcast(&g->cond);
    while (!g->open) {
        if (pthread_cond_timedwait(&g->cond, &g->lock, &deadline) == ETIMEDOUT) {
            opened = g->open;
            if (!opened)
                g->timeouts++;
            break;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return opened;
}

/* Waits until count threads reached gate_wait. Returns false after timeout_ms. */
static bool gate_wait_for_waiters(gate *g, int count, int64_t timeout_ms)
{
    struct timespec deadline = deadline_after_ms(timeout_ms);
    bool reached = true;

    pthread_mutex_lock(&g->lock);
    while (g->waiting < count) {
        if (pthread_cond_timedwait(&g->cond, &g->lock, &deadline) == ETIMEDOUT) {
            reached = g->waiting >= count;
            break;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return reached;
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static int gate_timeouts(gate *g)
{
    pthread_mutex_lock(&g->lock);
    int timeouts = g->timeouts;
    pthread_mutex_unlock(&g->lock);
    return timeouts;
}

static int64_t timeout_ms(int64_t release_ms)
{
    return release_ms * sp_test_scale();
}

static _Atomic uint64_t counter;

static void count_task(void *arg)
{
    (void)arg;
    /* relaxed: read after the pool is destroyed or after polling */
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

static void reset_counter(void)
{
    atomic_store_explicit(&counter, 0, memory_order_relaxed);
}

static uint64_t read_counter(void)
{
    /* relaxed: callers synchronise through sp_pool_destroy or poll */
    return atomic_load_explicit(&counter, memory_order_relaxed);
}

/* ---- argument checks ---- */

static void expect_create_rejects(const sp_config *cfg, const char *what)
{
    sp_pool *pool = (sp_pool *)&captured; /* any non-NULL value to see it kept */
    capture_start();
    int rc = sp_pool_create(&pool, cfg);
    int lines = capture_stop();

    if (rc != EINVAL)
        fprintf(stderr, "  config with %s was accepted (rc %d)\n", what, rc);
    CHECK_EQ(rc, EINVAL);
    CHECK_EQ(lines, 1);
    CHECK(pool == (sp_pool *)&captured);
    if (rc == 0 && pool != (sp_pool *)&captured)
        sp_pool_destroy(pool);
}

/* Returns a CPU number outside the affinity mask, or -1 when every CPU of
 * cpu_set_t is inside. */
static int cpu_outside_mask(void)
{
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0)
        return -1;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
        if (!CPU_ISSET(cpu, &mask))
            return cpu;
    return -1;
}

static void pool_create_rejects_bad_config(void)
{
    sp_config cfg;

    sp_config_init(&cfg);
    cfg.workers = 5000;
    expect_create_rejects(&cfg, "workers 5000");

    sp_config_init(&cfg);
    cfg.deque_capacity = 24;
    expect_create_rejects(&cfg, "deque_capacity 24");

    sp_config_init(&cfg);
    cfg.deque_capacity = 8;
    expect_create_rejects(&cfg, "deque_capacity 8");

    sp_config_init(&cfg);
    cfg.deque_capacity = 0;
    expect_create_rejects(&cfg, "deque_capacity 0");

    sp_config_init(&cfg);
    cfg.spin_us = 2000000;
    expect_create_rejects(&cfg, "spin_us 2000000");

    sp_config_init(&cfg);
    cfg.pin = (sp_pin_mode)7;
    expect_create_rejects(&cfg, "pin mode 7");

    sp_config_init(&cfg);
    cfg.pin = SP_PIN_LIST;
    cfg.cpu_list = NULL;
    expect_create_rejects(&cfg, "SP_PIN_LIST and a NULL cpu_list");

    static const char *const malformed[] = {"", "abc", "0-", "-1", "3-1", "0,,1", "0 ", "1,",
                                            "99999"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        sp_config_init(&cfg);
        cfg.pin = SP_PIN_LIST;
        cfg.cpu_list = malformed[i];
        expect_create_rejects(&cfg, malformed[i]);
    }

    int outside = cpu_outside_mask();
    if (outside < 0) {
        fprintf(stderr, "  skipped: every CPU is in the affinity mask\n");
        return;
    }
    char list[32];
    snprintf(list, sizeof list, "%d", outside);
    sp_config_init(&cfg);
    cfg.pin = SP_PIN_LIST;
    cfg.cpu_list = list;
    expect_create_rejects(&cfg, list);
}

static void pool_create_null_out_rejected(void)
{
    sp_config cfg;
    sp_config_init(&cfg);

    capture_start();
    CHECK_EQ(sp_pool_create(NULL, &cfg), EINVAL);
    CHECK_EQ(sp_pool_create(NULL, NULL), EINVAL);
    CHECK_EQ(capture_stop(), 2);
}

static void pool_null_arguments_rejected(void)
{
    sp_pool *pool = make_pool(1);

    capture_start();
    CHECK_EQ(sp_submit(NULL, count_task, NULL), EINVAL);
    CHECK_EQ(sp_submit(pool, NULL, NULL), EINVAL);
    CHECK_EQ(sp_pool_run(NULL, count_task, NULL), EINVAL);
    CHECK_EQ(sp_pool_run(pool, NULL, NULL), EINVAL);
    CHECK_EQ(sp_pool_destroy(NULL), EINVAL);
    CHECK_EQ(sp_pool_stats(NULL, NULL, NULL, 0), -EINVAL);
    CHECK_EQ(capture_stop(), 6);

    CHECK_EQ(sp_pool_workers(NULL), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* ---- submission and draining ---- */

static void pool_submit_outside_runs_all(void)
{
    const uint64_t tasks = 100000 / (uint64_t)sp_test_scale();
    sp_pool *pool = make_pool(4);
    reset_counter();

    uint64_t rejected = 0;
    for (uint64_t i = 0; i < tasks; i++)
        rejected += sp_submit(pool, count_task, NULL) != 0;

    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(rejected, 0);
    CHECK_EQ(read_counter(), tasks);
}

typedef struct blocker {
    gate    *gate;
    int64_t  timeout_ms;
    sp_pool *pool;     /* for resubmitting children; NULL for none */
    int      children; /* tasks to submit once the gate opens */
    _Atomic int rejected_children;
} blocker;

static _Atomic int rejected_grandchildren;

static void child_submits_grandchild(void *arg)
{
    sp_pool *pool = arg;
    count_task(NULL);
    if (sp_submit(pool, count_task, NULL) != 0)
        /* relaxed: read after sp_pool_destroy returns */
        atomic_fetch_add_explicit(&rejected_grandchildren, 1, memory_order_relaxed);
}

static void blocker_task(void *arg)
{
    blocker *b = arg;
    gate_wait(b->gate, b->timeout_ms);

    for (int i = 0; i < b->children; i++)
        if (sp_submit(b->pool, child_submits_grandchild, b->pool) != 0)
            /* relaxed: read after sp_pool_destroy returns */
            atomic_fetch_add_explicit(&b->rejected_children, 1, memory_order_relaxed);
}

typedef struct destroyer {
    sp_pool  *pool;
    pthread_t thread;
    int       rc;
    int64_t   returned_ns;
} destroyer;

static void *destroyer_main(void *arg)
{
    destroyer *d = arg;
    d->rc = sp_pool_destroy(d->pool);
    d->returned_ns = test_now_ns();
    return NULL;
}

/* Submits count_task until sp_submit returns EPIPE, which shows that
 * sp_pool_destroy has begun. Returns the number accepted before that, or
 * -1 when EPIPE did not come within the bound. */
static int64_t submit_until_epipe(sp_pool *pool, int64_t bound_ms)
{
    int64_t deadline = test_now_ns() + bound_ms * 1000000;
    int64_t accepted = 0;
    while (test_now_ns() < deadline) {
        int rc = sp_submit(pool, count_task, NULL);
        if (rc == EPIPE)
            return accepted;
        CHECK_EQ(rc, 0);
        accepted++;
        test_sleep_ns(100000);
    }
    return -1;
}

static void pool_destroy_runs_queued_tasks(void)
{
    const unsigned workers = 2;
    const uint64_t queued = 1000;
    sp_pool *pool = make_pool(workers);
    reset_counter();

    gate g;
    gate_init(&g);
    blocker b = {.gate = &g, .timeout_ms = timeout_ms(10000)};
    atomic_init(&b.rejected_children, 0);
    for (unsigned i = 0; i < workers; i++)
        CHECK_EQ(sp_submit(pool, blocker_task, &b), 0);
    CHECK(gate_wait_for_waiters(&g, (int)workers, timeout_ms(5000)));

    /* Both workers are held, so these stay queued. */
    for (uint64_t i = 0; i < queued; i++)
        CHECK_EQ(sp_submit(pool, count_task, NULL), 0);

    destroyer d = {.pool = pool};
    CHECK_EQ(pthread_create(&d.thread, NULL, destroyer_main, &d), 0);
    int64_t late = submit_until_epipe(pool, timeout_ms(5000));
    CHECK_GE(late, 0);
    CHECK_EQ(read_counter(), 0);

    gate_open(&g);
    pthread_join(d.thread, NULL);

    CHECK_EQ(d.rc, 0);
    CHECK_EQ(gate_timeouts(&g), 0);
    CHECK_EQ(read_counter(), queued + (uint64_t)(late > 0 ? late : 0));
    gate_destroy(&g);
}

static void pool_submit_after_destroy_epipe(void)
{
    sp_pool *pool = make_pool(1);
    reset_counter();

    gate g;
    gate_init(&g);
    blocker b = {.gate = &g, .timeout_ms = timeout_ms(10000)};
    atomic_init(&b.rejected_children, 0);
    CHECK_EQ(sp_submit(pool, blocker_task, &b), 0);
    CHECK(gate_wait_for_waiters(&g, 1, timeout_ms(5000)));

    destroyer d = {.pool = pool};
    CHECK_EQ(pthread_create(&d.thread, NULL, destroyer_main, &d), 0);
    int64_t late = submit_until_epipe(pool, timeout_ms(5000));
    CHECK_GE(late, 0);

    /* Once rejected, every later outside call is rejected too. */
    CHECK_EQ(sp_submit(pool, count_task, NULL), EPIPE);
    CHECK_EQ(sp_pool_run(pool, count_task, NULL), EPIPE);

    gate_open(&g);
    pthread_join(d.thread, NULL);
    CHECK_EQ(d.rc, 0);
    CHECK_EQ(read_counter(), (uint64_t)(late > 0 ? late : 0));
    gate_destroy(&g);
}

static void pool_drain_accepts_worker_submits(void)
{
    const int children = 200;
    sp_pool *pool = make_pool(2);
    reset_counter();

    gate g;
    gate_init(&g);
    blocker b = {.gate = &g, .timeout_ms = timeout_ms(10000), .pool = pool,
                 .children = children};
    atomic_init(&b.rejected_children, 0);
    CHECK_EQ(sp_submit(pool, blocker_task, &b), 0);
    CHECK(gate_wait_for_waiters(&g, 1, timeout_ms(5000)));

    destroyer d = {.pool = pool};
    CHECK_EQ(pthread_create(&d.thread, NULL, destroyer_main, &d), 0);
    int64_t late = submit_until_epipe(pool, timeout_ms(5000));
    CHECK_GE(late, 0);

    /* Destroy has begun: the blocker now submits from inside the pool. */
    gate_open(&g);
    pthread_join(d.thread, NULL);

    CHECK_EQ(d.rc, 0);
    CHECK_EQ(atomic_load_explicit(&b.rejected_children, memory_order_relaxed), 0);
    CHECK_EQ(atomic_load_explicit(&rejected_grandchildren, memory_order_relaxed), 0);
    /* Each child and its grandchild count once. */
    CHECK_EQ(read_counter(), (uint64_t)children * 2 + (uint64_t)(late > 0 ? late : 0));
    gate_destroy(&g);
}

/* ---- calls from inside workers ---- */

typedef struct inside_record {
    sp_pool *pool;
    int      destroy_rc;
    int      index;
    int      inner_index;
    bool     inner_ran;
    bool     inner_same_thread;
    int      run_rc;
    pthread_t thread;
} inside_record;

static void destroy_from_inside(void *arg)
{
    inside_record *r = arg;
    r->destroy_rc = sp_pool_destroy(r->pool);
}

static void pool_destroy_from_worker_ebusy(void)
{
    sp_pool *pool = make_pool(2);
    inside_record r = {.pool = pool, .destroy_rc = -1};

    capture_start();
    CHECK_EQ(sp_pool_run(pool, destroy_from_inside, &r), 0);
    CHECK_EQ(capture_stop(), 1);
    CHECK_EQ(r.destroy_rc, EBUSY);

    /* The pool is unchanged and still accepts work. */
    reset_counter();
    CHECK_EQ(sp_submit(pool, count_task, NULL), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(read_counter(), 1);
}

typedef struct index_record {
    unsigned    workers;
    _Atomic int out_of_range;
    _Atomic int seen_mask; /* bit i: index i was seen */
} index_record;

static void record_index(void *arg)
{
    index_record *r = arg;
    int index = sp_worker_index();
    /* relaxed: read after sp_pool_destroy returns */
    if (index < 0 || index >= (int)r->workers)
        atomic_fetch_add_explicit(&r->out_of_range, 1, memory_order_relaxed);
    else
        atomic_fetch_or_explicit(&r->seen_mask, 1 << index, memory_order_relaxed);
}

static void pool_worker_index_in_range(void)
{
    const unsigned workers = 3;
    CHECK_EQ(sp_worker_index(), -1);

    sp_pool *pool = make_pool(workers);
    CHECK_EQ(sp_pool_workers(pool), workers);

    index_record r = {.workers = workers};
    atomic_init(&r.out_of_range, 0);
    atomic_init(&r.seen_mask, 0);
    for (int i = 0; i < 10000 / sp_test_scale(); i++)
        CHECK_EQ(sp_submit(pool, record_index, &r), 0);
    CHECK_EQ(sp_pool_run(pool, record_index, &r), 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);

    CHECK_EQ(sp_worker_index(), -1);
    CHECK_EQ(atomic_load_explicit(&r.out_of_range, memory_order_relaxed), 0);
    CHECK_NE(atomic_load_explicit(&r.seen_mask, memory_order_relaxed), 0);
}

typedef struct slow_record {
    pthread_t thread;
    bool      done;
} slow_record;

static void slow_task(void *arg)
{
    slow_record *r = arg;
    test_sleep_ns(20000000);
    r->thread = pthread_self();
    r->done = true;
}

static void inner_task(void *arg)
{
    inside_record *r = arg;
    r->inner_ran = true;
    r->inner_index = sp_worker_index();
    r->inner_same_thread = pthread_equal(r->thread, pthread_self());
}

static void outer_task(void *arg)
{
    inside_record *r = arg;
    r->thread = pthread_self();
    r->index = sp_worker_index();
    r->run_rc = sp_pool_run(r->pool, inner_task, r);
}

static void pool_run_waits_and_nests_inline(void)
{
    sp_pool *pool = make_pool(2);

    slow_record slow = {.done = false};
    CHECK_EQ(sp_pool_run(pool, slow_task, &slow), 0);
    /* sp_pool_run returned, so the task finished and its writes are visible. */
    CHECK(slow.done);
    CHECK(!pthread_equal(slow.thread, pthread_self()));

    inside_record r = {.pool = pool, .run_rc = -1, .inner_index = -2};
    CHECK_EQ(sp_pool_run(pool, outer_task, &r), 0);
    CHECK_EQ(r.run_rc, 0);
    CHECK(r.inner_ran);
    CHECK(r.inner_same_thread);
    CHECK_EQ(r.inner_index, r.index);
    CHECK_GE(r.index, 0);

    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* ---- statistics ---- */

static bool wait_for_tasks_run(sp_pool *pool, uint64_t expected, sp_stats *total)
{
    int64_t deadline = test_now_ns() + timeout_ms(10000) * 1000000;
    while (test_now_ns() < deadline) {
        sp_pool_stats(pool, total, NULL, 0);
        if (total->tasks_run >= expected)
            return true;
        test_sleep_ns(1000000);
    }
    return false;
}

static void local_spawner(void *arg)
{
    sp_pool *pool = arg;
    for (int i = 0; i < 100; i++)
        CHECK_EQ(sp_submit(pool, count_task, NULL), 0);
}

static void pool_stats_count_tasks(void)
{
    const unsigned workers = 3;
    const uint64_t outside = 5000 / (uint64_t)sp_test_scale();
    const uint64_t spawners = 10;
    sp_pool *pool = make_pool(workers);
    reset_counter();

    for (uint64_t i = 0; i < outside; i++)
        CHECK_EQ(sp_submit(pool, count_task, NULL), 0);
    for (uint64_t i = 0; i < spawners; i++)
        CHECK_EQ(sp_submit(pool, local_spawner, pool), 0);
    CHECK_EQ(sp_pool_run(pool, count_task, NULL), 0);

    /* Each task counts itself in tasks_run only after its function returns,
     * so poll until the last increments land. */
    const uint64_t expected = outside + spawners + spawners * 100 + 1;
    sp_stats total;
    CHECK(wait_for_tasks_run(pool, expected, &total));

    sp_stats per_worker[8];
    int entries = sp_pool_stats(pool, &total, per_worker, 8);
    CHECK_GE(entries, (int)workers);
    CHECK_EQ(total.tasks_run, expected);
    CHECK_EQ(total.injected, outside + spawners + 1);
    CHECK_EQ(total.spawned, spawners * 100);
    CHECK_GE(total.steal_attempts, total.steals);
    CHECK_GE(total.parks, total.wakeups);

    uint64_t sum = 0;
    for (int i = 0; i < entries && i < 8; i++)
        sum += per_worker[i].tasks_run;
    CHECK_EQ(sum, total.tasks_run);

    CHECK_EQ(sp_pool_destroy(pool), 0);
    /* Every task but the spawners increments the counter. */
    CHECK_EQ(read_counter(), expected - spawners);
}

static void pool_print_stats_logs_table(void)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 2;
    cfg.print_stats = true;
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(sp_submit(pool, count_task, NULL), 0);

    capture_start();
    CHECK_EQ(sp_pool_destroy(pool), 0);
    int lines = capture_stop();

    /* A header, one row per thread, the total row and a summary line. */
    CHECK_GE(lines, 2 + 2 + 1);
    CHECK(captured.saw_header);
    CHECK(captured.saw_total);
}

/* ---- resources ---- */

/* Waits until the thread count drops to expected: a joined thread can stay
 * in the count for a moment after pthread_join returns. */
static int settled_thread_count(int expected)
{
    int64_t deadline = test_now_ns() + timeout_ms(2000) * 1000000;
    int threads = test_thread_count();
    while (threads != expected && test_now_ns() < deadline) {
        test_sleep_ns(1000000);
        threads = test_thread_count();
    }
    return threads;
}

static void pool_create_destroy_no_leak(void)
{
    const int rounds = 1000 / sp_test_scale();
    const int threads_before = test_thread_count();
    long rss_warm = 0;

    for (int i = 0; i < rounds; i++) {
        sp_pool *pool = make_pool(1 + (unsigned)i % 4);
        if (pool == NULL)
            break;
        if (i % 3 == 0)
            sp_submit(pool, count_task, NULL);
        CHECK_EQ(sp_pool_destroy(pool), 0);
        if (i == rounds / 10)
            rss_warm = test_rss_kib();
    }

    long rss_end = test_rss_kib();
    fprintf(stderr, "  %d rounds: RSS %ld KiB after warm-up, %ld KiB at the end\n", rounds,
            rss_warm, rss_end);
    CHECK_EQ(settled_thread_count(threads_before), threads_before);
#ifdef __SANITIZE_ADDRESS__
    /* ASan keeps freed blocks in quarantine, so RSS grows without a leak.
     * LeakSanitizer checks for leaks at exit instead. */
    (void)rss_end;
#else
    CHECK_LT(rss_end - rss_warm, 8 * 1024);
#endif
}

/* ---- blocking inside tasks ---- */

enum { WAITING_TASKS = 8 };

typedef struct waiting_set {
    sp_pool        *other;
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    int             started;
    int             finished;
    int             timeouts;
} waiting_set;

/* Runs on the other pool: waits until every task of the first pool has
 * started, which needs more threads than the first pool has workers. */
static void wait_for_all_started(void *arg)
{
    waiting_set *s = arg;
    struct timespec deadline = deadline_after_ms(timeout_ms(5000));

    pthread_mutex_lock(&s->lock);
    while (s->started < WAITING_TASKS) {
        if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT) {
            if (s->started < WAITING_TASKS)
                s->timeouts++;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void waiting_task(void *arg)
{
    waiting_set *s = arg;
    pthread_mutex_lock(&s->lock);
    s->started++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);

    /* A library blocking call: the pool replaces this worker meanwhile. */
    int rc = sp_pool_run(s->other, wait_for_all_started, s);

    pthread_mutex_lock(&s->lock);
    s->finished++;
    if (rc != 0)
        s->timeouts++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void pool_blocking_waits_no_deadlock(void)
{
    sp_pool *pool = make_pool(2);
    waiting_set s = {.other = make_pool(WAITING_TASKS)};
    pthread_mutex_init(&s.lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s.cond, &attr);
    pthread_condattr_destroy(&attr);

    for (int i = 0; i < WAITING_TASKS; i++)
        CHECK_EQ(sp_submit(pool, waiting_task, &s), 0);

    /* Each waiter times out on its own, so this wait is bounded. */
    struct timespec deadline = deadline_after_ms(timeout_ms(20000));
    pthread_mutex_lock(&s.lock);
    while (s.finished < WAITING_TASKS)
        if (pthread_cond_timedwait(&s.cond, &s.lock, &deadline) == ETIMEDOUT)
            break;
    int finished = s.finished, started = s.started, timeouts = s.timeouts;
    pthread_mutex_unlock(&s.lock);

    CHECK_EQ(started, WAITING_TASKS);
    CHECK_EQ(finished, WAITING_TASKS);
    CHECK_EQ(timeouts, 0);
    /* Eight tasks ran at once on a pool of two: spare threads stood in. */
    CHECK_GE(sp_pool_stats(pool, NULL, NULL, 0), WAITING_TASKS);

    CHECK_EQ(sp_pool_destroy(pool), 0);
    CHECK_EQ(sp_pool_destroy(s.other), 0);
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.lock);
}

int main(void)
{
    RUN_TEST(pool_create_rejects_bad_config);
    RUN_TEST(pool_create_null_out_rejected);
    RUN_TEST(pool_null_arguments_rejected);
    RUN_TEST(pool_submit_outside_runs_all);
    RUN_TEST(pool_destroy_runs_queued_tasks);
    RUN_TEST(pool_submit_after_destroy_epipe);
    RUN_TEST(pool_drain_accepts_worker_submits);
    RUN_TEST(pool_destroy_from_worker_ebusy);
    RUN_TEST(pool_worker_index_in_range);
    RUN_TEST(pool_run_waits_and_nests_inline);
    RUN_TEST(pool_stats_count_tasks);
    RUN_TEST(pool_print_stats_logs_table);
    RUN_TEST(pool_create_destroy_no_leak);
    RUN_TEST(pool_blocking_waits_no_deadlock);
    return check_exit_code();
}
