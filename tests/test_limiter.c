/* Rate limiter: exact token accounting at explicit times, degenerate rates,
 * reservations and their cancel, refused calls, and argument checks. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool/ctx.h>
#include <stealpool/limiter.h>

#include "check.h"

#define MS ((int64_t)1000000)
#define SEC ((int64_t)1000000000)

static sp_limiter *limiter_new(double rate, int64_t burst)
{
    sp_limiter *l = NULL;
    CHECK_EQ(sp_limiter_create(&l, rate, burst), 0);
    return l;
}

static int count_allowed_at(sp_limiter *l, int calls, int64_t n, int64_t now)
{
    int allowed = 0;
    for (int i = 0; i < calls; i++)
        allowed += sp_limiter_allow_at(l, n, now);
    return allowed;
}

static void limiter_idle_refill_capped_at_burst_one(void)
{
    sp_limiter *l = limiter_new(1, 1);

    CHECK(sp_limiter_allow_at(l, 1, 0));
    CHECK_EQ(count_allowed_at(l, 25, 1, 3 * SEC), 1);

    sp_limiter_destroy(l);
}

static void limiter_idle_refill_capped_at_burst_three(void)
{
    sp_limiter *l = limiter_new(1, 3);

    CHECK(sp_limiter_allow_at(l, 1, 0));
    CHECK_EQ(count_allowed_at(l, 10, 1, 10 * SEC), 3);

    sp_limiter_destroy(l);
}

/* Many calls at the same late time must not re-apply the cap each time. */
static void limiter_cap_not_reapplied_per_call(void)
{
    sp_limiter *l = limiter_new(10, 5);

    CHECK(sp_limiter_allow_at(l, 5, 0));
    CHECK_NEAR(sp_limiter_tokens_at(l, 100 * SEC), 5, 1e-9);
    CHECK_NEAR(sp_limiter_tokens_at(l, 100 * SEC), 5, 1e-9);
    CHECK(sp_limiter_allow_at(l, 2, 100 * SEC));
    CHECK_NEAR(sp_limiter_tokens_at(l, 100 * SEC), 3, 1e-9);
    CHECK_NEAR(sp_limiter_tokens_at(l, 100 * SEC + 100 * MS), 4, 1e-9);

    sp_limiter_destroy(l);
}

static void limiter_older_time_creates_no_tokens(void)
{
    sp_limiter *l = limiter_new(1, 2);

    CHECK(sp_limiter_allow_at(l, 2, 10 * SEC));
    CHECK(!sp_limiter_allow_at(l, 1, 5 * SEC));
    CHECK_LE(sp_limiter_tokens_at(l, 5 * SEC), sp_limiter_tokens_at(l, 10 * SEC));
    CHECK(!sp_limiter_allow_at(l, 1, 10 * SEC));
    CHECK(sp_limiter_allow_at(l, 1, 11 * SEC));

    sp_limiter_destroy(l);
}

static void limiter_tiny_rate_never_refills(void)
{
    sp_limiter *l = limiter_new(1e-10, 1);

    CHECK(sp_limiter_allow(l, 1));
    CHECK(!sp_limiter_allow(l, 1));

    sp_reservation r;
    CHECK_EQ(sp_limiter_reserve(l, 1, &r), 0);
    CHECK(r.delay_ns == INT64_MAX || r.delay_ns >= (int64_t)1e9 * SEC);
    CHECK_GT(r.delay_ns, 0);
    sp_reservation_cancel(&r);

    double before = sp_limiter_tokens_at(l, sp_now_ns());
    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 100 * MS, &ctx), 0);
    int64_t start = test_now_ns();
    CHECK_EQ(sp_limiter_wait(l, 1, ctx), ETIMEDOUT);
    CHECK_LT(test_now_ns() - start, 50 * MS * sp_test_scale());
    double after = sp_limiter_tokens_at(l, sp_now_ns());
    CHECK_NEAR(after, before, 1e-12);
    sp_ctx_release(ctx);

    sp_limiter_destroy(l);
}

static void limiter_rate_zero_admits_burst_once(void)
{
    sp_limiter *l = limiter_new(0, 1);
    CHECK(sp_limiter_allow_at(l, 1, 0));
    for (int k = 1; k < 100; k++)
        CHECK(!sp_limiter_allow_at(l, 1, k * SEC));
    sp_limiter_destroy(l);

    l = limiter_new(0, 0);
    CHECK(!sp_limiter_allow_at(l, 1, 0));
    sp_limiter_destroy(l);
}

static void limiter_rate_zero_reserve_never_matures(void)
{
    sp_limiter *l = limiter_new(0, 2);

    sp_reservation r;
    CHECK_EQ(sp_limiter_reserve_at(l, 2, 0, &r), 0);
    CHECK_EQ(r.delay_ns, 0);
    CHECK_EQ(sp_limiter_reserve_at(l, 1, SEC, &r), 0);
    CHECK_EQ(r.delay_ns, INT64_MAX);
    CHECK_NEAR(sp_limiter_tokens_at(l, SEC), 0, 1e-12);
    CHECK_EQ(sp_limiter_wait(l, 1, NULL), ETIMEDOUT);

    sp_limiter_destroy(l);
}

static void limiter_infinite_rate_ignores_burst(void)
{
    sp_limiter *l = limiter_new(INFINITY, 0);

    CHECK(sp_limiter_allow_at(l, 1000, 0));
    CHECK(sp_limiter_allow(l, 1000000));
    int64_t start = test_now_ns();
    CHECK_EQ(sp_limiter_wait(l, 5, NULL), 0);
    CHECK_LT(test_now_ns() - start, 50 * MS * sp_test_scale());

    sp_reservation r;
    CHECK_EQ(sp_limiter_reserve(l, 7, &r), 0);
    CHECK_EQ(r.delay_ns, 0);
    sp_reservation_cancel(&r);

    sp_limiter_destroy(l);
}

static void limiter_huge_rate_no_overflow(void)
{
    sp_limiter *l = limiter_new(1e12, 1000000);

    CHECK(sp_limiter_allow_at(l, 1000000, 0));
    CHECK(!sp_limiter_allow_at(l, 1000000, 1));
    CHECK_NEAR(sp_limiter_tokens_at(l, 2000), 1000000, 1e-6);
    CHECK(sp_limiter_allow_at(l, 1000000, 2000));

    sp_limiter_destroy(l);
}

static void limiter_refused_calls_change_nothing(void)
{
    sp_limiter *l = limiter_new(10, 5);
    sp_reservation r;

    double before = sp_limiter_tokens_at(l, 0);
    CHECK_NEAR(before, 5, 1e-12);
    CHECK_EQ(sp_limiter_reserve_at(l, 6, 0, &r), EINVAL);
    CHECK_NEAR(sp_limiter_tokens_at(l, 0), before, 0);
    CHECK(!sp_limiter_allow_at(l, 6, 0));
    CHECK_NEAR(sp_limiter_tokens_at(l, 0), before, 0);

    CHECK(sp_limiter_allow_at(l, 5, 0));
    before = sp_limiter_tokens_at(l, 0);
    CHECK_NEAR(before, 0, 1e-12);
    CHECK(!sp_limiter_allow_at(l, 5, 0));
    CHECK_NEAR(sp_limiter_tokens_at(l, 0), before, 0);

    sp_limiter_destroy(l);
}

static void limiter_drained_wait_refused_at_once(void)
{
    sp_limiter *l = limiter_new(10, 5);

    CHECK(sp_limiter_allow(l, 5));
    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 100 * MS, &ctx), 0);
    int64_t now = sp_now_ns();
    double before = sp_limiter_tokens_at(l, now);
    int64_t start = test_now_ns();
    CHECK_EQ(sp_limiter_wait(l, 5, ctx), ETIMEDOUT);
    CHECK_LT(test_now_ns() - start, 50 * MS * sp_test_scale());
    CHECK_NEAR(sp_limiter_tokens_at(l, now), before, 0);
    CHECK_EQ(sp_limiter_wait(l, 6, ctx), EINVAL);
    CHECK_NEAR(sp_limiter_tokens_at(l, now), before, 0);
    sp_ctx_release(ctx);

    sp_limiter_destroy(l);
}

static void limiter_cancel_restores_unmatured(void)
{
    sp_limiter *l = limiter_new(10, 20);
    sp_reservation r1, r2;

    CHECK_EQ(sp_limiter_reserve_at(l, 15, 0, &r1), 0);
    CHECK_EQ(r1.delay_ns, 0);
    CHECK_EQ(sp_limiter_reserve_at(l, 10, 100 * MS, &r2), 0);
    CHECK_EQ(r2.delay_ns, 400 * MS);

    sp_reservation_cancel_at(&r2, 150 * MS);
    CHECK_NEAR(sp_limiter_tokens_at(l, 150 * MS), 6.5, 0.01);

    sp_reservation_cancel_at(&r2, 150 * MS);
    CHECK_NEAR(sp_limiter_tokens_at(l, 150 * MS), 6.5, 0.01);

    CHECK(sp_limiter_allow_at(l, 6, 150 * MS));
    CHECK(!sp_limiter_allow_at(l, 1, 150 * MS));

    sp_limiter_destroy(l);
}

/* Counts allow_at(1, t) admissions for t = 0.15 s .. 1.0 s in 10 ms steps. */
static int admitted_in_steps(sp_limiter *l)
{
    int admitted = 0;
    for (int64_t t = 150 * MS; t <= 1000 * MS; t += 10 * MS)
        admitted += sp_limiter_allow_at(l, 1, t);
    return admitted;
}

static void limiter_cancel_keeps_later_reservation(void)
{
    sp_limiter *l = limiter_new(10, 20);
    sp_reservation r1, r2, r3;

    CHECK_EQ(sp_limiter_reserve_at(l, 15, 0, &r1), 0);
    CHECK_EQ(sp_limiter_reserve_at(l, 10, 100 * MS, &r2), 0);
    CHECK_EQ(sp_limiter_reserve_at(l, 2, 120 * MS, &r3), 0);
    CHECK_EQ(r3.delay_ns, 580 * MS);
    int64_t r3_act = 120 * MS + r3.delay_ns;

    sp_reservation_cancel_at(&r2, 150 * MS);
    double tokens = sp_limiter_tokens_at(l, 150 * MS);
    CHECK_GE(tokens, 2.5 - 1e-9);
    CHECK_LE(tokens, 4.5 + 1e-9);
    CHECK_EQ(120 * MS + r3.delay_ns, r3_act);

    /* The same history without r2. */
    sp_limiter *only_r3 = limiter_new(10, 20);
    sp_reservation q1, q3;
    CHECK_EQ(sp_limiter_reserve_at(only_r3, 15, 0, &q1), 0);
    CHECK_EQ(sp_limiter_reserve_at(only_r3, 2, 120 * MS, &q3), 0);

    int admitted = admitted_in_steps(l);
    int admitted_without_r2 = admitted_in_steps(only_r3);
    CHECK_LE(admitted, admitted_without_r2);
    CHECK_GT(admitted, 0);

    CHECK_NEAR(sp_limiter_tokens_at(l, 3 * SEC), 20, 1e-9);

    sp_limiter_destroy(only_r3);
    sp_limiter_destroy(l);
}

static void limiter_cancel_after_maturity_noop(void)
{
    sp_limiter *l = limiter_new(0.5, 2);
    sp_reservation r;

    CHECK_EQ(sp_limiter_reserve_at(l, 1, 0, &r), 0);
    CHECK_EQ(r.delay_ns, 0);
    sp_reservation_cancel_at(&r, SEC);
    CHECK_NEAR(sp_limiter_tokens_at(l, SEC), 1.5, 0.01);

    sp_limiter_destroy(l);
}

static void limiter_cancel_in_any_order_restores_no_more(void)
{
    sp_limiter *l = limiter_new(10, 20);
    sp_reservation r1, r2, r3;

    CHECK_EQ(sp_limiter_reserve_at(l, 20, 0, &r1), 0);
    CHECK_EQ(sp_limiter_reserve_at(l, 10, 0, &r2), 0);
    CHECK_EQ(sp_limiter_reserve_at(l, 4, 0, &r3), 0);
    CHECK_NEAR(sp_limiter_tokens_at(l, 0), -14, 1e-9);

    sp_reservation_cancel_at(&r2, 0);
    sp_reservation_cancel_at(&r3, 0);
    double tokens = sp_limiter_tokens_at(l, 0);
    CHECK_LE(tokens, 0 + 1e-9);
    CHECK_GE(tokens, -10 - 1e-9);

    sp_limiter_destroy(l);
}

static void limiter_wait_canceled_ctx_takes_nothing(void)
{
    sp_limiter *l = limiter_new(10, 1);
    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
    sp_ctx_cancel(ctx);

    CHECK_EQ(sp_limiter_wait(l, 1, ctx), ECANCELED);
    CHECK_GE(sp_limiter_tokens_at(l, sp_now_ns()), 1);

    sp_ctx_release(ctx);
    sp_limiter_destroy(l);
}

typedef struct canceler {
    sp_ctx *ctx;
    int64_t delay_ns;
} canceler;

static void *cancel_later(void *arg)
{
    canceler *c = arg;
    test_sleep_ns(c->delay_ns);
    sp_ctx_cancel(c->ctx);
    return NULL;
}

static void limiter_wait_cancel_during_sleep(void)
{
    sp_limiter *l = limiter_new(1, 1);
    CHECK(sp_limiter_allow(l, 1));

    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
    canceler c = {ctx, 50 * MS};
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, cancel_later, &c), 0);

    int64_t start = test_now_ns();
    CHECK_EQ(sp_limiter_wait(l, 1, ctx), ECANCELED);
    int64_t elapsed = test_now_ns() - start;
    CHECK_GE(elapsed, 45 * MS);
    CHECK_LT(elapsed, 500 * MS * sp_test_scale());
    pthread_join(thread, NULL);

    /* The canceled wait gave its token back: one token still matures about
     * 1 s after the first allow, not 2 s. */
    sp_reservation r;
    CHECK_EQ(sp_limiter_reserve(l, 1, &r), 0);
    CHECK_LE(r.delay_ns, SEC);
    sp_reservation_cancel(&r);

    sp_ctx_release(ctx);
    sp_limiter_destroy(l);
}

static void limiter_wait_sleeps_until_act(void)
{
    sp_limiter *l = limiter_new(10, 1);
    CHECK(sp_limiter_allow(l, 1));

    int64_t start = test_now_ns();
    CHECK_EQ(sp_limiter_wait(l, 1, NULL), 0);
    int64_t elapsed = test_now_ns() - start;
    CHECK_GE(elapsed, 95 * MS);
    CHECK_LT(elapsed, 1000 * MS * sp_test_scale());

    sp_limiter_destroy(l);
}

static void limiter_set_rate_keeps_tokens(void)
{
    sp_limiter *l = limiter_new(10, 10);
    int64_t now = sp_now_ns();
    CHECK(sp_limiter_allow_at(l, 6, now));

    sp_limiter_set_rate(l, 1e-3);
    double tokens = sp_limiter_tokens_at(l, sp_now_ns());
    CHECK_GE(tokens, 4 - 1e-6);
    CHECK_LT(tokens, 5);

    sp_limiter_set_burst(l, 2);
    CHECK_NEAR(sp_limiter_tokens_at(l, sp_now_ns()), 2, 1e-3);

    sp_limiter_set_rate(l, 0);
    CHECK(sp_limiter_allow(l, 2));
    CHECK(!sp_limiter_allow(l, 1));

    sp_limiter_set_rate(l, INFINITY);
    CHECK(sp_limiter_allow(l, 100));

    sp_limiter_set_rate(l, 1);
    CHECK(sp_limiter_allow(l, 2));
    CHECK(!sp_limiter_allow(l, 1));

    sp_limiter_destroy(l);
}

static void limiter_invalid_arguments(void)
{
    sp_limiter *l = NULL;
    CHECK_EQ(sp_limiter_create(NULL, 1, 1), EINVAL);
    CHECK_EQ(sp_limiter_create(&l, -1, 1), EINVAL);
    CHECK_EQ(sp_limiter_create(&l, NAN, 1), EINVAL);
    CHECK_EQ(sp_limiter_create(&l, 1, -1), EINVAL);

    l = limiter_new(10, 5);
    sp_reservation r;
    CHECK(!sp_limiter_allow(l, -1));
    CHECK(!sp_limiter_allow(NULL, 1));
    CHECK(!sp_limiter_allow_at(l, 1, -5));
    CHECK_EQ(sp_limiter_reserve_at(l, -1, 0, &r), EINVAL);
    CHECK_EQ(sp_limiter_reserve_at(l, 1, 0, NULL), EINVAL);
    CHECK_EQ(sp_limiter_wait(NULL, 1, NULL), EINVAL);
    CHECK_EQ(sp_limiter_wait(l, 6, NULL), EINVAL);
    sp_limiter_set_rate(l, -3);
    sp_limiter_set_rate(l, NAN);
    sp_limiter_set_burst(l, -1);
    CHECK_NEAR(sp_limiter_tokens_at(l, 0), 5, 1e-12);
    sp_reservation_cancel(NULL);
    sp_limiter_destroy(NULL);

    sp_limiter_destroy(l);
}

int main(void)
{
    RUN_TEST(limiter_idle_refill_capped_at_burst_one);
    RUN_TEST(limiter_idle_refill_capped_at_burst_three);
    RUN_TEST(limiter_cap_not_reapplied_per_call);
    RUN_TEST(limiter_older_time_creates_no_tokens);
    RUN_TEST(limiter_tiny_rate_never_refills);
    RUN_TEST(limiter_rate_zero_admits_burst_once);
    RUN_TEST(limiter_rate_zero_reserve_never_matures);
    RUN_TEST(limiter_infinite_rate_ignores_burst);
    RUN_TEST(limiter_huge_rate_no_overflow);
    RUN_TEST(limiter_refused_calls_change_nothing);
    RUN_TEST(limiter_drained_wait_refused_at_once);
    RUN_TEST(limiter_cancel_restores_unmatured);
    RUN_TEST(limiter_cancel_keeps_later_reservation);
    RUN_TEST(limiter_cancel_after_maturity_noop);
    RUN_TEST(limiter_cancel_in_any_order_restores_no_more);
    RUN_TEST(limiter_wait_canceled_ctx_takes_nothing);
    RUN_TEST(limiter_wait_cancel_during_sleep);
    RUN_TEST(limiter_wait_sleeps_until_act);
    RUN_TEST(limiter_set_rate_keeps_tokens);
    RUN_TEST(limiter_invalid_arguments);
    return check_exit_code();
}
