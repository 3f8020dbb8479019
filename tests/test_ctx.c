/*
 * Cancellation contexts: cancel, deadline and release semantics, the tree
 * of parents and children, waking blocked waiters, and a long-lived parent
 * that must not accumulate finished children.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool.h>

#include "check.h"
#include "sync/wait.h"

#define MS 1000000LL

static void ctx_background_never_ends(void)
{
    sp_ctx *background = sp_ctx_background();
    CHECK(background != NULL);
    CHECK_EQ(sp_ctx_err(background), 0);
    CHECK_EQ(sp_ctx_deadline(background), INT64_MAX);

    sp_ctx_cancel(background);
    sp_ctx_release(background);
    CHECK_EQ(sp_ctx_err(background), 0);
    CHECK(sp_ctx_background() == background);

    CHECK_EQ(sp_ctx_err(NULL), 0);
    CHECK_EQ(sp_ctx_deadline(NULL), INT64_MAX);
    sp_ctx_cancel(NULL);
    sp_ctx_release(NULL);
}

static void ctx_with_cancel_semantics(void)
{
    CHECK_EQ(sp_ctx_with_cancel(NULL, NULL), EINVAL);
    CHECK_EQ(sp_ctx_with_deadline(NULL, 0, NULL), EINVAL);
    CHECK_EQ(sp_ctx_with_timeout(NULL, 0, NULL), EINVAL);

    sp_ctx *ctx = NULL;
    CHECK_EQ(sp_ctx_with_cancel(sp_ctx_background(), &ctx), 0);
    CHECK(ctx != NULL);
    CHECK_EQ(sp_ctx_err(ctx), 0);
    CHECK_EQ(sp_ctx_deadline(ctx), INT64_MAX);

    sp_ctx_cancel(ctx);
    CHECK_EQ(sp_ctx_err(ctx), ECANCELED);
    sp_ctx_cancel(ctx);
    CHECK_EQ(sp_ctx_err(ctx), ECANCELED);
    sp_ctx_release(ctx);

    /* A NULL parent means the background context. */
    CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
    CHECK_EQ(sp_ctx_err(ctx), 0);
    sp_ctx_release(ctx);
}

static void ctx_deadline_semantics(void)
{
    sp_ctx *ctx;
    int64_t deadline = sp_now_ns() + 50 * MS;
    CHECK_EQ(sp_ctx_with_deadline(NULL, deadline, &ctx), 0);
    CHECK_EQ(sp_ctx_deadline(ctx), deadline);
    CHECK_EQ(sp_ctx_err(ctx), 0);
    test_sleep_ns(60 * MS);
    CHECK_EQ(sp_ctx_err(ctx), ETIMEDOUT);

    /* The first end wins: a cancel after the deadline stays ETIMEDOUT. */
    sp_ctx_cancel(ctx);
    CHECK_EQ(sp_ctx_err(ctx), ETIMEDOUT);
    sp_ctx_release(ctx);

    /* A deadline in the past has ended on creation. */
    CHECK_EQ(sp_ctx_with_deadline(NULL, sp_now_ns() - 1, &ctx), 0);
    CHECK_EQ(sp_ctx_err(ctx), ETIMEDOUT);
    sp_ctx_release(ctx);

    /* A cancel before the deadline is ECANCELED. */
    CHECK_EQ(sp_ctx_with_deadline(NULL, sp_now_ns() + 3600000 * MS, &ctx), 0);
    sp_ctx_cancel(ctx);
    CHECK_EQ(sp_ctx_err(ctx), ECANCELED);
    sp_ctx_release(ctx);
}

static void ctx_timeout_semantics(void)
{
    sp_ctx *ctx;
    int64_t before = sp_now_ns();
    CHECK_EQ(sp_ctx_with_timeout(NULL, 50 * MS, &ctx), 0);
    int64_t after = sp_now_ns();
    CHECK_GE(sp_ctx_deadline(ctx), before + 50 * MS);
    CHECK_LE(sp_ctx_deadline(ctx), after + 50 * MS);
    CHECK_EQ(sp_ctx_err(ctx), 0);
    sp_ctx_release(ctx);

    CHECK_EQ(sp_ctx_with_timeout(NULL, 0, &ctx), 0);
    CHECK_EQ(sp_ctx_err(ctx), ETIMEDOUT);
    sp_ctx_release(ctx);

    CHECK_EQ(sp_ctx_with_timeout(NULL, -5, &ctx), 0);
    CHECK_EQ(sp_ctx_err(ctx), ETIMEDOUT);
    sp_ctx_release(ctx);

    /* A huge timeout saturates instead of overflowing. */
    CHECK_EQ(sp_ctx_with_timeout(NULL, INT64_MAX, &ctx), 0);
    CHECK_EQ(sp_ctx_deadline(ctx), INT64_MAX);
    CHECK_EQ(sp_ctx_err(ctx), 0);
    sp_ctx_release(ctx);
}

static void ctx_children_end_with_parent(void)
{
    sp_ctx *parent, *child, *grandchild, *sibling;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
    CHECK_EQ(sp_ctx_with_cancel(parent, &child), 0);
    CHECK_EQ(sp_ctx_with_deadline(child, sp_now_ns() + 3600000 * MS, &grandchild), 0);
    CHECK_EQ(sp_ctx_with_cancel(parent, &sibling), 0);
    CHECK_EQ(sp__ctx_child_count(parent), 2);
    CHECK_EQ(sp__ctx_child_count(child), 1);

    /* Canceling a child leaves its parent and sibling alone. */
    sp_ctx_cancel(sibling);
    CHECK_EQ(sp_ctx_err(sibling), ECANCELED);
    CHECK_EQ(sp_ctx_err(parent), 0);
    CHECK_EQ(sp_ctx_err(child), 0);

    sp_ctx_cancel(parent);
    CHECK_EQ(sp_ctx_err(parent), ECANCELED);
    CHECK_EQ(sp_ctx_err(child), ECANCELED);
    CHECK_EQ(sp_ctx_err(grandchild), ECANCELED);
    CHECK_EQ(sp__ctx_child_count(parent), 0);

    /* A child of an ended parent starts ended. */
    sp_ctx *late;
    CHECK_EQ(sp_ctx_with_cancel(parent, &late), 0);
    CHECK_EQ(sp_ctx_err(late), ECANCELED);
    CHECK_EQ(sp__ctx_child_count(parent), 0);

    /* Release in any order: parents are kept alive by their children. */
    sp_ctx_release(parent);
    sp_ctx_release(child);
    CHECK_EQ(sp_ctx_err(grandchild), ECANCELED);
    sp_ctx_release(grandchild);
    sp_ctx_release(sibling);
    sp_ctx_release(late);
}

static void ctx_child_deadline_not_after_parent(void)
{
    int64_t now = sp_now_ns();
    sp_ctx *parent, *later, *earlier, *plain;
    CHECK_EQ(sp_ctx_with_deadline(NULL, now + 100 * MS, &parent), 0);
    CHECK_EQ(sp_ctx_with_deadline(parent, now + 3600000 * MS, &later), 0);
    CHECK_EQ(sp_ctx_with_deadline(parent, now + 50 * MS, &earlier), 0);
    CHECK_EQ(sp_ctx_with_cancel(parent, &plain), 0);

    CHECK_EQ(sp_ctx_deadline(later), now + 100 * MS);
    CHECK_EQ(sp_ctx_deadline(earlier), now + 50 * MS);
    CHECK_EQ(sp_ctx_deadline(plain), now + 100 * MS);

    test_sleep_ns(now + 110 * MS - sp_now_ns());
    CHECK_EQ(sp_ctx_err(parent), ETIMEDOUT);
    CHECK_EQ(sp_ctx_err(later), ETIMEDOUT);
    CHECK_EQ(sp_ctx_err(earlier), ETIMEDOUT);
    CHECK_EQ(sp_ctx_err(plain), ETIMEDOUT);

    sp_ctx_release(later);
    sp_ctx_release(earlier);
    sp_ctx_release(plain);
    sp_ctx_release(parent);
}

static void ctx_release_cancels(void)
{
    sp_ctx *parent, *child, *other;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
    CHECK_EQ(sp_ctx_with_cancel(parent, &child), 0);
    CHECK_EQ(sp_ctx_with_cancel(parent, &other), 0);
    CHECK_EQ(sp__ctx_child_count(parent), 2);

    /* Releasing a child unlinks it at once; its sibling stays linked. */
    sp_ctx_release(child);
    CHECK_EQ(sp__ctx_child_count(parent), 1);
    CHECK_EQ(sp_ctx_err(other), 0);

    /* Releasing the parent cancels the child that is still held. */
    sp_ctx_release(parent);
    CHECK_EQ(sp_ctx_err(other), ECANCELED);
    sp_ctx_release(other);
}

/* A thread blocked through the sync layer's parking loop, on a condition
 * that never becomes true. */
typedef struct blocked_job {
    sp_ctx     *ctx;
    pthread_t   thread;
    atomic_bool watching;
    int         rc;
    int64_t     end_ns;
} blocked_job;

static void *blocked_job_main(void *arg)
{
    blocked_job *job = arg;
    sp__waiter w;
    sp__waiter_init(&w);
    int rc = sp__ctx_watch(job->ctx, &w);
    atomic_store(&job->watching, true);
    while (rc == 0) {
        uint32_t seen = sp__waiter_seq(&w);
        rc = sp__waiter_sleep(&w, seen, job->ctx);
    }
    sp__ctx_unwatch(job->ctx, &w);
    job->rc = rc;
    job->end_ns = test_now_ns();
    return NULL;
}

static void ctx_waiter_wakes_on_cancel(void)
{
    for (int use_parent = 0; use_parent < 2; use_parent++) {
        sp_ctx *parent, *ctx;
        CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
        CHECK_EQ(sp_ctx_with_cancel(parent, &ctx), 0);

        blocked_job job = {.ctx = ctx};
        atomic_init(&job.watching, false);
        CHECK_EQ(pthread_create(&job.thread, NULL, blocked_job_main, &job), 0);
        while (!atomic_load(&job.watching))
            test_sleep_ns(100000);
        test_sleep_ns(20 * MS);

        int64_t canceled_at = test_now_ns();
        sp_ctx_cancel(use_parent ? parent : ctx);
        pthread_join(job.thread, NULL);
        CHECK_EQ(job.rc, ECANCELED);
        CHECK_LT(job.end_ns - canceled_at, 500 * MS);

        sp_ctx_release(ctx);
        sp_ctx_release(parent);
    }
}

static void ctx_waiter_wakes_at_deadline(void)
{
    sp_ctx *ctx;
    int64_t start = test_now_ns();
    CHECK_EQ(sp_ctx_with_timeout(NULL, 50 * MS, &ctx), 0);

    blocked_job job = {.ctx = ctx};
    atomic_init(&job.watching, false);
    CHECK_EQ(pthread_create(&job.thread, NULL, blocked_job_main, &job), 0);
    pthread_join(job.thread, NULL);
    CHECK_EQ(job.rc, ETIMEDOUT);
    CHECK_GE(job.end_ns - start, 50 * MS);
    CHECK_LT(job.end_ns - start, 550 * MS * sp_test_scale());
    sp_ctx_release(ctx);
}

/* Children are created and released under one parent while another thread
 * cancels that parent; no child may stay linked. */
typedef struct churn_job {
    sp_ctx    *parent;
    atomic_int created;
} churn_job;

static void *churn_main(void *arg)
{
    churn_job *job = arg;
    for (int i = 0; i < 200; i++) {
        sp_ctx *child;
        CHECK_EQ(sp_ctx_with_cancel(job->parent, &child), 0);
        atomic_fetch_add(&job->created, 1);
        sp_ctx_release(child);
    }
    return NULL;
}

static void ctx_cancel_races_child_churn(void)
{
    int rounds = 400 / sp_test_scale();
    for (int round = 0; round < rounds; round++) {
        churn_job job;
        CHECK_EQ(sp_ctx_with_cancel(NULL, &job.parent), 0);
        atomic_init(&job.created, 0);

        pthread_t thread;
        CHECK_EQ(pthread_create(&thread, NULL, churn_main, &job), 0);
        while (atomic_load(&job.created) < round % 200)
            sched_yield();
        sp_ctx_cancel(job.parent);
        pthread_join(thread, NULL);

        CHECK_EQ(sp__ctx_child_count(job.parent), 0);
        CHECK_EQ(sp_ctx_err(job.parent), ECANCELED);
        sp_ctx_release(job.parent);
    }
}

/*
 * A long-lived parent with many short-lived children: after each phase no
 * child is still linked, memory stays flat and no thread was started.
 */
static void ctx_no_leak_under_long_lived_parent(void)
{
    int scale = sp_test_scale();
    sp_ctx *parent;
    CHECK_EQ(sp_ctx_with_cancel(sp_ctx_background(), &parent), 0);
    long rss_before = test_rss_kib();
    int threads_before = test_thread_count();

    int cancel_rounds = 1000000 / scale;
    for (int i = 0; i < cancel_rounds; i++) {
        sp_ctx *child;
        CHECK_EQ(sp_ctx_with_cancel(parent, &child), 0);
        sp_ctx_cancel(child);
        sp_ctx_release(child);
    }
    CHECK_EQ(sp__ctx_child_count(parent), 0);

    int far_rounds = 100000 / scale;
    for (int i = 0; i < far_rounds; i++) {
        sp_ctx *child;
        CHECK_EQ(sp_ctx_with_deadline(parent, sp_now_ns() + 3600000 * MS, &child), 0);
        sp_ctx_release(child);
    }
    CHECK_EQ(sp__ctx_child_count(parent), 0);

    /* Children that time out before they are released. */
    int near_rounds = 1000 / scale;
    for (int i = 0; i < near_rounds; i++) {
        sp_ctx *child;
        CHECK_EQ(sp_ctx_with_deadline(parent, sp_now_ns() + 1 * MS, &child), 0);
        test_sleep_ns(2 * MS);
        CHECK_EQ(sp_ctx_err(child), ETIMEDOUT);
        sp_ctx_release(child);
    }
    CHECK_EQ(sp__ctx_child_count(parent), 0);

    /* ASan's quarantine keeps freed blocks resident, so there RSS shows
     * nothing about leaks; LeakSanitizer checks the frees instead. */
#ifndef __SANITIZE_ADDRESS__
    long rss_after = test_rss_kib();
    CHECK_LT(rss_after - rss_before, 16 * 1024);
#else
    (void)rss_before;
#endif
    CHECK_EQ(test_thread_count(), threads_before);
    CHECK_EQ(sp_ctx_err(parent), 0);

    sp_ctx_cancel(parent);
    sp_ctx_release(parent);
}

int main(void)
{
    RUN_TEST(ctx_background_never_ends);
    RUN_TEST(ctx_with_cancel_semantics);
    RUN_TEST(ctx_deadline_semantics);
    RUN_TEST(ctx_timeout_semantics);
    RUN_TEST(ctx_children_end_with_parent);
    RUN_TEST(ctx_child_deadline_not_after_parent);
    RUN_TEST(ctx_release_cancels);
    RUN_TEST(ctx_waiter_wakes_on_cancel);
    RUN_TEST(ctx_waiter_wakes_at_deadline);
    RUN_TEST(ctx_cancel_races_child_churn);
    RUN_TEST(ctx_no_leak_under_long_lived_parent);
    return check_exit_code();
}
