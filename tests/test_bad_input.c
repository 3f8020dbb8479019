/*
 * Every public function against bad arguments: NULL, zero, negative, huge,
 * and objects in a state that the library can detect (closed, already
 * destroyed by the rules of the call, busy). docs/RELIABILITY.md lists the
 * same table.
 *
 * Each row runs one small function that returns the observed result (an
 * errno value, 0, or 1/0 for a bool) and compares it with the expected one.
 * The row also states how many log lines the call must write. When that is
 * one line, the line must name the function, or the variable or field that
 * the row gives instead.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include <stealpool.h>

#include "check.h"

/* ---- Log capture ---------------------------------------------------------- */

static _Atomic int log_lines;
static char last_line[512];

static void count_log(void *user, const char *line)
{
    (void)user;
    /* relaxed: read by the same thread after the call that logged */
    atomic_fetch_add_explicit(&log_lines, 1, memory_order_relaxed);
    snprintf(last_line, sizeof last_line, "%s", line);
}

/* ---- Fixtures ------------------------------------------------------------- */

static sp_pool *pool;

static void nothing(void *arg)
{
    (void)arg;
}

static int nothing_group_fn(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}

static sp_sem *sem_new(int64_t capacity)
{
    sp_sem *sem = NULL;
    if (sp_sem_create(&sem, capacity) != 0)
        fprintf(stderr, "fixture: sp_sem_create(%lld) failed\n", (long long)capacity);
    return sem;
}

static sp_chan *chan_new(size_t elem_size, size_t capacity)
{
    sp_chan *ch = NULL;
    if (sp_chan_create(&ch, elem_size, capacity) != 0)
        fprintf(stderr, "fixture: sp_chan_create failed\n");
    return ch;
}

static sp_limiter *limiter_new(double rate, int64_t burst)
{
    sp_limiter *l = NULL;
    if (sp_limiter_create(&l, rate, burst) != 0)
        fprintf(stderr, "fixture: sp_limiter_create failed\n");
    return l;
}

static sp_ctx *ctx_canceled(void)
{
    sp_ctx *ctx = NULL;
    if (sp_ctx_with_cancel(NULL, &ctx) != 0)
        return NULL;
    sp_ctx_cancel(ctx);
    return ctx;
}

static sp_ctx *ctx_expired(void)
{
    sp_ctx *ctx = NULL;
    if (sp_ctx_with_deadline(NULL, 0, &ctx) != 0)
        return NULL;
    return ctx;
}

static sp_config config_small(void)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 1;
    cfg.pin = SP_PIN_NONE;
    return cfg;
}

/* ---- Pool, configuration and logging -------------------------------------- */

static int set_log_null_restores_default(void)
{
    sp_set_log(NULL, NULL);
    sp_set_log(count_log, NULL);
    return 0;
}

static int config_init_null(void)
{
    sp_config_init(NULL);
    return 0;
}

static int config_from_env_null(void)
{
    return sp_config_from_env(NULL);
}

/* Sets name=value, parses the environment, restores name. Returns the
 * result, or -1 when a field changed although its variable was invalid. */
static int env_value(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old != NULL ? strdup(old) : NULL;
    setenv(name, value, 1);

    sp_config cfg;
    sp_config_init(&cfg);
    sp_config before = cfg;
    int rc = sp_config_from_env(&cfg);
    bool unchanged = memcmp(&cfg, &before, sizeof cfg) == 0;

    if (saved != NULL) {
        setenv(name, saved, 1);
        free(saved);
    } else {
        unsetenv(name);
    }
    return rc == EINVAL && !unchanged ? -1 : rc;
}

static int env_workers_empty(void) { return env_value("SP_WORKERS", ""); }
static int env_workers_zero(void) { return env_value("SP_WORKERS", "0"); }
static int env_workers_negative(void) { return env_value("SP_WORKERS", "-1"); }
static int env_workers_above_max(void) { return env_value("SP_WORKERS", "4097"); }
static int env_workers_overflow(void) { return env_value("SP_WORKERS", "99999999999999999999999"); }
static int env_workers_space(void) { return env_value("SP_WORKERS", " 4"); }
static int env_workers_trailing(void) { return env_value("SP_WORKERS", "4x"); }
static int env_pin_word(void) { return env_value("SP_PIN", "all"); }
static int env_pin_bad_range(void) { return env_value("SP_PIN", "3-1"); }
static int env_pin_huge_cpu(void) { return env_value("SP_PIN", "1000000"); }
static int env_pin_trailing_comma(void) { return env_value("SP_PIN", "0,"); }
static int env_spin_above_max(void) { return env_value("SP_SPIN_US", "1000001"); }
static int env_spin_negative(void) { return env_value("SP_SPIN_US", "-5"); }
static int env_deque_not_power(void) { return env_value("SP_DEQUE_CAPACITY", "24"); }
static int env_deque_below_min(void) { return env_value("SP_DEQUE_CAPACITY", "8"); }
static int env_deque_above_max(void) { return env_value("SP_DEQUE_CAPACITY", "33554432"); }
static int env_stats_two(void) { return env_value("SP_STATS", "2"); }
static int env_stats_word(void) { return env_value("SP_STATS", "yes"); }
static int env_barrier_word(void) { return env_value("SP_STEAL_BARRIER", "mfence"); }
static int env_barrier_empty(void) { return env_value("SP_STEAL_BARRIER", ""); }

/* The five variables of the first release; later ones only add to them. */
enum { ENV_VARIABLES_MIN = 5 };

static int env_entries_null_out(void)
{
    unsigned count = sp_config_env_entries(NULL, 100);
    return count >= ENV_VARIABLES_MIN ? 0 : (int)count;
}

static int env_entries_zero_n(void)
{
    sp_env_entry entry = {0};
    unsigned count = sp_config_env_entries(&entry, 0);
    return entry.name == NULL && count >= ENV_VARIABLES_MIN ? 0 : -1;
}

static int plan_null_plan(void)
{
    return sp_config_plan(NULL, NULL, NULL, 0);
}

static int plan_null_cpus(void)
{
    sp_plan plan;
    return sp_config_plan(NULL, &plan, NULL, 8);
}

static int plan_field(void (*change)(sp_config *cfg))
{
    sp_config cfg = config_small();
    change(&cfg);
    sp_plan plan;
    int cpus[4];
    return sp_config_plan(&cfg, &plan, cpus, 4);
}

static void set_workers_above_max(sp_config *cfg) { cfg->workers = 4097; }
static void set_workers_huge(sp_config *cfg) { cfg->workers = UINT_MAX; }
static void set_spin_above_max(sp_config *cfg) { cfg->spin_us = 1000001; }
static void set_deque_zero(sp_config *cfg) { cfg->deque_capacity = 0; }
static void set_deque_not_power(sp_config *cfg) { cfg->deque_capacity = 100; }
static void set_deque_huge(sp_config *cfg) { cfg->deque_capacity = 1u << 31; }
static void set_pin_unknown(sp_config *cfg) { cfg->pin = (sp_pin_mode)99; }
static void set_pin_list_null(sp_config *cfg) { cfg->pin = SP_PIN_LIST; }

static void set_pin_list_garbage(sp_config *cfg)
{
    cfg->pin = SP_PIN_LIST;
    cfg->cpu_list = "zero";
}

static void set_pin_list_outside(sp_config *cfg)
{
    cfg->pin = SP_PIN_LIST;
    cfg->cpu_list = "1023";
}

static int plan_workers_above_max(void) { return plan_field(set_workers_above_max); }
static int plan_workers_huge(void) { return plan_field(set_workers_huge); }
static int plan_spin_above_max(void) { return plan_field(set_spin_above_max); }
static int plan_deque_zero(void) { return plan_field(set_deque_zero); }
static int plan_deque_not_power(void) { return plan_field(set_deque_not_power); }
static int plan_deque_huge(void) { return plan_field(set_deque_huge); }
static int plan_pin_unknown(void) { return plan_field(set_pin_unknown); }
static int plan_pin_list_null(void) { return plan_field(set_pin_list_null); }
static int plan_pin_list_garbage(void) { return plan_field(set_pin_list_garbage); }
static int plan_pin_list_outside(void) { return plan_field(set_pin_list_outside); }

static int build_info_not_null(void)
{
    return sp_build_info() != NULL && sp_version() != NULL;
}

static int pool_create_null_out(void)
{
    sp_config cfg = config_small();
    return sp_pool_create(NULL, &cfg);
}

static int pool_create_field(void (*change)(sp_config *cfg))
{
    sp_config cfg = config_small();
    change(&cfg);
    sp_pool *p = (sp_pool *)&cfg; /* must stay untouched on failure */
    int rc = sp_pool_create(&p, &cfg);
    if (rc == 0)
        sp_pool_destroy(p);
    else if (p != (sp_pool *)&cfg)
        return -1;
    return rc;
}

static int pool_create_workers_above_max(void) { return pool_create_field(set_workers_above_max); }
static int pool_create_deque_not_power(void) { return pool_create_field(set_deque_not_power); }
static int pool_create_pin_unknown(void) { return pool_create_field(set_pin_unknown); }
static int pool_create_pin_list_garbage(void) { return pool_create_field(set_pin_list_garbage); }

/* An invalid SP_* variable does not stop sp_pool_create(&p, NULL): it is
 * logged and replaced by its default. */
static int pool_create_env_invalid(void)
{
    const char *old = getenv("SP_SPIN_US");
    char *saved = old != NULL ? strdup(old) : NULL;
    setenv("SP_SPIN_US", "lots", 1);
    const char *workers = getenv("SP_WORKERS");
    char *saved_workers = workers != NULL ? strdup(workers) : NULL;
    setenv("SP_WORKERS", "1", 1);

    sp_pool *p = NULL;
    int rc = sp_pool_create(&p, NULL);
    if (rc == 0)
        sp_pool_destroy(p);

    if (saved != NULL)
        setenv("SP_SPIN_US", saved, 1);
    else
        unsetenv("SP_SPIN_US");
    if (saved_workers != NULL)
        setenv("SP_WORKERS", saved_workers, 1);
    else
        unsetenv("SP_WORKERS");
    free(saved);
    free(saved_workers);
    return rc;
}

static int pool_destroy_null(void)
{
    return sp_pool_destroy(NULL);
}

static int pool_destroy_default(void)
{
    return sp_pool_destroy(sp_default_pool());
}

static void destroy_own_pool(void *arg)
{
    *(int *)arg = sp_pool_destroy(pool);
}

static int pool_destroy_from_own_worker(void)
{
    int rc = -1;
    int run = sp_pool_run(pool, destroy_own_pool, &rc);
    return run != 0 ? run : rc;
}

static int pool_workers_null(void)
{
    return (int)sp_pool_workers(NULL);
}

static int submit_null_pool(void)
{
    return sp_submit(NULL, nothing, NULL);
}

static int submit_null_fn(void)
{
    return sp_submit(pool, NULL, NULL);
}

static int pool_run_null_pool(void)
{
    return sp_pool_run(NULL, nothing, NULL);
}

static int pool_run_null_fn(void)
{
    return sp_pool_run(pool, NULL, NULL);
}

static _Atomic int join_calls;

static void count_join_call(void *arg)
{
    (void)arg;
    /* relaxed: read by the same thread after sp_join returns */
    atomic_fetch_add_explicit(&join_calls, 1, memory_order_relaxed);
}

/* Returns how many of the two functions ran. */
static int join_with(void (*fa)(void *), void (*fb)(void *))
{
    atomic_store_explicit(&join_calls, 0, memory_order_relaxed);
    sp_join(fa, NULL, fb, NULL);
    return atomic_load_explicit(&join_calls, memory_order_relaxed);
}

static int join_null_both(void)
{
    return join_with(NULL, NULL);
}

static int join_null_fa(void)
{
    return join_with(NULL, count_join_call);
}

static int join_null_fb(void)
{
    return join_with(count_join_call, NULL);
}

static void count_range(size_t lo, size_t hi, void *arg)
{
    (void)lo;
    (void)hi;
    /* relaxed: read after sp_parallel_for returns */
    atomic_fetch_add_explicit((_Atomic int *)arg, 1, memory_order_relaxed);
}

static int parallel_for_null_body(void)
{
    return sp_parallel_for(pool, 0, 10, 1, NULL, NULL);
}

static int parallel_for_reversed(void)
{
    _Atomic int calls = 0;
    int rc = sp_parallel_for(pool, 10, 5, 1, count_range, &calls);
    return atomic_load_explicit(&calls, memory_order_relaxed) != 0 ? -1 : rc;
}

static int parallel_for_empty(void)
{
    _Atomic int calls = 0;
    int rc = sp_parallel_for(pool, 7, 7, 0, count_range, &calls);
    return atomic_load_explicit(&calls, memory_order_relaxed) != 0 ? -1 : rc;
}

/* The whole size_t range with a grain as large: one call of the body. */
static int parallel_for_huge_grain(void)
{
    _Atomic int calls = 0;
    int rc = sp_parallel_for(pool, 0, SIZE_MAX, SIZE_MAX, count_range, &calls);
    return atomic_load_explicit(&calls, memory_order_relaxed) != 1 ? -1 : rc;
}

static int parallel_for_null_pool(void)
{
    _Atomic int calls = 0;
    int rc = sp_parallel_for(NULL, 0, 1, 0, count_range, &calls);
    return atomic_load_explicit(&calls, memory_order_relaxed) != 1 ? -1 : rc;
}

static int worker_index_outside(void)
{
    return sp_worker_index();
}

static int stats_null_pool(void)
{
    sp_stats total;
    return sp_pool_stats(NULL, &total, NULL, 0);
}

static int stats_null_outputs(void)
{
    int count = sp_pool_stats(pool, NULL, NULL, 100);
    return count >= (int)sp_pool_workers(pool) ? 0 : count;
}

static int stats_zero_n(void)
{
    sp_stats row = {.tasks_run = 12345};
    int count = sp_pool_stats(pool, NULL, &row, 0);
    return row.tasks_run == 12345 && count >= 1 ? 0 : -1;
}

/* ---- Contexts ------------------------------------------------------------- */

static int ctx_with_cancel_null_out(void)
{
    return sp_ctx_with_cancel(NULL, NULL);
}

static int ctx_with_deadline_null_out(void)
{
    return sp_ctx_with_deadline(NULL, INT64_MAX, NULL);
}

static int ctx_with_timeout_null_out(void)
{
    return sp_ctx_with_timeout(NULL, 1000, NULL);
}

/* Creates a context with make and returns its error (or make's error). */
static int ctx_err_after(int (*make)(sp_ctx **out))
{
    sp_ctx *ctx = NULL;
    int rc = make(&ctx);
    if (rc != 0)
        return rc;
    int err = sp_ctx_err(ctx);
    sp_ctx_release(ctx);
    return err;
}

static int make_null_parent(sp_ctx **out) { return sp_ctx_with_cancel(NULL, out); }
static int make_negative_deadline(sp_ctx **out) { return sp_ctx_with_deadline(NULL, -1, out); }
static int make_min_deadline(sp_ctx **out) { return sp_ctx_with_deadline(NULL, INT64_MIN, out); }
static int make_zero_timeout(sp_ctx **out) { return sp_ctx_with_timeout(NULL, 0, out); }
static int make_min_timeout(sp_ctx **out) { return sp_ctx_with_timeout(NULL, INT64_MIN, out); }
static int make_max_timeout(sp_ctx **out) { return sp_ctx_with_timeout(NULL, INT64_MAX, out); }

static int make_child_of_canceled(sp_ctx **out)
{
    sp_ctx *parent = ctx_canceled();
    if (parent == NULL)
        return ENOMEM;
    int rc = sp_ctx_with_cancel(parent, out);
    sp_ctx_release(parent);
    return rc;
}

static int ctx_null_parent(void) { return ctx_err_after(make_null_parent); }
static int ctx_negative_deadline(void) { return ctx_err_after(make_negative_deadline); }
static int ctx_min_deadline(void) { return ctx_err_after(make_min_deadline); }
static int ctx_zero_timeout(void) { return ctx_err_after(make_zero_timeout); }
static int ctx_min_timeout(void) { return ctx_err_after(make_min_timeout); }
static int ctx_max_timeout(void) { return ctx_err_after(make_max_timeout); }
static int ctx_child_of_canceled(void) { return ctx_err_after(make_child_of_canceled); }

static int ctx_max_timeout_deadline(void)
{
    sp_ctx *ctx = NULL;
    int rc = sp_ctx_with_timeout(NULL, INT64_MAX, &ctx);
    if (rc != 0)
        return rc;
    int64_t deadline = sp_ctx_deadline(ctx);
    sp_ctx_release(ctx);
    return deadline == INT64_MAX ? 0 : -1;
}

static int ctx_cancel_null(void)
{
    sp_ctx_cancel(NULL);
    return 0;
}

static int ctx_cancel_background(void)
{
    sp_ctx_cancel(sp_ctx_background());
    return sp_ctx_err(sp_ctx_background());
}

static int ctx_cancel_twice(void)
{
    sp_ctx *ctx = ctx_canceled();
    if (ctx == NULL)
        return ENOMEM;
    sp_ctx_cancel(ctx);
    int err = sp_ctx_err(ctx);
    sp_ctx_release(ctx);
    return err;
}

static int ctx_err_null(void)
{
    return sp_ctx_err(NULL);
}

static int ctx_deadline_null(void)
{
    return sp_ctx_deadline(NULL) == INT64_MAX ? 0 : -1;
}

static int ctx_release_null(void)
{
    sp_ctx_release(NULL);
    sp_ctx_release(sp_ctx_background());
    return sp_ctx_err(sp_ctx_background());
}

/* ---- Semaphore ------------------------------------------------------------ */

static int sem_create_null_out(void)
{
    return sp_sem_create(NULL, 1);
}

static int sem_create_capacity(int64_t capacity)
{
    sp_sem *sem = (sp_sem *)&capacity; /* must stay untouched on failure */
    int rc = sp_sem_create(&sem, capacity);
    if (rc == 0)
        sp_sem_destroy(sem);
    else if (sem != (sp_sem *)&capacity)
        return -1;
    return rc;
}

static int sem_create_zero(void) { return sem_create_capacity(0); }
static int sem_create_negative(void) { return sem_create_capacity(-1); }
static int sem_create_min(void) { return sem_create_capacity(INT64_MIN); }
static int sem_create_max(void) { return sem_create_capacity(INT64_MAX); }

static int sem_destroy_null(void)
{
    sp_sem_destroy(NULL);
    return 0;
}

/* destroy with a queued request leaves the semaphore intact and working. */
static _Atomic int queued_task_runs;

static void queued_task(void *arg)
{
    (void)arg;
    /* relaxed: a counter polled below */
    atomic_fetch_add_explicit(&queued_task_runs, 1, memory_order_relaxed);
}

static int sem_destroy_with_queued(void)
{
    sp_sem *sem = sem_new(1);
    if (sem == NULL || !sp_sem_try_acquire(sem, 1))
        return -1;
    atomic_store_explicit(&queued_task_runs, 0, memory_order_relaxed);
    if (sp_sem_submit(sem, 1, pool, queued_task, NULL) != 0)
        return -1;

    sp_sem_destroy(sem); /* refused: logs one line */

    int rc = sp_sem_release(sem, 1);
    int64_t deadline = test_now_ns() + (int64_t)10000000000 * sp_test_scale();
    while (atomic_load_explicit(&queued_task_runs, memory_order_relaxed) == 0 &&
           test_now_ns() < deadline)
        test_sleep_ns(100000);
    while (sp_sem_available(sem) != 1 && test_now_ns() < deadline)
        test_sleep_ns(100000);
    int runs = atomic_load_explicit(&queued_task_runs, memory_order_relaxed);
    sp_sem_destroy(sem);
    return rc == 0 && runs == 1 ? 0 : -1;
}

static int sem_acquire_n(int64_t capacity, int64_t n)
{
    sp_sem *sem = sem_new(capacity);
    if (sem == NULL)
        return -1;
    int rc = sp_sem_acquire(sem, n, NULL);
    int64_t left = sp_sem_available(sem);
    if (rc == 0)
        sp_sem_release(sem, n);
    sp_sem_destroy(sem);
    return rc != 0 && left != capacity ? -1 : rc;
}

static int sem_acquire_null(void) { return sp_sem_acquire(NULL, 1, NULL); }
static int sem_acquire_zero(void) { return sem_acquire_n(4, 0); }
static int sem_acquire_negative(void) { return sem_acquire_n(4, -1); }
static int sem_acquire_min(void) { return sem_acquire_n(4, INT64_MIN); }
static int sem_acquire_above_capacity(void) { return sem_acquire_n(4, 5); }
static int sem_acquire_max(void) { return sem_acquire_n(4, INT64_MAX); }
static int sem_acquire_max_of_max(void) { return sem_acquire_n(INT64_MAX, INT64_MAX); }

static int sem_acquire_ctx(sp_ctx *ctx)
{
    sp_sem *sem = sem_new(4);
    if (sem == NULL || ctx == NULL)
        return -1;
    int rc = sp_sem_acquire(sem, 1, ctx);
    int64_t left = sp_sem_available(sem);
    sp_ctx_release(ctx);
    sp_sem_destroy(sem);
    return left != 4 ? -1 : rc;
}

static int sem_acquire_canceled(void) { return sem_acquire_ctx(ctx_canceled()); }
static int sem_acquire_expired(void) { return sem_acquire_ctx(ctx_expired()); }

static int sem_try_acquire_n(int64_t n)
{
    sp_sem *sem = sem_new(4);
    if (sem == NULL)
        return -1;
    bool taken = sp_sem_try_acquire(sem, n);
    int64_t left = sp_sem_available(sem);
    sp_sem_destroy(sem);
    return !taken && left != 4 ? -1 : taken;
}

static int sem_try_acquire_null(void) { return sp_sem_try_acquire(NULL, 1); }
static int sem_try_acquire_zero(void) { return sem_try_acquire_n(0); }
static int sem_try_acquire_negative(void) { return sem_try_acquire_n(-3); }
static int sem_try_acquire_above_capacity(void) { return sem_try_acquire_n(5); }

static int sem_release_n(int64_t capacity, int64_t held, int64_t n)
{
    sp_sem *sem = sem_new(capacity);
    if (sem == NULL || (held > 0 && !sp_sem_try_acquire(sem, held)))
        return -1;
    int rc = sp_sem_release(sem, n);
    int64_t left = sp_sem_available(sem);
    sp_sem_destroy(sem);
    return rc != 0 && left != capacity - held ? -1 : rc;
}

static int sem_release_null(void) { return sp_sem_release(NULL, 1); }
static int sem_release_zero(void) { return sem_release_n(4, 2, 0); }
static int sem_release_negative(void) { return sem_release_n(4, 2, -1); }
static int sem_release_more_than_held(void) { return sem_release_n(4, 2, 3); }
static int sem_release_none_held(void) { return sem_release_n(4, 0, 1); }
static int sem_release_max(void) { return sem_release_n(4, 2, INT64_MAX); }
static int sem_release_overflow(void) { return sem_release_n(INT64_MAX, 1, INT64_MAX); }

static int sem_available_null(void)
{
    return (int)sp_sem_available(NULL);
}

static int sem_submit_with(sp_sem *sem, int64_t n, sp_pool *p, void (*fn)(void *))
{
    int rc = sp_sem_submit(sem, n, p, fn, NULL);
    return rc;
}

static int sem_submit_null_sem(void) { return sem_submit_with(NULL, 1, pool, nothing); }

static int sem_submit_args(int64_t n, bool null_pool, bool null_fn)
{
    sp_sem *sem = sem_new(4);
    if (sem == NULL)
        return -1;
    int rc = sem_submit_with(sem, n, null_pool ? NULL : pool, null_fn ? NULL : nothing);
    int64_t left = sp_sem_available(sem);
    sp_sem_destroy(sem);
    return rc != 0 && left != 4 ? -1 : rc;
}

static int sem_submit_null_pool(void) { return sem_submit_args(1, true, false); }
static int sem_submit_null_fn(void) { return sem_submit_args(1, false, true); }
static int sem_submit_zero(void) { return sem_submit_args(0, false, false); }
static int sem_submit_negative(void) { return sem_submit_args(-1, false, false); }
static int sem_submit_above_capacity(void) { return sem_submit_args(5, false, false); }

/* ---- Error group ---------------------------------------------------------- */

static int group_create_null_out(void)
{
    return sp_group_create(NULL, pool, NULL);
}

static int group_create_null_pool(void)
{
    sp_group *g = NULL;
    int rc = sp_group_create(&g, NULL, NULL);
    if (rc == 0) {
        sp_group_wait(g);
        sp_group_destroy(g);
    }
    return rc;
}

static int group_with(int (*step)(sp_group *g))
{
    sp_group *g = NULL;
    int rc = sp_group_create(&g, pool, NULL);
    if (rc != 0)
        return -1;
    rc = step(g);
    sp_group_wait(g);
    sp_group_destroy(g);
    return rc;
}

static int limit_zero(sp_group *g) { return sp_group_set_limit(g, 0); }
static int limit_negative(sp_group *g) { return sp_group_set_limit(g, -1); }
static int limit_min(sp_group *g) { return sp_group_set_limit(g, INT_MIN); }
static int limit_max(sp_group *g) { return sp_group_set_limit(g, INT_MAX); }
static int go_null_fn(sp_group *g) { return sp_group_go(g, NULL, NULL); }
static int try_go_null_fn(sp_group *g) { return sp_group_try_go(g, NULL, NULL); }

static int wait_twice(sp_group *g)
{
    if (sp_group_go(g, nothing_group_fn, NULL) != 0)
        return -1;
    int first = sp_group_wait(g);
    int second = sp_group_wait(g);
    return first != 0 ? -1 : second;
}

/* A member task that returns once the test lets it go. */
static _Atomic bool member_release;

static int member_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    /* acquire: pairs with the release store in limit_busy */
    while (!atomic_load_explicit(&member_release, memory_order_acquire))
        test_sleep_ns(100000);
    return 0;
}

static int limit_busy(sp_group *g)
{
    atomic_store_explicit(&member_release, false, memory_order_relaxed);
    if (sp_group_go(g, member_task, NULL) != 0)
        return -1;
    int rc = sp_group_set_limit(g, 2);
    /* release: lets the member task return */
    atomic_store_explicit(&member_release, true, memory_order_release);
    return rc;
}

static int group_set_limit_busy(void) { return group_with(limit_busy); }
static int group_set_limit_null(void) { return sp_group_set_limit(NULL, 1); }
static int group_set_limit_zero(void) { return group_with(limit_zero); }
static int group_set_limit_negative(void) { return group_with(limit_negative); }
static int group_set_limit_min(void) { return group_with(limit_min); }
static int group_set_limit_max(void) { return group_with(limit_max); }
static int group_go_null_group(void) { return sp_group_go(NULL, nothing_group_fn, NULL); }
static int group_go_null_fn(void) { return group_with(go_null_fn); }
static int group_try_go_null_group(void) { return sp_group_try_go(NULL, nothing_group_fn, NULL); }
static int group_try_go_null_fn(void) { return group_with(try_go_null_fn); }
static int group_wait_null(void) { return sp_group_wait(NULL); }
static int group_wait_twice(void) { return group_with(wait_twice); }
static int group_ctx_null(void) { return sp_group_ctx(NULL) == NULL ? 0 : -1; }

static int group_destroy_null(void)
{
    sp_group_destroy(NULL);
    return 0;
}

/* ---- Channel -------------------------------------------------------------- */

static int chan_create_null_out(void)
{
    return sp_chan_create(NULL, 8, 8);
}

static int chan_create_sized(size_t elem_size, size_t capacity)
{
    sp_chan *ch = (sp_chan *)&capacity; /* must stay untouched on failure */
    int rc = sp_chan_create(&ch, elem_size, capacity);
    if (rc == 0)
        sp_chan_destroy(ch);
    else if (ch != (sp_chan *)&capacity)
        return -1;
    return rc;
}

static int chan_create_zero_zero(void) { return chan_create_sized(0, 0); }
static int chan_create_capacity_above_max(void) { return chan_create_sized(8, ((size_t)1 << 32) + 1); }
static int chan_create_capacity_max(void) { return chan_create_sized(8, SIZE_MAX); }
static int chan_create_elem_max(void) { return chan_create_sized(SIZE_MAX, 1); }
static int chan_create_product_overflow(void) { return chan_create_sized((size_t)1 << 40, (size_t)1 << 30); }
static int chan_create_too_big_for_memory(void) { return chan_create_sized((size_t)1 << 20, (size_t)1 << 30); }

static int chan_send_null(void) { return sp_chan_send(NULL, "x", NULL); }
static int chan_recv_null(void) { char c; return sp_chan_recv(NULL, &c, NULL); }
static int chan_try_send_null(void) { return sp_chan_try_send(NULL, "x"); }
static int chan_try_recv_null(void) { char c; return sp_chan_try_recv(NULL, &c); }
static int chan_close_null(void) { return sp_chan_close(NULL); }

static int chan_destroy_null(void)
{
    sp_chan_destroy(NULL);
    return 0;
}

/* Runs step on a fresh channel of 4-byte elements, capacity 2, then
 * destroys it. */
static int chan_with(size_t elem_size, size_t capacity, int (*step)(sp_chan *ch))
{
    sp_chan *ch = chan_new(elem_size, capacity);
    if (ch == NULL)
        return -1;
    int rc = step(ch);
    sp_chan_destroy(ch);
    return rc;
}

static int send_null_elem(sp_chan *ch) { return sp_chan_send(ch, NULL, NULL); }
static int recv_null_elem(sp_chan *ch) { return sp_chan_recv(ch, NULL, NULL); }
static int try_send_null_elem(sp_chan *ch) { return sp_chan_try_send(ch, NULL); }
static int try_recv_null_elem(sp_chan *ch) { return sp_chan_try_recv(ch, NULL); }

static int tokens_null_elem(sp_chan *ch)
{
    int sent = sp_chan_send(ch, NULL, NULL);
    int received = sp_chan_recv(ch, NULL, NULL);
    return sent != 0 ? sent : received;
}

static int close_twice(sp_chan *ch)
{
    int first = sp_chan_close(ch);
    return first != 0 ? -1 : sp_chan_close(ch);
}

static int send_after_close(sp_chan *ch)
{
    sp_chan_close(ch);
    int value = 1;
    return sp_chan_send(ch, &value, NULL);
}

static int try_send_after_close(sp_chan *ch)
{
    sp_chan_close(ch);
    int value = 1;
    return sp_chan_try_send(ch, &value);
}

static int recv_after_close_drained(sp_chan *ch)
{
    int value = 7;
    if (sp_chan_send(ch, &value, NULL) != 0)
        return -1;
    sp_chan_close(ch);
    int got = 0;
    if (sp_chan_recv(ch, &got, NULL) != 0 || got != 7)
        return -1;
    return sp_chan_recv(ch, &got, NULL);
}

static int try_recv_after_close_drained(sp_chan *ch)
{
    sp_chan_close(ch);
    int got;
    return sp_chan_try_recv(ch, &got);
}

static int send_full_ctx(sp_chan *ch, sp_ctx *ctx)
{
    int value = 1;
    if (ctx == NULL || !sp_chan_try_send(ch, &value) || !sp_chan_try_send(ch, &value))
        return -1;
    int rc = sp_chan_send(ch, &value, ctx);
    sp_ctx_release(ctx);
    return rc;
}

static int send_full_canceled(sp_chan *ch) { return send_full_ctx(ch, ctx_canceled()); }
static int send_full_expired(sp_chan *ch) { return send_full_ctx(ch, ctx_expired()); }

static int recv_empty_canceled(sp_chan *ch)
{
    sp_ctx *ctx = ctx_canceled();
    int got;
    int rc = sp_chan_recv(ch, &got, ctx);
    sp_ctx_release(ctx);
    return rc;
}

static int send_room_canceled(sp_chan *ch)
{
    sp_ctx *ctx = ctx_canceled();
    int value = 1;
    int rc = sp_chan_send(ch, &value, ctx);
    sp_ctx_release(ctx);
    return rc;
}

static int unbuffered_try_send_alone(sp_chan *ch)
{
    int value = 1;
    return sp_chan_try_send(ch, &value);
}

static int chan_send_null_elem(void) { return chan_with(4, 2, send_null_elem); }
static int chan_recv_null_elem(void) { return chan_with(4, 2, recv_null_elem); }
static int chan_try_send_null_elem(void) { return chan_with(4, 2, try_send_null_elem); }
static int chan_try_recv_null_elem(void) { return chan_with(4, 2, try_recv_null_elem); }
static int chan_tokens_null_elem(void) { return chan_with(0, 2, tokens_null_elem); }
static int chan_close_twice(void) { return chan_with(4, 2, close_twice); }
static int chan_send_after_close(void) { return chan_with(4, 2, send_after_close); }
static int chan_try_send_after_close(void) { return chan_with(4, 2, try_send_after_close); }
static int chan_recv_after_close(void) { return chan_with(4, 2, recv_after_close_drained); }
static int chan_try_recv_after_close(void) { return chan_with(4, 2, try_recv_after_close_drained); }
static int chan_send_full_canceled(void) { return chan_with(4, 2, send_full_canceled); }
static int chan_send_full_expired(void) { return chan_with(4, 2, send_full_expired); }
static int chan_recv_empty_canceled(void) { return chan_with(4, 2, recv_empty_canceled); }
static int chan_send_room_canceled(void) { return chan_with(4, 2, send_room_canceled); }
static int chan_unbuffered_try_send(void) { return chan_with(4, 0, unbuffered_try_send_alone); }

/* ---- Rate limiter --------------------------------------------------------- */

static int limiter_create_null_out(void)
{
    return sp_limiter_create(NULL, 1, 1);
}

static int limiter_create_args(double rate, int64_t burst)
{
    sp_limiter *l = (sp_limiter *)&burst; /* must stay untouched on failure */
    int rc = sp_limiter_create(&l, rate, burst);
    if (rc == 0)
        sp_limiter_destroy(l);
    else if (l != (sp_limiter *)&burst)
        return -1;
    return rc;
}

static int limiter_create_negative_rate(void) { return limiter_create_args(-1, 1); }
static int limiter_create_nan_rate(void) { return limiter_create_args(NAN, 1); }
static int limiter_create_minus_infinity(void) { return limiter_create_args(-INFINITY, 1); }
static int limiter_create_negative_burst(void) { return limiter_create_args(1, -1); }
static int limiter_create_min_burst(void) { return limiter_create_args(1, INT64_MIN); }
static int limiter_create_zero_zero(void) { return limiter_create_args(0, 0); }
static int limiter_create_huge(void) { return limiter_create_args(DBL_MAX, INT64_MAX); }
static int limiter_create_tiny_rate(void) { return limiter_create_args(DBL_MIN, 1); }
static int limiter_create_infinite(void) { return limiter_create_args(INFINITY, -1); }

static int limiter_with(double rate, int64_t burst, int (*step)(sp_limiter *l))
{
    sp_limiter *l = limiter_new(rate, burst);
    if (l == NULL)
        return -1;
    int rc = step(l);
    sp_limiter_destroy(l);
    return rc;
}

static int allow_negative(sp_limiter *l) { return sp_limiter_allow(l, -1); }
static int allow_above_burst(sp_limiter *l) { return sp_limiter_allow(l, 5); }
static int allow_max(sp_limiter *l) { return sp_limiter_allow(l, INT64_MAX); }
static int allow_zero(sp_limiter *l) { return sp_limiter_allow(l, 0); }
static int allow_at_negative_time(sp_limiter *l) { return sp_limiter_allow_at(l, 1, -1); }
static int allow_at_max_time(sp_limiter *l) { return sp_limiter_allow_at(l, 1, INT64_MAX); }
static int allow_at_zero_time(sp_limiter *l) { return sp_limiter_allow_at(l, 1, 0); }
static int wait_negative(sp_limiter *l) { return sp_limiter_wait(l, -1, NULL); }
static int wait_above_burst(sp_limiter *l) { return sp_limiter_wait(l, 5, NULL); }

static int wait_canceled(sp_limiter *l)
{
    sp_ctx *ctx = ctx_canceled();
    int rc = sp_limiter_wait(l, 1, ctx);
    sp_ctx_release(ctx);
    return rc;
}

static int wait_expired(sp_limiter *l)
{
    sp_ctx *ctx = ctx_expired();
    int rc = sp_limiter_wait(l, 1, ctx);
    sp_ctx_release(ctx);
    return rc;
}

static int reserve_null_r(sp_limiter *l) { return sp_limiter_reserve(l, 1, NULL); }

static int reserve_keeps_r(sp_limiter *l, int64_t n, int64_t now)
{
    sp_reservation r;
    memset(&r, 0x5a, sizeof r);
    sp_reservation copy = r;
    int rc = sp_limiter_reserve_at(l, n, now, &r);
    if (rc != 0 && memcmp(&r, &copy, sizeof r) != 0)
        return -1;
    return rc;
}

static int reserve_negative(sp_limiter *l) { return reserve_keeps_r(l, -1, sp_now_ns()); }
static int reserve_above_burst(sp_limiter *l) { return reserve_keeps_r(l, 5, sp_now_ns()); }
static int reserve_negative_time(sp_limiter *l) { return reserve_keeps_r(l, 1, -1); }

static int reserve_rate_zero_never(sp_limiter *l)
{
    sp_reservation r;
    if (sp_limiter_reserve(l, 1, &r) != 0 || r.delay_ns != 0)
        return -1;
    int rc = sp_limiter_reserve(l, 1, &r);
    return rc != 0 ? rc : r.delay_ns == INT64_MAX ? 0 : -1;
}

static int cancel_twice(sp_limiter *l)
{
    sp_reservation r;
    int64_t now = sp_now_ns();
    if (sp_limiter_reserve_at(l, 4, now, &r) != 0)
        return -1;
    if (sp_limiter_reserve_at(l, 4, now, &r) != 0)
        return -1;
    sp_reservation_cancel_at(&r, now);
    double after_first = sp_limiter_tokens_at(l, now);
    sp_reservation_cancel_at(&r, now);
    double after_second = sp_limiter_tokens_at(l, now);
    return after_first == after_second ? 0 : -1;
}

static int tokens_negative_time(sp_limiter *l) { return (int)sp_limiter_tokens_at(l, -1); }

static int set_rate_invalid(sp_limiter *l, double rate)
{
    int64_t now = sp_now_ns();
    double before = sp_limiter_tokens_at(l, now);
    sp_limiter_set_rate(l, rate);
    return sp_limiter_tokens_at(l, now) == before && sp_limiter_allow(l, 1) ? 0 : -1;
}

static int set_rate_negative(sp_limiter *l) { return set_rate_invalid(l, -2); }
static int set_rate_nan(sp_limiter *l) { return set_rate_invalid(l, NAN); }

static int set_burst_negative(sp_limiter *l)
{
    sp_limiter_set_burst(l, -1);
    return sp_limiter_allow(l, 4) ? 0 : -1;
}

static int limiter_allow_null(void) { return sp_limiter_allow(NULL, 1); }
static int limiter_allow_negative(void) { return limiter_with(10, 4, allow_negative); }
static int limiter_allow_above_burst(void) { return limiter_with(10, 4, allow_above_burst); }
static int limiter_allow_max(void) { return limiter_with(10, 4, allow_max); }
static int limiter_allow_max_infinite(void) { return limiter_with(INFINITY, 0, allow_max); }
static int limiter_allow_zero(void) { return limiter_with(10, 4, allow_zero); }
static int limiter_allow_at_null(void) { return sp_limiter_allow_at(NULL, 1, 0); }
static int limiter_allow_at_negative_time(void) { return limiter_with(10, 4, allow_at_negative_time); }
static int limiter_allow_at_max_time(void) { return limiter_with(10, 4, allow_at_max_time); }
static int limiter_allow_at_zero_time(void) { return limiter_with(10, 4, allow_at_zero_time); }
static int limiter_wait_null(void) { return sp_limiter_wait(NULL, 1, NULL); }
static int limiter_wait_negative(void) { return limiter_with(10, 4, wait_negative); }
static int limiter_wait_above_burst(void) { return limiter_with(10, 4, wait_above_burst); }
static int limiter_wait_canceled(void) { return limiter_with(10, 4, wait_canceled); }
static int limiter_wait_expired_rate_zero(void) { return limiter_with(0, 0, wait_expired); }
static int limiter_reserve_null(void) { sp_reservation r; return sp_limiter_reserve(NULL, 1, &r); }
static int limiter_reserve_null_r(void) { return limiter_with(10, 4, reserve_null_r); }
static int limiter_reserve_negative(void) { return limiter_with(10, 4, reserve_negative); }
static int limiter_reserve_above_burst(void) { return limiter_with(10, 4, reserve_above_burst); }
static int limiter_reserve_negative_time(void) { return limiter_with(10, 4, reserve_negative_time); }
static int limiter_reserve_rate_zero(void) { return limiter_with(0, 1, reserve_rate_zero_never); }

static int limiter_cancel_null(void)
{
    sp_reservation_cancel(NULL);
    sp_reservation_cancel_at(NULL, 0);
    return 0;
}

static int limiter_cancel_zeroed(void)
{
    sp_reservation r;
    memset(&r, 0, sizeof r);
    sp_reservation_cancel(&r);
    return 0;
}

static int limiter_cancel_twice(void) { return limiter_with(1, 4, cancel_twice); }
static int limiter_tokens_null(void) { return (int)sp_limiter_tokens_at(NULL, 0); }
static int limiter_tokens_negative_time(void) { return limiter_with(10, 4, tokens_negative_time); }

static int limiter_set_rate_null(void)
{
    sp_limiter_set_rate(NULL, 1);
    return 0;
}

static int limiter_set_rate_negative(void) { return limiter_with(10, 4, set_rate_negative); }
static int limiter_set_rate_nan(void) { return limiter_with(10, 4, set_rate_nan); }

static int limiter_set_burst_null(void)
{
    sp_limiter_set_burst(NULL, 1);
    return 0;
}

static int limiter_set_burst_negative(void) { return limiter_with(10, 4, set_burst_negative); }

static int limiter_destroy_null(void)
{
    sp_limiter_destroy(NULL);
    return 0;
}

/* ---- The table ------------------------------------------------------------ */

typedef struct bad_case {
    const char *function; /* the public function under test */
    const char *input;    /* the bad argument, in words */
    int (*run)(void);     /* returns the observed result */
    int         expected; /* errno value, 0, or 1/0 for bool */
    int         logs;     /* log lines the call must write */
    const char *log_word; /* must appear in the line; NULL: the function name */
} bad_case;

#define ROW(fn, input, run, expected, logs) {fn, input, run, expected, logs, NULL}
#define ROW_LOG(fn, input, run, expected, logs, word) {fn, input, run, expected, logs, word}

static const bad_case cases[] = {
    /* pool.h: logging and configuration */
    ROW("sp_set_log", "fn NULL restores stderr", set_log_null_restores_default, 0, 0),
    ROW("sp_config_init", "cfg NULL", config_init_null, 0, 0),
    ROW("sp_config_from_env", "cfg NULL", config_from_env_null, EINVAL, 1),
    ROW_LOG("sp_config_from_env", "SP_WORKERS empty", env_workers_empty, EINVAL, 1, "SP_WORKERS"),
    ROW_LOG("sp_config_from_env", "SP_WORKERS=0", env_workers_zero, EINVAL, 1, "SP_WORKERS"),
    ROW_LOG("sp_config_from_env", "SP_WORKERS=-1", env_workers_negative, EINVAL, 1, "SP_WORKERS"),
    ROW_LOG("sp_config_from_env", "SP_WORKERS=4097", env_workers_above_max, EINVAL, 1, "SP_WORKERS"),
    ROW_LOG("sp_config_from_env", "SP_WORKERS=10^23", env_workers_overflow, EINVAL, 1, "SP_WORKERS"),
    ROW_LOG("sp_config_from_env", "SP_WORKERS=\" 4\"", env_workers_space, EINVAL, 1, "SP_WORKERS"),
    ROW_LOG("sp_config_from_env", "SP_WORKERS=4x", env_workers_trailing, EINVAL, 1, "SP_WORKERS"),
    ROW_LOG("sp_config_from_env", "SP_PIN=all", env_pin_word, EINVAL, 1, "SP_PIN"),
    ROW_LOG("sp_config_from_env", "SP_PIN=3-1", env_pin_bad_range, EINVAL, 1, "SP_PIN"),
    ROW_LOG("sp_config_from_env", "SP_PIN=1000000", env_pin_huge_cpu, EINVAL, 1, "SP_PIN"),
    ROW_LOG("sp_config_from_env", "SP_PIN=0,", env_pin_trailing_comma, EINVAL, 1, "SP_PIN"),
    ROW_LOG("sp_config_from_env", "SP_SPIN_US=1000001", env_spin_above_max, EINVAL, 1, "SP_SPIN_US"),
    ROW_LOG("sp_config_from_env", "SP_SPIN_US=-5", env_spin_negative, EINVAL, 1, "SP_SPIN_US"),
    ROW_LOG("sp_config_from_env", "SP_DEQUE_CAPACITY=24", env_deque_not_power, EINVAL, 1, "SP_DEQUE_CAPACITY"),
    ROW_LOG("sp_config_from_env", "SP_DEQUE_CAPACITY=8", env_deque_below_min, EINVAL, 1, "SP_DEQUE_CAPACITY"),
    ROW_LOG("sp_config_from_env", "SP_DEQUE_CAPACITY=2^25", env_deque_above_max, EINVAL, 1, "SP_DEQUE_CAPACITY"),
    ROW_LOG("sp_config_from_env", "SP_STATS=2", env_stats_two, EINVAL, 1, "SP_STATS"),
    ROW_LOG("sp_config_from_env", "SP_STATS=yes", env_stats_word, EINVAL, 1, "SP_STATS"),
    ROW_LOG("sp_config_from_env", "SP_STEAL_BARRIER=mfence", env_barrier_word, EINVAL, 1,
            "SP_STEAL_BARRIER"),
    ROW_LOG("sp_config_from_env", "SP_STEAL_BARRIER empty", env_barrier_empty, EINVAL, 1,
            "SP_STEAL_BARRIER"),
    ROW("sp_config_env_entries", "out NULL, n 100", env_entries_null_out, 0, 0),
    ROW("sp_config_env_entries", "n 0", env_entries_zero_n, 0, 0),
    ROW("sp_config_plan", "plan NULL", plan_null_plan, EINVAL, 1),
    ROW("sp_config_plan", "cpus NULL, n 8", plan_null_cpus, 0, 0),
    ROW_LOG("sp_config_plan", "workers 4097", plan_workers_above_max, EINVAL, 1,
            "sp_config_plan: invalid workers"),
    ROW_LOG("sp_config_plan", "workers UINT_MAX", plan_workers_huge, EINVAL, 1, "workers"),
    ROW_LOG("sp_config_plan", "spin_us 1000001", plan_spin_above_max, EINVAL, 1, "spin_us"),
    ROW_LOG("sp_config_plan", "deque_capacity 0", plan_deque_zero, EINVAL, 1, "deque_capacity"),
    ROW_LOG("sp_config_plan", "deque_capacity 100", plan_deque_not_power, EINVAL, 1,
            "sp_config_plan: invalid deque_capacity"),
    ROW_LOG("sp_config_plan", "deque_capacity 2^31", plan_deque_huge, EINVAL, 1, "deque_capacity"),
    ROW_LOG("sp_config_plan", "pin 99", plan_pin_unknown, EINVAL, 1, "pin mode"),
    ROW_LOG("sp_config_plan", "SP_PIN_LIST, cpu_list NULL", plan_pin_list_null, EINVAL, 1, "cpu_list"),
    ROW_LOG("sp_config_plan", "cpu_list \"zero\"", plan_pin_list_garbage, EINVAL, 1, "cpu_list"),
    ROW_LOG("sp_config_plan", "cpu_list outside the mask", plan_pin_list_outside, EINVAL, 1,
            "(allowed CPUs: "),
    ROW("sp_build_info", "none (static strings)", build_info_not_null, 1, 0),

    /* pool.h: pools and tasks */
    ROW("sp_pool_create", "out NULL", pool_create_null_out, EINVAL, 1),
    ROW_LOG("sp_pool_create", "workers 4097", pool_create_workers_above_max, EINVAL, 1,
            "sp_pool_create: invalid workers"),
    ROW_LOG("sp_pool_create", "deque_capacity 100", pool_create_deque_not_power, EINVAL, 1,
            "sp_pool_create: invalid deque_capacity"),
    ROW_LOG("sp_pool_create", "pin 99", pool_create_pin_unknown, EINVAL, 1, "pin mode"),
    ROW_LOG("sp_pool_create", "cpu_list \"zero\"", pool_create_pin_list_garbage, EINVAL, 1, "cpu_list"),
    ROW_LOG("sp_pool_create", "cfg NULL, SP_SPIN_US=lots", pool_create_env_invalid, 0, 1, "SP_SPIN_US"),
    ROW("sp_pool_destroy", "pool NULL", pool_destroy_null, EINVAL, 1),
    ROW("sp_pool_destroy", "the default pool", pool_destroy_default, EINVAL, 1),
    ROW("sp_pool_destroy", "from its own worker", pool_destroy_from_own_worker, EBUSY, 1),
    ROW("sp_pool_workers", "pool NULL", pool_workers_null, 0, 0),
    ROW("sp_submit", "pool NULL", submit_null_pool, EINVAL, 1),
    ROW("sp_submit", "fn NULL", submit_null_fn, EINVAL, 1),
    ROW("sp_pool_run", "pool NULL", pool_run_null_pool, EINVAL, 1),
    ROW("sp_pool_run", "fn NULL", pool_run_null_fn, EINVAL, 1),
    ROW("sp_join", "fa and fb NULL (functions run)", join_null_both, 0, 1),
    ROW("sp_join", "fa NULL (functions run)", join_null_fa, 1, 1),
    ROW("sp_join", "fb NULL (functions run)", join_null_fb, 1, 1),
    ROW("sp_parallel_for", "body NULL", parallel_for_null_body, EINVAL, 1),
    ROW("sp_parallel_for", "begin > end", parallel_for_reversed, EINVAL, 1),
    ROW("sp_parallel_for", "begin == end", parallel_for_empty, 0, 0),
    ROW("sp_parallel_for", "[0, SIZE_MAX), grain SIZE_MAX", parallel_for_huge_grain, 0, 0),
    ROW("sp_parallel_for", "pool NULL (default pool)", parallel_for_null_pool, 0, 0),
    ROW("sp_worker_index", "outside a worker", worker_index_outside, -1, 0),

    /* stats.h */
    ROW("sp_pool_stats", "pool NULL", stats_null_pool, -EINVAL, 1),
    ROW("sp_pool_stats", "total and per_worker NULL", stats_null_outputs, 0, 0),
    ROW("sp_pool_stats", "n 0", stats_zero_n, 0, 0),

    /* ctx.h */
    ROW_LOG("sp_ctx_with_cancel", "out NULL", ctx_with_cancel_null_out, EINVAL, 1, "sp_ctx_with_"),
    ROW_LOG("sp_ctx_with_deadline", "out NULL", ctx_with_deadline_null_out, EINVAL, 1, "sp_ctx_with_"),
    ROW_LOG("sp_ctx_with_timeout", "out NULL", ctx_with_timeout_null_out, EINVAL, 1, "sp_ctx_with_"),
    ROW("sp_ctx_with_cancel", "parent NULL (background)", ctx_null_parent, 0, 0),
    ROW("sp_ctx_with_cancel", "parent canceled", ctx_child_of_canceled, ECANCELED, 0),
    ROW("sp_ctx_with_deadline", "deadline -1", ctx_negative_deadline, ETIMEDOUT, 0),
    ROW("sp_ctx_with_deadline", "deadline INT64_MIN", ctx_min_deadline, ETIMEDOUT, 0),
    ROW("sp_ctx_with_timeout", "timeout 0", ctx_zero_timeout, ETIMEDOUT, 0),
    ROW("sp_ctx_with_timeout", "timeout INT64_MIN", ctx_min_timeout, ETIMEDOUT, 0),
    ROW("sp_ctx_with_timeout", "timeout INT64_MAX", ctx_max_timeout, 0, 0),
    ROW("sp_ctx_with_timeout", "timeout INT64_MAX: no deadline", ctx_max_timeout_deadline, 0, 0),
    ROW("sp_ctx_cancel", "ctx NULL", ctx_cancel_null, 0, 0),
    ROW("sp_ctx_cancel", "the background context", ctx_cancel_background, 0, 0),
    ROW("sp_ctx_cancel", "already canceled", ctx_cancel_twice, ECANCELED, 0),
    ROW("sp_ctx_err", "ctx NULL", ctx_err_null, 0, 0),
    ROW("sp_ctx_deadline", "ctx NULL", ctx_deadline_null, 0, 0),
    ROW("sp_ctx_release", "NULL and the background context", ctx_release_null, 0, 0),

    /* sem.h */
    ROW("sp_sem_create", "out NULL", sem_create_null_out, EINVAL, 1),
    ROW("sp_sem_create", "capacity 0", sem_create_zero, EINVAL, 1),
    ROW("sp_sem_create", "capacity -1", sem_create_negative, EINVAL, 1),
    ROW("sp_sem_create", "capacity INT64_MIN", sem_create_min, EINVAL, 1),
    ROW("sp_sem_create", "capacity INT64_MAX", sem_create_max, 0, 0),
    ROW("sp_sem_destroy", "sem NULL", sem_destroy_null, 0, 0),
    ROW("sp_sem_destroy", "a request still queued", sem_destroy_with_queued, 0, 1),
    ROW_LOG("sp_sem_acquire", "sem NULL", sem_acquire_null, EINVAL, 1, "sem is NULL"),
    ROW_LOG("sp_sem_acquire", "n 0", sem_acquire_zero, EINVAL, 1, "is outside 1.."),
    ROW("sp_sem_acquire", "n -1", sem_acquire_negative, EINVAL, 1),
    ROW("sp_sem_acquire", "n INT64_MIN", sem_acquire_min, EINVAL, 1),
    ROW("sp_sem_acquire", "n capacity + 1", sem_acquire_above_capacity, EINVAL, 1),
    ROW("sp_sem_acquire", "n INT64_MAX", sem_acquire_max, EINVAL, 1),
    ROW("sp_sem_acquire", "n = capacity = INT64_MAX", sem_acquire_max_of_max, 0, 0),
    ROW("sp_sem_acquire", "ctx canceled, units free", sem_acquire_canceled, ECANCELED, 0),
    ROW("sp_sem_acquire", "ctx expired, units free", sem_acquire_expired, ETIMEDOUT, 0),
    ROW("sp_sem_try_acquire", "sem NULL", sem_try_acquire_null, false, 1),
    ROW("sp_sem_try_acquire", "n 0", sem_try_acquire_zero, false, 1),
    ROW("sp_sem_try_acquire", "n -3", sem_try_acquire_negative, false, 1),
    ROW("sp_sem_try_acquire", "n capacity + 1", sem_try_acquire_above_capacity, false, 1),
    ROW_LOG("sp_sem_release", "sem NULL", sem_release_null, EINVAL, 1, "sem is NULL"),
    ROW_LOG("sp_sem_release", "n 0", sem_release_zero, EINVAL, 1, "must be at least 1"),
    ROW("sp_sem_release", "n -1", sem_release_negative, EINVAL, 1),
    ROW_LOG("sp_sem_release", "more than held", sem_release_more_than_held, EINVAL, 1,
            "more released than held"),
    ROW("sp_sem_release", "nothing held", sem_release_none_held, EINVAL, 1),
    ROW("sp_sem_release", "n INT64_MAX", sem_release_max, EINVAL, 1),
    ROW("sp_sem_release", "sum past INT64_MAX", sem_release_overflow, EINVAL, 1),
    ROW("sp_sem_available", "sem NULL", sem_available_null, 0, 0),
    ROW("sp_sem_submit", "sem NULL", sem_submit_null_sem, EINVAL, 1),
    ROW("sp_sem_submit", "pool NULL", sem_submit_null_pool, EINVAL, 1),
    ROW("sp_sem_submit", "fn NULL", sem_submit_null_fn, EINVAL, 1),
    ROW("sp_sem_submit", "n 0", sem_submit_zero, EINVAL, 1),
    ROW("sp_sem_submit", "n -1", sem_submit_negative, EINVAL, 1),
    ROW("sp_sem_submit", "n capacity + 1", sem_submit_above_capacity, EINVAL, 1),

    /* group.h */
    ROW("sp_group_create", "out NULL", group_create_null_out, EINVAL, 1),
    ROW("sp_group_create", "pool NULL (default pool)", group_create_null_pool, 0, 0),
    ROW("sp_group_set_limit", "group NULL", group_set_limit_null, EINVAL, 1),
    ROW("sp_group_set_limit", "limit 0", group_set_limit_zero, EINVAL, 1),
    ROW("sp_group_set_limit", "limit -1 (no limit)", group_set_limit_negative, 0, 0),
    ROW("sp_group_set_limit", "limit INT_MIN (no limit)", group_set_limit_min, 0, 0),
    ROW("sp_group_set_limit", "limit INT_MAX", group_set_limit_max, 0, 0),
    ROW("sp_group_set_limit", "a task still a member", group_set_limit_busy, EBUSY, 0),
    ROW("sp_group_go", "group NULL", group_go_null_group, EINVAL, 1),
    ROW("sp_group_go", "fn NULL", group_go_null_fn, EINVAL, 1),
    ROW("sp_group_try_go", "group NULL", group_try_go_null_group, false, 1),
    ROW("sp_group_try_go", "fn NULL", group_try_go_null_fn, false, 1),
    ROW("sp_group_wait", "group NULL", group_wait_null, EINVAL, 1),
    ROW("sp_group_wait", "called twice", group_wait_twice, 0, 0),
    ROW("sp_group_ctx", "group NULL", group_ctx_null, 0, 1),
    ROW("sp_group_destroy", "group NULL", group_destroy_null, 0, 0),

    /* chan.h */
    ROW("sp_chan_create", "out NULL", chan_create_null_out, EINVAL, 1),
    ROW("sp_chan_create", "elem_size 0, capacity 0", chan_create_zero_zero, 0, 0),
    ROW("sp_chan_create", "capacity 2^32 + 1", chan_create_capacity_above_max, EINVAL, 1),
    ROW("sp_chan_create", "capacity SIZE_MAX", chan_create_capacity_max, EINVAL, 1),
    ROW("sp_chan_create", "elem_size SIZE_MAX", chan_create_elem_max, EINVAL, 1),
    ROW("sp_chan_create", "elem_size * capacity overflows", chan_create_product_overflow, EINVAL, 1),
    ROW("sp_chan_create", "2^50 bytes", chan_create_too_big_for_memory, ENOMEM, 0),
    ROW("sp_chan_send", "ch NULL", chan_send_null, EINVAL, 1),
    ROW("sp_chan_send", "elem NULL, elem_size 4", chan_send_null_elem, EINVAL, 1),
    ROW("sp_chan_send", "elem NULL, elem_size 0", chan_tokens_null_elem, 0, 0),
    ROW("sp_chan_send", "closed", chan_send_after_close, EPIPE, 0),
    ROW("sp_chan_send", "full, ctx canceled", chan_send_full_canceled, ECANCELED, 0),
    ROW("sp_chan_send", "full, ctx expired", chan_send_full_expired, ETIMEDOUT, 0),
    ROW("sp_chan_send", "room, ctx canceled", chan_send_room_canceled, 0, 0),
    ROW("sp_chan_recv", "ch NULL", chan_recv_null, EINVAL, 1),
    ROW("sp_chan_recv", "elem NULL, elem_size 4", chan_recv_null_elem, EINVAL, 1),
    ROW("sp_chan_recv", "closed and drained", chan_recv_after_close, EPIPE, 0),
    ROW("sp_chan_recv", "empty, ctx canceled", chan_recv_empty_canceled, ECANCELED, 0),
    ROW("sp_chan_try_send", "ch NULL", chan_try_send_null, false, 1),
    ROW("sp_chan_try_send", "elem NULL, elem_size 4", chan_try_send_null_elem, false, 1),
    ROW("sp_chan_try_send", "closed", chan_try_send_after_close, false, 0),
    ROW("sp_chan_try_send", "unbuffered, no receiver", chan_unbuffered_try_send, false, 0),
    ROW("sp_chan_try_recv", "ch NULL", chan_try_recv_null, false, 1),
    ROW("sp_chan_try_recv", "elem NULL, elem_size 4", chan_try_recv_null_elem, false, 1),
    ROW("sp_chan_try_recv", "closed and drained", chan_try_recv_after_close, false, 0),
    ROW("sp_chan_close", "ch NULL", chan_close_null, EINVAL, 1),
    ROW("sp_chan_close", "already closed", chan_close_twice, EPIPE, 0),
    ROW("sp_chan_destroy", "ch NULL", chan_destroy_null, 0, 0),

    /* limiter.h */
    ROW("sp_limiter_create", "out NULL", limiter_create_null_out, EINVAL, 1),
    ROW("sp_limiter_create", "rate -1", limiter_create_negative_rate, EINVAL, 1),
    ROW("sp_limiter_create", "rate NaN", limiter_create_nan_rate, EINVAL, 1),
    ROW("sp_limiter_create", "rate -INFINITY", limiter_create_minus_infinity, EINVAL, 1),
    ROW("sp_limiter_create", "burst -1", limiter_create_negative_burst, EINVAL, 1),
    ROW("sp_limiter_create", "burst INT64_MIN", limiter_create_min_burst, EINVAL, 1),
    ROW("sp_limiter_create", "rate 0, burst 0", limiter_create_zero_zero, 0, 0),
    ROW("sp_limiter_create", "rate DBL_MAX, burst INT64_MAX", limiter_create_huge, 0, 0),
    ROW("sp_limiter_create", "rate DBL_MIN", limiter_create_tiny_rate, 0, 0),
    ROW("sp_limiter_create", "rate INFINITY, burst -1", limiter_create_infinite, EINVAL, 1),
    ROW("sp_limiter_allow", "limiter NULL", limiter_allow_null, false, 1),
    ROW("sp_limiter_allow", "n -1", limiter_allow_negative, false, 1),
    ROW("sp_limiter_allow", "n above burst", limiter_allow_above_burst, false, 1),
    ROW("sp_limiter_allow", "n INT64_MAX", limiter_allow_max, false, 1),
    ROW("sp_limiter_allow", "n INT64_MAX, rate INFINITY", limiter_allow_max_infinite, true, 0),
    ROW("sp_limiter_allow", "n 0", limiter_allow_zero, true, 0),
    ROW("sp_limiter_allow_at", "limiter NULL", limiter_allow_at_null, false, 1),
    ROW("sp_limiter_allow_at", "now -1", limiter_allow_at_negative_time, false, 1),
    ROW("sp_limiter_allow_at", "now INT64_MAX", limiter_allow_at_max_time, true, 0),
    ROW("sp_limiter_allow_at", "now 0", limiter_allow_at_zero_time, true, 0),
    ROW("sp_limiter_wait", "limiter NULL", limiter_wait_null, EINVAL, 1),
    ROW("sp_limiter_wait", "n -1", limiter_wait_negative, EINVAL, 1),
    ROW("sp_limiter_wait", "n above burst", limiter_wait_above_burst, EINVAL, 1),
    ROW("sp_limiter_wait", "ctx canceled", limiter_wait_canceled, ECANCELED, 0),
    ROW("sp_limiter_wait", "rate 0, burst 0, ctx expired", limiter_wait_expired_rate_zero, ETIMEDOUT, 0),
    ROW_LOG("sp_limiter_reserve", "limiter NULL", limiter_reserve_null, EINVAL, 1, "sp_limiter_reserve"),
    ROW_LOG("sp_limiter_reserve", "r NULL", limiter_reserve_null_r, EINVAL, 1, "sp_limiter_reserve"),
    ROW("sp_limiter_reserve_at", "n -1", limiter_reserve_negative, EINVAL, 1),
    ROW("sp_limiter_reserve_at", "n above burst", limiter_reserve_above_burst, EINVAL, 1),
    ROW("sp_limiter_reserve_at", "now -1", limiter_reserve_negative_time, EINVAL, 1),
    ROW("sp_limiter_reserve", "rate 0, tokens used up", limiter_reserve_rate_zero, 0, 0),
    ROW("sp_reservation_cancel", "r NULL", limiter_cancel_null, 0, 0),
    ROW("sp_reservation_cancel", "r zeroed", limiter_cancel_zeroed, 0, 0),
    ROW("sp_reservation_cancel", "already canceled", limiter_cancel_twice, 0, 0),
    ROW("sp_limiter_tokens_at", "limiter NULL", limiter_tokens_null, 0, 1),
    ROW("sp_limiter_tokens_at", "now -1", limiter_tokens_negative_time, 0, 1),
    ROW("sp_limiter_set_rate", "limiter NULL", limiter_set_rate_null, 0, 1),
    ROW("sp_limiter_set_rate", "rate -2", limiter_set_rate_negative, 0, 1),
    ROW("sp_limiter_set_rate", "rate NaN", limiter_set_rate_nan, 0, 1),
    ROW("sp_limiter_set_burst", "limiter NULL", limiter_set_burst_null, 0, 1),
    ROW("sp_limiter_set_burst", "burst -1", limiter_set_burst_negative, 0, 1),
    ROW("sp_limiter_destroy", "limiter NULL", limiter_destroy_null, 0, 0),
};

static bool run_case(const bad_case *c)
{
    atomic_store_explicit(&log_lines, 0, memory_order_relaxed);
    last_line[0] = '\0';

    int observed = c->run();
    int lines = atomic_load_explicit(&log_lines, memory_order_relaxed);
    const char *word = c->log_word != NULL ? c->log_word : c->function;

    bool ok = true;
    if (observed != c->expected) {
        fprintf(stderr, "%s(%s): returned %d, expected %d\n", c->function, c->input, observed,
                c->expected);
        ok = false;
    }
    if (lines != c->logs) {
        fprintf(stderr, "%s(%s): wrote %d log line(s), expected %d; last: \"%s\"\n",
                c->function, c->input, lines, c->logs, last_line);
        ok = false;
    }
    if (c->logs == 1 && lines == 1 && strstr(last_line, word) == NULL) {
        fprintf(stderr, "%s(%s): log line \"%s\" does not name \"%s\"\n", c->function,
                c->input, last_line, word);
        ok = false;
    }
    return ok;
}

static void bad_input_table(void)
{
    size_t count = sizeof cases / sizeof cases[0];
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        if (!run_case(&cases[i]))
            failed++;
    }
    CHECK_EQ(failed, 0);
    fprintf(stderr, "%zu rows, %d failed\n", count, failed);
}

int main(void)
{
    sp_set_log(count_log, NULL);

    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 2;
    cfg.pin = SP_PIN_NONE;
    if (sp_pool_create(&pool, &cfg) != 0) {
        fprintf(stderr, "the pool for the tests could not be created\n");
        return 1;
    }
    /* The default pool exists before any row, so that no row logs its
     * creation. */
    if (sp_default_pool() == NULL) {
        fprintf(stderr, "the default pool could not be created\n");
        return 1;
    }

    RUN_TEST(bad_input_table);

    sp_pool_destroy(pool);
    sp_set_log(NULL, NULL);
    return check_exit_code();
}
