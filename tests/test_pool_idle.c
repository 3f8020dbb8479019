/* Idle pools: CPU time while nothing runs, under a trickle of small tasks,
 * and the latency of waking a parked worker. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include <stealpool.h>

#include "config.h"
#include "sched/pool_internal.h"

#include "check.h"
#include "log_capture.h"
#include "test_support.h"

/* Process CPU time (user + system) in nanoseconds. */
static int64_t process_cpu_ns(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return -1;
    int64_t user = (int64_t)usage.ru_utime.tv_sec * 1000000000 + usage.ru_utime.tv_usec * 1000;
    int64_t sys = (int64_t)usage.ru_stime.tv_sec * 1000000000 + usage.ru_stime.tv_usec * 1000;
    return user + sys;
}

static _Atomic uint64_t counter;

static void count_task(void *arg)
{
    (void)arg;
    /* relaxed: only the count matters, and it is polled */
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

/* Submits n counting tasks and waits, with a bound, until all have run. */
static void run_short_tasks(sp_pool *pool, uint64_t n)
{
    uint64_t start = atomic_load_explicit(&counter, memory_order_relaxed);
    for (uint64_t i = 0; i < n; i++)
        CHECK_EQ(sp_submit(pool, count_task, NULL), 0);

    int64_t deadline = test_now_ns() + 10000000000LL * sp_test_scale();
    while (atomic_load_explicit(&counter, memory_order_relaxed) - start < n &&
           test_now_ns() < deadline)
        test_sleep_ns(1000000);
    CHECK_EQ(atomic_load_explicit(&counter, memory_order_relaxed) - start, n);
}

/* Returns the process CPU time used while the caller sleeps for window_ns. */
static int64_t idle_cpu_ns(int64_t window_ns)
{
    int64_t before = process_cpu_ns();
    test_sleep_ns(window_ns);
    return process_cpu_ns() - before;
}

/* Time that lets every worker finish spinning and park: the spin time plus
 * a margin for a busy machine. */
static int64_t settle_ns(unsigned spin_us)
{
    return (int64_t)spin_us * 1000 + 50000000;
}

static void idle_default_spin_cpu_bounded(void)
{
    sp_pool *pool = make_pool_spin(4, SP_SPIN_US_DEFAULT);
    run_short_tasks(pool, 100);
    test_sleep_ns(settle_ns(SP_SPIN_US_DEFAULT));

    int64_t used = idle_cpu_ns(2000000000);
    fprintf(stderr, "  4 workers, spin %u us: %.2f ms CPU over 2 s idle\n", SP_SPIN_US_DEFAULT,
            (double)used / 1e6);
    CHECK_LT(used, 200000000);

    CHECK_EQ(sp_pool_destroy(pool), 0);
}

static void idle_no_spin_cpu_bounded(void)
{
    sp_pool *pool = make_pool_spin(4, 0);
    run_short_tasks(pool, 100);
    test_sleep_ns(settle_ns(0));

    int64_t used = idle_cpu_ns(2000000000);
    fprintf(stderr, "  4 workers, spin 0 us: %.2f ms CPU over 2 s idle\n", (double)used / 1e6);
    CHECK_LT(used, 50000000);

    CHECK_EQ(sp_pool_destroy(pool), 0);
}

static void idle_default_pool_under_two_percent(void)
{
    sp_pool *pool = NULL;
    sp_config cfg;
    sp_config_init(&cfg);
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);
    run_short_tasks(pool, 100);
    test_sleep_ns(settle_ns(cfg.spin_us));

    int64_t used = idle_cpu_ns(1000000000);
    fprintf(stderr, "  %u workers (one per CPU): %.2f ms CPU over 1 s idle\n",
            sp_pool_workers(pool), (double)used / 1e6);
    CHECK_LT(used, 20000000);

    CHECK_EQ(sp_pool_destroy(pool), 0);
}

static void busy_100us(void *arg)
{
    (void)arg;
    int64_t end = test_now_ns() + 100000;
    while (test_now_ns() < end) {
    }
    count_task(NULL);
}

static void idle_trickle_cpu_bounded(void)
{
    const uint64_t tasks = 1000; /* one every 2 ms for 2 s */
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, NULL), 0);
    uint64_t start_count = atomic_load_explicit(&counter, memory_order_relaxed);

    int64_t cpu_before = process_cpu_ns();
    int64_t next = test_now_ns();
    for (uint64_t i = 0; i < tasks; i++) {
        CHECK_EQ(sp_submit(pool, busy_100us, NULL), 0);
        next += 2000000;
        int64_t now = test_now_ns();
        if (next > now)
            test_sleep_ns(next - now);
    }
    int64_t deadline = test_now_ns() + 10000000000LL * sp_test_scale();
    while (atomic_load_explicit(&counter, memory_order_relaxed) - start_count < tasks &&
           test_now_ns() < deadline)
        test_sleep_ns(1000000);
    int64_t used = process_cpu_ns() - cpu_before;

    fprintf(stderr, "  trickle of %" PRIu64 " tasks of 100 us on %u workers: %.1f ms CPU\n",
            tasks, sp_pool_workers(pool), (double)used / 1e6);
    CHECK_EQ(atomic_load_explicit(&counter, memory_order_relaxed) - start_count, tasks);
    CHECK_LT(used, 1500000000);

    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* One submit-to-start measurement. */
typedef struct wake_probe {
    sem_t   started;
    int64_t start_ns;
} wake_probe;

static void probe_task(void *arg)
{
    wake_probe *probe = arg;
    probe->start_ns = test_now_ns();
    sem_post(&probe->started);
}

/* Returns the submit-to-start latency in ns, or -1 on a timeout. */
static int64_t measure_wake(sp_pool *pool, wake_probe *probe)
{
    int64_t submitted = test_now_ns();
    CHECK_EQ(sp_submit(pool, probe_task, probe), 0);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5 * sp_test_scale();
    while (sem_timedwait(&probe->started, &deadline) != 0) {
        if (errno != EINTR)
            return -1;
    }
    /* sem_post in the task happens before sem_timedwait returns, so
     * start_ns is visible here. */
    return probe->start_ns - submitted;
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts samples and returns the value at the given fraction (0..1). */
static int64_t percentile(int64_t *samples, size_t n, double fraction)
{
    qsort(samples, n, sizeof *samples, compare_int64);
    size_t index = (size_t)(fraction * (double)(n - 1) + 0.5);
    return samples[index];
}

static void idle_wake_latency_bounded(void)
{
    enum { PARKED_SAMPLES = 25, BACK_TO_BACK = 100 };
    const int64_t scale = sp_test_scale();
    sp_pool *pool = make_pool_spin(4, 0);
    wake_probe probe;
    sem_init(&probe.started, 0, 0);

    /* The first sample follows 500 ms idle, the rest 100 ms each. */
    int64_t parked[PARKED_SAMPLES];
    int timeouts = 0;
    for (int i = 0; i < PARKED_SAMPLES; i++) {
        test_sleep_ns(i == 0 ? 500000000 : 100000000);
        parked[i] = measure_wake(pool, &probe);
        timeouts += parked[i] < 0;
    }
    int64_t median = percentile(parked, PARKED_SAMPLES, 0.5);
    int64_t p99 = percentile(parked, PARKED_SAMPLES, 0.99);
    fprintf(stderr, "  wake from parked (spin 0, %d samples): median %.3f ms, p99 (the max) %.3f ms\n",
            PARKED_SAMPLES, (double)median / 1e6, (double)p99 / 1e6);

    int64_t busy[BACK_TO_BACK];
    for (int i = 0; i < BACK_TO_BACK; i++) {
        busy[i] = measure_wake(pool, &probe);
        timeouts += busy[i] < 0;
    }
    int64_t busy_median = percentile(busy, BACK_TO_BACK, 0.5);
    fprintf(stderr, "  back-to-back submits (%d samples): median %.3f ms\n", BACK_TO_BACK,
            (double)busy_median / 1e6);

    CHECK_EQ(timeouts, 0);
    CHECK_LT(median, 5000000 * scale);
    CHECK_LT(p99, 50000000 * scale);

    CHECK_EQ(sp_pool_destroy(pool), 0);
    sem_destroy(&probe.started);
}

static void idle_invalid_spin_env_uses_default(void)
{
    static const char *const invalid[] = {"-5", "abc"};

    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        setenv("SP_SPIN_US", invalid[i], 1);
        captured.lines = 0;
        sp_set_log(capture_line, &captured);

        sp_pool *pool = NULL;
        CHECK_EQ(sp_pool_create(&pool, NULL), 0);
        sp_set_log(NULL, NULL);

        CHECK_EQ(captured.lines, 1);
        CHECK(strstr(captured.last, "SP_SPIN_US") != NULL);
        CHECK(strstr(captured.last, invalid[i]) != NULL);
        if (pool != NULL) {
            CHECK_EQ(pool->spin_us, SP_SPIN_US_DEFAULT);
            CHECK_EQ(sp_pool_destroy(pool), 0);
        }
    }
    unsetenv("SP_SPIN_US");
}

int main(void)
{
    /* The environment must not change the defaults these tests rely on. */
    unsetenv("SP_WORKERS");
    unsetenv("SP_SPIN_US");
    unsetenv("SP_PIN");
    unsetenv("SP_DEQUE_CAPACITY");
    unsetenv("SP_STATS");

    RUN_TEST(idle_default_spin_cpu_bounded);
    RUN_TEST(idle_no_spin_cpu_bounded);
    RUN_TEST(idle_default_pool_under_two_percent);
    RUN_TEST(idle_trickle_cpu_bounded);
    RUN_TEST(idle_wake_latency_bounded);
    RUN_TEST(idle_invalid_spin_env_uses_default);
    return check_exit_code();
}
