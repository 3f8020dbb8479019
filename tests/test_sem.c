/*
 * Rules of the weighted FIFO semaphore, one test function per rule: argument
 * errors, units held, admission order, head-of-line blocking, a head waiter
 * that gives up, fairness to a large request, contexts and signals.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stealpool.h>

#include "check.h"
#include "sync/sem_internal.h"

#define MS 1000000LL

/* One blocking acquire run on its own thread. */
typedef struct acquire_job {
    sp_sem     *sem;
    int64_t     n;
    sp_ctx     *ctx;
    pthread_t   thread;
    int         rc;
    int64_t     start_ns;
    int64_t     end_ns;
    atomic_bool done;
} acquire_job;

static void *acquire_job_main(void *arg)
{
    acquire_job *job = arg;
    job->start_ns = test_now_ns();
    job->rc = sp_sem_acquire(job->sem, job->n, job->ctx);
    job->end_ns = test_now_ns();
    atomic_store_explicit(&job->done, true, memory_order_release);
    return NULL;
}

static void acquire_job_start(acquire_job *job, sp_sem *sem, int64_t n, sp_ctx *ctx)
{
    memset(job, 0, sizeof *job);
    job->sem = sem;
    job->n = n;
    job->ctx = ctx;
    atomic_init(&job->done, false);
    CHECK_EQ(pthread_create(&job->thread, NULL, acquire_job_main, job), 0);
}

static bool acquire_job_done(acquire_job *job)
{
    return atomic_load_explicit(&job->done, memory_order_acquire);
}

static void acquire_job_join(acquire_job *job)
{
    pthread_join(job->thread, NULL);
}

/* Waits up to 5 s (times the scale) until count requests for n units are
 * queued; n 0 counts every request. */
static bool wait_queued(sp_sem *sem, int64_t n, unsigned count)
{
    int64_t limit = test_now_ns() + 5000 * MS * sp_test_scale();
    while (sp__sem_queued_count(sem, n) < count) {
        if (test_now_ns() > limit)
            return false;
        test_sleep_ns(100000);
    }
    return true;
}

/* Like wait_queued for one request of n units, but also returns true once
 * job has finished (a short deadline may end it before it is seen). */
static bool wait_queued_or_done(sp_sem *sem, int64_t n, acquire_job *job)
{
    int64_t limit = test_now_ns() + 5000 * MS * sp_test_scale();
    while (sp__sem_queued_count(sem, n) < 1 && !acquire_job_done(job)) {
        if (test_now_ns() > limit)
            return false;
        test_sleep_ns(100000);
    }
    return true;
}

/* Waits up to limit_ns for job to finish. */
static bool wait_done(acquire_job *job, int64_t limit_ns)
{
    int64_t limit = test_now_ns() + limit_ns;
    while (!acquire_job_done(job)) {
        if (test_now_ns() > limit)
            return false;
        test_sleep_ns(100000);
    }
    return true;
}

/* Log hook that counts lines and keeps the last one. */
static atomic_int log_lines;
static char       log_last[512];

static void count_log(void *user, const char *line)
{
    (void)user;
    snprintf(log_last, sizeof log_last, "%s", line);
    atomic_fetch_add_explicit(&log_lines, 1, memory_order_relaxed);
}

static void sem_create_rejects_bad_capacity(void)
{
    sp_sem *sem = NULL;
    CHECK_EQ(sp_sem_create(&sem, 0), EINVAL);
    CHECK(sem == NULL);
    CHECK_EQ(sp_sem_create(&sem, -1), EINVAL);
    CHECK_EQ(sp_sem_create(&sem, INT64_MIN), EINVAL);
    CHECK(sem == NULL);
    CHECK_EQ(sp_sem_create(NULL, 1), EINVAL);

    CHECK_EQ(sp_sem_create(&sem, 1), 0);
    CHECK(sem != NULL);
    CHECK_EQ(sp_sem_available(sem), 1);
    sp_sem_destroy(sem);

    sp_sem_destroy(NULL);
    CHECK_EQ(sp_sem_available(NULL), 0);
}

static void sem_units_held(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 10), 0);

    CHECK_EQ(sp_sem_acquire(sem, 3, NULL), 0);
    CHECK_EQ(sp_sem_available(sem), 7);
    CHECK(sp_sem_try_acquire(sem, 7));
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK(!sp_sem_try_acquire(sem, 1));

    CHECK_EQ(sp_sem_release(sem, 4), 0);
    CHECK_EQ(sp_sem_available(sem), 4);
    CHECK_EQ(sp_sem_acquire(sem, 4, NULL), 0);
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp_sem_release(sem, 10), 0);
    CHECK_EQ(sp_sem_available(sem), 10);

    sp_sem_destroy(sem);
}

static void sem_error_codes(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 10), 0);
    atomic_store(&log_lines, 0);
    sp_set_log(count_log, NULL);

    CHECK_EQ(sp_sem_acquire(sem, 0, NULL), EINVAL);
    CHECK_EQ(sp_sem_acquire(sem, -1, NULL), EINVAL);
    CHECK_EQ(sp_sem_acquire(sem, 11, NULL), EINVAL);
    CHECK_EQ(sp_sem_acquire(sem, INT64_MIN, NULL), EINVAL);
    CHECK_EQ(sp_sem_acquire(sem, INT64_MAX, NULL), EINVAL);
    CHECK_EQ(sp_sem_acquire(NULL, 1, NULL), EINVAL);
    CHECK(!sp_sem_try_acquire(sem, 0));
    CHECK(!sp_sem_try_acquire(sem, 11));
    CHECK(!sp_sem_try_acquire(NULL, 1));
    CHECK_EQ(sp_sem_release(sem, 0), EINVAL);
    CHECK_EQ(sp_sem_release(sem, -5), EINVAL);
    CHECK_EQ(sp_sem_release(NULL, 1), EINVAL);
    CHECK_EQ(atomic_load(&log_lines), 12);
    CHECK(strstr(log_last, "sp_sem_release") != NULL);
    CHECK_EQ(sp_sem_available(sem), 10);

    /* Over-release: nothing changes, with and without a queued waiter. */
    CHECK_EQ(sp_sem_release(sem, 1), EINVAL);
    CHECK_EQ(sp_sem_release(sem, INT64_MAX), EINVAL);
    CHECK_EQ(sp_sem_available(sem), 10);
    CHECK_EQ(sp_sem_acquire(sem, 3, NULL), 0);
    CHECK_EQ(sp_sem_release(sem, 4), EINVAL);
    CHECK_EQ(sp_sem_available(sem), 7);

    acquire_job job;
    acquire_job_start(&job, sem, 10, NULL);
    CHECK(wait_queued(sem, 10, 1));
    CHECK_EQ(sp_sem_release(sem, 4), EINVAL);
    CHECK_EQ(sp_sem_available(sem), 7);
    CHECK(!acquire_job_done(&job));
    CHECK_EQ(sp_sem_release(sem, 3), 0);
    acquire_job_join(&job);
    CHECK_EQ(job.rc, 0);
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp_sem_release(sem, 10), 0);

    /* sp_sem_submit rejects its arguments before it looks at the pool. */
    CHECK_EQ(sp_sem_submit(NULL, 1, NULL, NULL, NULL), EINVAL);
    CHECK_EQ(sp_sem_submit(sem, 1, NULL, NULL, NULL), EINVAL);

    sp_set_log(NULL, NULL);
    sp_sem_destroy(sem);
}

static void sem_large_capacity_no_overflow(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, INT64_MAX), 0);
    CHECK_EQ(sp_sem_available(sem), INT64_MAX);

    CHECK_EQ(sp_sem_acquire(sem, INT64_MAX, NULL), 0);
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp_sem_release(sem, INT64_MAX - 1), 0);
    CHECK_EQ(sp_sem_release(sem, 2), EINVAL);
    CHECK_EQ(sp_sem_available(sem), INT64_MAX - 1);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), INT64_MAX);
    CHECK_EQ(sp_sem_release(sem, 1), EINVAL);
    CHECK_EQ(sp_sem_release(sem, INT64_MAX), EINVAL);
    CHECK_EQ(sp_sem_available(sem), INT64_MAX);

    /* The same sums on the locked path, with a request queued. */
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);
    acquire_job job;
    acquire_job_start(&job, sem, INT64_MAX, NULL);
    CHECK(wait_queued(sem, INT64_MAX, 1));
    CHECK_EQ(sp_sem_available(sem), INT64_MAX - 1);
    CHECK_EQ(sp_sem_release(sem, 2), EINVAL);
    CHECK_EQ(sp_sem_release(sem, INT64_MAX), EINVAL);
    CHECK_EQ(sp_sem_available(sem), INT64_MAX - 1);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    acquire_job_join(&job);
    CHECK_EQ(job.rc, 0);
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp_sem_release(sem, INT64_MAX), 0);
    CHECK_EQ(sp_sem_available(sem), INT64_MAX);

    sp_sem_destroy(sem);
}

static void sem_oversize_request_fails_at_once(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 4), 0);

    int64_t start = test_now_ns();
    CHECK_EQ(sp_sem_acquire(sem, 5, NULL), EINVAL);
    CHECK_LT(test_now_ns() - start, 100 * MS * sp_test_scale());
    CHECK_EQ(sp__sem_queued_count(sem, 0), 0);

    start = test_now_ns();
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);
    CHECK_LT(test_now_ns() - start, 100 * MS * sp_test_scale());
    CHECK_EQ(sp_sem_available(sem), 3);

    CHECK_EQ(sp_sem_release(sem, 1), 0);
    sp_sem_destroy(sem);
}

/* Admission order of single-unit requests, each queued before the next. */
static atomic_int order_next;

typedef struct order_job {
    sp_sem   *sem;
    int64_t   n;
    int       position; /* admission position, from order_next */
    pthread_t thread;
} order_job;

static void *order_job_main(void *arg)
{
    order_job *job = arg;
    CHECK_EQ(sp_sem_acquire(job->sem, job->n, NULL), 0);
    job->position = atomic_fetch_add(&order_next, 1);
    return NULL;
}

static void sem_admission_order(void)
{
    enum { JOBS = 8 };
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 1), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);
    atomic_store(&order_next, 0);

    order_job jobs[JOBS];
    for (int i = 0; i < JOBS; i++) {
        jobs[i] = (order_job){.sem = sem, .n = 1};
        CHECK_EQ(pthread_create(&jobs[i].thread, NULL, order_job_main, &jobs[i]), 0);
        CHECK(wait_queued(sem, 0, (unsigned)i + 1));
    }

    /* Each admitted job passes its unit on after recording its position. */
    for (int i = 0; i < JOBS; i++) {
        CHECK_EQ(sp_sem_release(sem, 1), 0);
        pthread_join(jobs[i].thread, NULL);
        CHECK_EQ(jobs[i].position, i);
    }
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), 1);
    sp_sem_destroy(sem);
}

/* Weighted requests are admitted in order; a request that does not fit
 * holds back the smaller ones behind it. */
static void sem_weighted_admission_order(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 4), 0);
    CHECK_EQ(sp_sem_acquire(sem, 4, NULL), 0);

    acquire_job a, b, c;
    acquire_job_start(&a, sem, 3, NULL);
    CHECK(wait_queued(sem, 0, 1));
    acquire_job_start(&b, sem, 2, NULL);
    CHECK(wait_queued(sem, 0, 2));
    acquire_job_start(&c, sem, 1, NULL);
    CHECK(wait_queued(sem, 0, 3));

    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), 1);
    CHECK_EQ(sp__sem_queued_count(sem, 0), 3);

    CHECK_EQ(sp_sem_release(sem, 2), 0);
    acquire_job_join(&a);
    CHECK_EQ(a.rc, 0);
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp__sem_queued_count(sem, 0), 2);

    /* The 3 units A held admit B (2) and then C (1), in that order. */
    CHECK_EQ(sp_sem_release(sem, 3), 0);
    acquire_job_join(&b);
    acquire_job_join(&c);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(c.rc, 0);
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp__sem_queued_count(sem, 0), 0);

    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), 4);
    sp_sem_destroy(sem);
}

static void sem_try_acquire_never_passes_waiter(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 2), 0);
    CHECK_EQ(sp_sem_acquire(sem, 2, NULL), 0);

    acquire_job job;
    acquire_job_start(&job, sem, 2, NULL);
    CHECK(wait_queued(sem, 2, 1));

    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), 1);
    CHECK(!sp_sem_try_acquire(sem, 1));
    CHECK_EQ(sp_sem_available(sem), 1);
    CHECK(!acquire_job_done(&job));

    CHECK_EQ(sp_sem_release(sem, 1), 0);
    acquire_job_join(&job);
    CHECK_EQ(job.rc, 0);
    CHECK(!sp_sem_try_acquire(sem, 1));
    CHECK_EQ(sp_sem_release(sem, 2), 0);
    CHECK(sp_sem_try_acquire(sem, 1));
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    sp_sem_destroy(sem);
}

/* sem(4): A holds 1, B queues for 4, C's request for 1 with a 100 ms
 * deadline times out although 3 units are free. */
static void sem_head_of_line_blocks(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 4), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);

    acquire_job b;
    acquire_job_start(&b, sem, 4, NULL);
    CHECK(wait_queued(sem, 4, 1));

    sp_ctx *ctx;
    int64_t start = test_now_ns();
    CHECK_EQ(sp_ctx_with_timeout(NULL, 100 * MS, &ctx), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, ctx), ETIMEDOUT);
    int64_t elapsed = test_now_ns() - start;
    CHECK_GE(elapsed, 100 * MS);
    CHECK_LT(elapsed, 1000 * MS * sp_test_scale());
    sp_ctx_release(ctx);

    CHECK_EQ(sp_sem_available(sem), 3);
    CHECK(!acquire_job_done(&b));
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    acquire_job_join(&b);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(sp_sem_release(sem, 4), 0);
    sp_sem_destroy(sem);
}

/*
 * The head waiter gives up and the waiters behind it that now fit are
 * admitted without another release. sem(10); A (this thread) holds 10; B
 * requests 10 with a deadline of start + deadline_ns, or is canceled then
 * when cancel is set; C requests 1 with no deadline, queued behind B; A
 * releases 1. C stays blocked until B leaves, then is admitted within
 * 500 ms. Returns false when a check failed.
 */
static bool head_gives_up_once(int64_t deadline_ns, bool cancel)
{
    int failures = check_failures;
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 10), 0);
    CHECK_EQ(sp_sem_acquire(sem, 10, NULL), 0);

    int64_t start = test_now_ns();
    sp_ctx *ctx;
    if (cancel)
        CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
    else
        CHECK_EQ(sp_ctx_with_deadline(NULL, start + deadline_ns, &ctx), 0);

    acquire_job b, c;
    acquire_job_start(&b, sem, 10, ctx);
    CHECK(wait_queued_or_done(sem, 10, &b));
    acquire_job_start(&c, sem, 1, NULL);
    CHECK(wait_queued(sem, 1, 1));
    CHECK_EQ(sp_sem_release(sem, 1), 0);

    int64_t b_ends = start + deadline_ns;
    if (cancel) {
        int64_t now = test_now_ns();
        if (now < start + deadline_ns)
            test_sleep_ns(start + deadline_ns - now);
        CHECK(!acquire_job_done(&c));
        b_ends = test_now_ns();
        sp_ctx_cancel(ctx);
    }

    acquire_job_join(&b);
    int expected = cancel ? ECANCELED : ETIMEDOUT;
    CHECK_EQ(b.rc, expected);
    CHECK(wait_done(&c, 500 * MS * sp_test_scale()));
    acquire_job_join(&c);
    CHECK_EQ(c.rc, 0);
    CHECK_GE(c.end_ns - start, deadline_ns - deadline_ns / 20);
    CHECK_GE(c.end_ns, b_ends);
    CHECK_EQ(sp_sem_available(sem), 0);

    CHECK_EQ(sp_sem_release(sem, 9), 0);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), 10);
    sp_ctx_release(ctx);
    sp_sem_destroy(sem);
    return check_failures == failures;
}

static void sem_head_timeout_admits_next(void)
{
    CHECK(head_gives_up_once(100 * MS, false));

    int rounds = 200 / sp_test_scale();
    for (int i = 0; i < rounds; i++)
        if (!head_gives_up_once(2 * MS, false))
            break;
}

static void sem_head_cancel_admits_next(void)
{
    CHECK(head_gives_up_once(100 * MS, true));

    int rounds = 200 / sp_test_scale();
    for (int i = 0; i < rounds; i++)
        if (!head_gives_up_once(2 * MS, true))
            break;
}

/*
 * Fairness to a large request: sem(4) and four threads that loop
 * acquire(1), hold about 100 us, release(1). At 100 ms a fifth thread
 * requests all 4 units with a 2 s deadline. It must be admitted within
 * 500 ms; no small acquire issued after it is queued may be admitted before
 * it, and every try_acquire(1) issued meanwhile must fail. Tickets from one
 * counter order "issued after it is queued".
 */
static struct {
    sp_sem          *sem;
    atomic_bool      stop;
    atomic_llong     tickets;
    atomic_llong     big_queued_ticket; /* LLONG_MAX until the big request is seen queued */
    atomic_bool      big_admitted;
    atomic_int       acquire_violations;
    atomic_int       try_violations;
    atomic_long      small_admissions;
} fair;

static bool fair_passed_big(long long ticket)
{
    return ticket > atomic_load(&fair.big_queued_ticket) && !atomic_load(&fair.big_admitted);
}

static void *fair_small_main(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !atomic_load(&fair.stop); i++) {
        long long ticket = atomic_fetch_add(&fair.tickets, 1);
        bool admitted;
        if (i % 4 == 3) {
            admitted = sp_sem_try_acquire(fair.sem, 1);
            if (admitted && fair_passed_big(ticket))
                atomic_fetch_add(&fair.try_violations, 1);
        } else {
            admitted = sp_sem_acquire(fair.sem, 1, NULL) == 0;
            CHECK(admitted);
            if (admitted && fair_passed_big(ticket))
                atomic_fetch_add(&fair.acquire_violations, 1);
        }
        if (!admitted)
            continue;

        atomic_fetch_add(&fair.small_admissions, 1);
        test_sleep_ns(100000);
        CHECK_EQ(sp_sem_release(fair.sem, 1), 0);
    }
    return NULL;
}

static void sem_fairness_big_request(void)
{
    enum { SMALL = 4 };
    CHECK_EQ(sp_sem_create(&fair.sem, 4), 0);
    atomic_store(&fair.stop, false);
    atomic_store(&fair.tickets, 0);
    atomic_store(&fair.big_queued_ticket, LLONG_MAX);
    atomic_store(&fair.big_admitted, false);
    atomic_store(&fair.acquire_violations, 0);
    atomic_store(&fair.try_violations, 0);
    atomic_store(&fair.small_admissions, 0);

    int64_t start = test_now_ns();
    pthread_t small[SMALL];
    for (int i = 0; i < SMALL; i++)
        CHECK_EQ(pthread_create(&small[i], NULL, fair_small_main, NULL), 0);
    test_sleep_ns(100 * MS);

    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 2000 * MS, &ctx), 0);
    acquire_job big;
    acquire_job_start(&big, fair.sem, 4, ctx);
    CHECK(wait_queued_or_done(fair.sem, 4, &big));
    atomic_store(&fair.big_queued_ticket, atomic_fetch_add(&fair.tickets, 1));

    CHECK(wait_done(&big, 500 * MS * sp_test_scale()));
    acquire_job_join(&big);
    CHECK_EQ(big.rc, 0);
    CHECK_LT(big.end_ns - big.start_ns, 500 * MS * sp_test_scale());
    atomic_store(&fair.big_admitted, true);
    if (big.rc == 0)
        CHECK_EQ(sp_sem_release(fair.sem, 4), 0);

    int64_t remaining = start + 3000 * MS - test_now_ns();
    if (remaining > 0)
        test_sleep_ns(remaining);
    atomic_store(&fair.stop, true);
    for (int i = 0; i < SMALL; i++)
        pthread_join(small[i], NULL);

    CHECK_EQ(atomic_load(&fair.acquire_violations), 0);
    CHECK_EQ(atomic_load(&fair.try_violations), 0);
    CHECK_GT(atomic_load(&fair.small_admissions), 0);
    CHECK_EQ(sp_sem_available(fair.sem), 4);
    sp_ctx_release(ctx);
    sp_sem_destroy(fair.sem);
}

/* A context that has already ended fails the call even when units are
 * free; nothing is taken. */
/* Deadlines that pass while a request still polls for units, before it
 * queues: each call times out, never early, and leaves nothing behind. */
static void sem_timeout_before_queueing(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 3), 0);
    CHECK_EQ(sp_sem_acquire(sem, 3, NULL), 0);

    static const int64_t timeouts_ns[] = {1000, 4000, 8000, 16000, 64000};
    for (size_t i = 0; i < sizeof timeouts_ns / sizeof timeouts_ns[0]; i++) {
        sp_ctx *ctx;
        CHECK_EQ(sp_ctx_with_timeout(NULL, timeouts_ns[i], &ctx), 0);

        CHECK_EQ(sp_sem_acquire(sem, 1, ctx), ETIMEDOUT);
        CHECK(sp_now_ns() >= sp_ctx_deadline(ctx));
        CHECK_EQ(sp_sem_available(sem), 0);
        CHECK_EQ(sp__sem_queued_count(sem, 0), 0);

        sp_ctx_release(ctx);
    }

    CHECK_EQ(sp_sem_release(sem, 3), 0);
    CHECK_EQ(sp_sem_available(sem), 3);
    sp_sem_destroy(sem);
}

static void sem_ctx_ended_on_entry(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 2), 0);

    sp_ctx *canceled;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &canceled), 0);
    sp_ctx_cancel(canceled);
    CHECK_EQ(sp_sem_acquire(sem, 1, canceled), ECANCELED);
    CHECK_EQ(sp_sem_available(sem), 2);

    sp_ctx *expired;
    CHECK_EQ(sp_ctx_with_deadline(NULL, sp_now_ns() - 1, &expired), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, expired), ETIMEDOUT);
    CHECK_EQ(sp_sem_available(sem), 2);

    sp_ctx *live;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 10000 * MS, &live), 0);
    CHECK_EQ(sp_sem_acquire(sem, 2, live), 0);
    CHECK_EQ(sp_sem_available(sem), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, canceled), ECANCELED);
    CHECK_EQ(sp__sem_queued_count(sem, 0), 0);
    CHECK_EQ(sp_sem_release(sem, 2), 0);

    CHECK_EQ(sp_sem_acquire(sem, 1, sp_ctx_background()), 0);
    CHECK_EQ(sp_sem_release(sem, 1), 0);

    sp_ctx_release(canceled);
    sp_ctx_release(expired);
    sp_ctx_release(live);
    sp_sem_destroy(sem);
}

/* A queued waiter wakes promptly on cancel (its own context or a parent)
 * and holds nothing. */
static void sem_cancel_wakes_waiter(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 1), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);

    for (int use_parent = 0; use_parent < 2; use_parent++) {
        sp_ctx *parent, *ctx;
        CHECK_EQ(sp_ctx_with_cancel(NULL, &parent), 0);
        CHECK_EQ(sp_ctx_with_cancel(parent, &ctx), 0);

        acquire_job job;
        acquire_job_start(&job, sem, 1, ctx);
        CHECK(wait_queued(sem, 1, 1));

        int64_t canceled_at = test_now_ns();
        sp_ctx_cancel(use_parent ? parent : ctx);
        acquire_job_join(&job);
        CHECK_EQ(job.rc, ECANCELED);
        CHECK_LT(job.end_ns - canceled_at, 500 * MS);
        CHECK_EQ(sp_sem_available(sem), 0);
        CHECK_EQ(sp__sem_queued_count(sem, 0), 0);

        sp_ctx_release(ctx);
        sp_ctx_release(parent);
    }

    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), 1);
    sp_sem_destroy(sem);
}

/* Signals without SA_RESTART interrupt the futex wait; the acquire must
 * neither return early nor report them. */
static void on_sigusr1(int signo)
{
    (void)signo;
}

static void signal_until_done(acquire_job *job, sp_sem *sem, int64_t release_after_ns)
{
    int64_t start = test_now_ns();
    bool released = false;
    while (!acquire_job_done(job)) {
        pthread_kill(job->thread, SIGUSR1);
        test_sleep_ns(5 * MS);
        if (!released && release_after_ns > 0 && test_now_ns() - start >= release_after_ns) {
            CHECK_EQ(sp_sem_release(sem, 1), 0);
            released = true;
        }
    }
}

static void sem_signals_do_not_end_wait(void)
{
    struct sigaction action, previous;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigusr1;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    CHECK_EQ(sigaction(SIGUSR1, &action, &previous), 0);

    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 1), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);

    /* With a 300 ms deadline: times out on time. */
    int64_t start = test_now_ns();
    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 300 * MS, &ctx), 0);
    acquire_job job;
    acquire_job_start(&job, sem, 1, ctx);
    signal_until_done(&job, sem, 0);
    acquire_job_join(&job);
    CHECK_EQ(job.rc, ETIMEDOUT);
    CHECK_GE(job.end_ns - start, 295 * MS);
    CHECK_LE(job.end_ns - start, 1500 * MS * sp_test_scale());
    CHECK_EQ(sp_sem_available(sem), 0);
    sp_ctx_release(ctx);

    /* Without a deadline: admitted by the release at 200 ms. */
    acquire_job_start(&job, sem, 1, NULL);
    signal_until_done(&job, sem, 200 * MS);
    acquire_job_join(&job);
    CHECK_EQ(job.rc, 0);
    CHECK_GE(job.end_ns - job.start_ns, 195 * MS);
    CHECK_EQ(sp_sem_available(sem), 0);

    CHECK_EQ(sp_sem_release(sem, 1), 0);
    sp_sem_destroy(sem);
    sigaction(SIGUSR1, &previous, NULL);
}

/* Destroy with a queued waiter logs and leaves the semaphore working. */
static void sem_destroy_with_waiter_leaks(void)
{
    sp_sem *sem;
    CHECK_EQ(sp_sem_create(&sem, 1), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, NULL), 0);

    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
    acquire_job job;
    acquire_job_start(&job, sem, 1, ctx);
    CHECK(wait_queued(sem, 1, 1));

    atomic_store(&log_lines, 0);
    sp_set_log(count_log, NULL);
    sp_sem_destroy(sem);
    sp_set_log(NULL, NULL);
    CHECK_EQ(atomic_load(&log_lines), 1);
    CHECK(strstr(log_last, "sp_sem_destroy") != NULL);

    /* Still intact: the waiter is queued, units can move. */
    CHECK_EQ(sp__sem_queued_count(sem, 1), 1);
    CHECK_EQ(sp_sem_available(sem), 0);
    sp_ctx_cancel(ctx);
    acquire_job_join(&job);
    CHECK_EQ(job.rc, ECANCELED);
    CHECK_EQ(sp_sem_release(sem, 1), 0);
    CHECK_EQ(sp_sem_available(sem), 1);

    /* With nothing queued the second destroy frees it without a log line. */
    atomic_store(&log_lines, 0);
    sp_set_log(count_log, NULL);
    sp_sem_destroy(sem);
    sp_set_log(NULL, NULL);
    CHECK_EQ(atomic_load(&log_lines), 0);
    sp_ctx_release(ctx);
}

int main(void)
{
    RUN_TEST(sem_create_rejects_bad_capacity);
    RUN_TEST(sem_units_held);
    RUN_TEST(sem_error_codes);
    RUN_TEST(sem_large_capacity_no_overflow);
    RUN_TEST(sem_oversize_request_fails_at_once);
    RUN_TEST(sem_admission_order);
    RUN_TEST(sem_weighted_admission_order);
    RUN_TEST(sem_try_acquire_never_passes_waiter);
    RUN_TEST(sem_head_of_line_blocks);
    RUN_TEST(sem_head_timeout_admits_next);
    RUN_TEST(sem_head_cancel_admits_next);
    RUN_TEST(sem_fairness_big_request);
    RUN_TEST(sem_ctx_ended_on_entry);
    RUN_TEST(sem_timeout_before_queueing);
    RUN_TEST(sem_cancel_wakes_waiter);
    RUN_TEST(sem_signals_do_not_end_wait);
    RUN_TEST(sem_destroy_with_waiter_leaks);
    return check_exit_code();
}
