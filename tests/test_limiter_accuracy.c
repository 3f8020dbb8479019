/* Rate limiter on the real clock: burst after idle, long-run accuracy of
 * wait, and concurrent allow never exceeding burst + rate x elapsed. These
 * tests sleep for several seconds. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool/ctx.h>
#include <stealpool/limiter.h>

#include "check.h"

#define MS ((int64_t)1000000)
#define SEC ((int64_t)1000000000)

/* Returns the time that `count` consecutive wait(1) calls take. */
static int64_t time_waits(sp_limiter *l, int count)
{
    int64_t start = test_now_ns();
    for (int i = 0; i < count; i++)
        CHECK_EQ(sp_limiter_wait(l, 1, NULL), 0);
    return test_now_ns() - start;
}

static void limiter_idle_burst_capped_one_per_second(void)
{
    sp_limiter *l;
    CHECK_EQ(sp_limiter_create(&l, 1, 1), 0);

    CHECK_EQ(sp_limiter_wait(l, 1, NULL), 0);
    test_sleep_ns(3 * SEC);
    int64_t elapsed = time_waits(l, 5);
    CHECK_GE(elapsed, 3950 * MS);
    CHECK_LE(elapsed, 6 * SEC);

    sp_limiter_destroy(l);
}

static void limiter_idle_burst_capped_ten_per_second(void)
{
    sp_limiter *l;
    CHECK_EQ(sp_limiter_create(&l, 10, 1), 0);

    CHECK_EQ(sp_limiter_wait(l, 1, NULL), 0);
    test_sleep_ns(5 * SEC);
    int64_t elapsed = time_waits(l, 20);
    CHECK_GE(elapsed, 1850 * MS);
    CHECK_LE(elapsed, 4 * SEC);

    sp_limiter_destroy(l);
}

typedef struct accuracy_run {
    sp_limiter     *limiter;
    sp_ctx         *ctx;
    _Atomic int64_t admitted;
} accuracy_run;

static void *wait_until_deadline(void *arg)
{
    accuracy_run *run = arg;
    while (sp_limiter_wait(run->limiter, 1, run->ctx) == 0)
        /* relaxed: only the total is read, after the join */
        atomic_fetch_add_explicit(&run->admitted, 1, memory_order_relaxed);
    return NULL;
}

static void limiter_wait_accuracy_two_threads(void)
{
    accuracy_run run = {0};
    CHECK_EQ(sp_limiter_create(&run.limiter, 1000, 10), 0);
    CHECK_EQ(sp_ctx_with_timeout(NULL, 2 * SEC, &run.ctx), 0);

    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, wait_until_deadline, &run), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);

    /* relaxed: the threads have been joined */
    int64_t admitted = atomic_load_explicit(&run.admitted, memory_order_relaxed);
    double tolerance = sp_test_scale() > 1 ? 0.05 : 0.01;
    fprintf(stderr, "admitted %lld of 2010 in 2 s\n", (long long)admitted);
    CHECK_GE(admitted, (int64_t)(2010 * (1 - tolerance)));
    CHECK_LE(admitted, (int64_t)(2010 * (1 + tolerance)));

    sp_ctx_release(run.ctx);
    sp_limiter_destroy(run.limiter);
}

typedef struct allow_run {
    sp_limiter     *limiter;
    int64_t         end_ns;
    _Atomic int64_t admitted;
} allow_run;

static void *allow_until_end(void *arg)
{
    allow_run *run = arg;
    while (test_now_ns() < run->end_ns)
        if (sp_limiter_allow(run->limiter, 1))
            /* relaxed: only the total is read, after the join */
            atomic_fetch_add_explicit(&run->admitted, 1, memory_order_relaxed);
    return NULL;
}

static void limiter_concurrent_allow_bounded(void)
{
    const double rate = 5000;
    const int64_t burst = 20;
    allow_run run = {0};
    CHECK_EQ(sp_limiter_create(&run.limiter, rate, burst), 0);

    int64_t start = test_now_ns();
    run.end_ns = start + 500 * MS;
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, allow_until_end, &run), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    int64_t elapsed = test_now_ns() - start;

    /* relaxed: the threads have been joined */
    int64_t admitted = atomic_load_explicit(&run.admitted, memory_order_relaxed);
    double bound = (double)burst + rate * (double)elapsed / 1e9;
    fprintf(stderr, "admitted %lld, bound %.1f\n", (long long)admitted, bound);
    CHECK_LE(admitted, (int64_t)bound);
    CHECK_GT(admitted, 0);

    sp_limiter_destroy(run.limiter);
}

int main(void)
{
    RUN_TEST(limiter_idle_burst_capped_one_per_second);
    RUN_TEST(limiter_idle_burst_capped_ten_per_second);
    RUN_TEST(limiter_wait_accuracy_two_threads);
    RUN_TEST(limiter_concurrent_allow_bounded);
    return check_exit_code();
}
