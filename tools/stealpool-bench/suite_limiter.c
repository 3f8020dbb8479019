/*
 * The limiter suite (L1): the cost of one sp_limiter_allow call against a
 * token bucket guarded by a mutex (bench/ref/mutex_bucket.h), and the
 * accuracy of sp_limiter_wait under two threads.
 *
 * Cost rows, single-threaded, one limiter per run:
 *   allow(1) at an infinite rate, clock read included;
 *   allow(1) at 1e8 tokens/s with burst 1e6, clock read included (the
 *     rate exceeds what one thread can take, so every call is admitted
 *     and moves the state);
 *   allow_at(1, t) with t advancing 10 ns per call at 1e8 tokens/s, so
 *     that every call is admitted by exactly one refilled token; no clock
 *     read;
 *   one CLOCK_MONOTONIC read, for scale.
 * The answer check is that every call was admitted.
 *
 * Accuracy: rate 1000/s, burst 10, two threads calling sp_limiter_wait(1)
 * under a context that ends 2 s after the limiter was created. The bucket
 * starts full, so exactly 10 + 2000 = 2010 calls can be admitted; the
 * answer check is that the count is within 1% of that.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <stealpool.h>

#include "bench.h"
#include "mutex_bucket.h"

/* Timed rounds of the cost rows when --reps is not given. */
#define DEFAULT_REPS 5

/* Timed rounds of the 2 s accuracy run when --reps is not given. */
#define DEFAULT_ACCURACY_REPS 3

/* Calls per cost run, about 50 ms at 25 ns per call. */
#define CALLS 2000000u

#define FINITE_RATE 1e8
#define FINITE_BURST 1000000
#define ALLOW_AT_STEP_NS 10

#define ACCURACY_RATE 1000.0
#define ACCURACY_BURST 10
#define ACCURACY_THREADS 2
#define ACCURACY_SPAN_NS 2000000000LL
#define ACCURACY_WARMUP_SPAN_NS 100000000LL
#define ACCURACY_EXPECTED 2010.0
#define ACCURACY_TOLERANCE_PERCENT 1.0

typedef enum { CALL_ALLOW_INFINITE, CALL_ALLOW_FINITE, CALL_ALLOW_AT, CALL_CLOCK } call_kind;

typedef enum { SYSTEM_STEALPOOL, SYSTEM_MUTEX_BUCKET, SYSTEM_CLOCK } limiter_system;

/* Context of one cost case. */
typedef struct cost_case {
    call_kind kind;
    limiter_system system;
} cost_case;

static const char *system_name(limiter_system system)
{
    switch (system) {
    case SYSTEM_STEALPOOL:
        return "stealpool sp_limiter";
    case SYSTEM_MUTEX_BUCKET:
        return "mutex token bucket";
    default:
        return "clock_gettime";
    }
}

static double rate_of(call_kind kind)
{
    return kind == CALL_ALLOW_INFINITE ? INFINITY : FINITE_RATE;
}

/* Makes `CALLS` calls; returns how many were admitted. */
static uint64_t stealpool_calls(sp_limiter *limiter, call_kind kind)
{
    uint64_t admitted = 0;
    if (kind == CALL_ALLOW_AT) {
        int64_t now = sp_now_ns();
        for (unsigned i = 0; i < CALLS; i++) {
            admitted += sp_limiter_allow_at(limiter, 1, now);
            now += ALLOW_AT_STEP_NS;
        }
        return admitted;
    }

    for (unsigned i = 0; i < CALLS; i++)
        admitted += sp_limiter_allow(limiter, 1);
    return admitted;
}

static uint64_t bucket_calls(mutex_bucket *bucket, call_kind kind)
{
    uint64_t admitted = 0;
    if (kind == CALL_ALLOW_AT) {
        int64_t now = sb_now_ns();
        for (unsigned i = 0; i < CALLS; i++) {
            admitted += mutex_bucket_allow_at(bucket, 1, now);
            now += ALLOW_AT_STEP_NS;
        }
        return admitted;
    }

    for (unsigned i = 0; i < CALLS; i++)
        admitted += mutex_bucket_allow_at(bucket, 1, sb_now_ns());
    return admitted;
}

/* Reads the clock `CALLS` times; returns a value that depends on every read. */
static uint64_t clock_calls(void)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < CALLS; i++)
        sum += (uint64_t)sb_now_ns();
    return sum;
}

static int run_cost_case(void *context, sb_answer *answer)
{
    const cost_case *c = context;
    uint64_t admitted = 0;

    if (c->system == SYSTEM_STEALPOOL) {
        sp_limiter *limiter;
        int rc = sp_limiter_create(&limiter, rate_of(c->kind), FINITE_BURST);
        if (rc != 0)
            return rc;
        admitted = stealpool_calls(limiter, c->kind);
        sp_limiter_destroy(limiter);
    } else if (c->system == SYSTEM_MUTEX_BUCKET) {
        mutex_bucket bucket;
        mutex_bucket_init(&bucket, rate_of(c->kind), FINITE_BURST);
        admitted = bucket_calls(&bucket, c->kind);
        mutex_bucket_destroy(&bucket);
    } else {
        /* Nothing to check; the sum only keeps the reads from being removed. */
        volatile uint64_t sink = clock_calls();
        (void)sink;
        *answer = SB_ANSWER_NOT_CHECKED;
        return 0;
    }

    *answer = admitted == CALLS ? SB_ANSWER_OK : SB_ANSWER_WRONG;
    if (admitted != CALLS)
        sb_progress("%s: %llu of %u calls admitted, expected all", system_name(c->system),
                    (unsigned long long)admitted, CALLS);
    return 0;
}

static unsigned reps_of(const sb_options *options, unsigned fallback)
{
    return options->reps > 0 ? options->reps : fallback;
}

static int measure_cost(sb_report *report, const sb_options *options, call_kind kind,
                        const char *name, double *ours, double *bucket)
{
    cost_case contexts[2] = {{kind, SYSTEM_MUTEX_BUCKET}, {kind, SYSTEM_STEALPOOL}};
    sb_case cases[2];
    for (size_t i = 0; i < 2; i++)
        cases[i] = (sb_case){
            .system = system_name(contexts[i].system),
            .baseline = i == 0,
            .run = run_cost_case,
            .context = &contexts[i],
        };

    sb_workload workload = {
        .name = name,
        .unit = "ms",
        .items = CALLS,
        .item = "call",
        .reps = reps_of(options, DEFAULT_REPS),
    };
    int rc = sb_measure(report, &workload, cases, 2);
    *bucket = cases[0].median_ns / CALLS;
    *ours = cases[1].median_ns / CALLS;
    return rc;
}

static int measure_clock(sb_report *report, const sb_options *options, double *clock_ns)
{
    cost_case context = {CALL_CLOCK, SYSTEM_CLOCK};
    sb_case c = {
        .system = system_name(SYSTEM_CLOCK),
        .baseline = true,
        .run = run_cost_case,
        .context = &context,
    };
    sb_workload workload = {
        .name = "L1 clock read, CLOCK_MONOTONIC",
        .unit = "ms",
        .items = CALLS,
        .item = "read",
        .reps = reps_of(options, DEFAULT_REPS),
    };
    int rc = sb_measure(report, &workload, &c, 1);
    *clock_ns = c.median_ns / CALLS;
    return rc;
}

static int measure_costs(sb_report *report, const sb_options *options)
{
    double clock_ns, infinite, finite, at, bucket_infinite, bucket_finite, bucket_at;

    int rc = measure_clock(report, options, &clock_ns);
    if (rc == 0)
        rc = measure_cost(report, options, CALL_ALLOW_INFINITE,
                          "L1 allow(1), infinite rate, clock read", &infinite, &bucket_infinite);
    if (rc == 0)
        rc = measure_cost(report, options, CALL_ALLOW_FINITE,
                          "L1 allow(1), 1e8/s burst 1e6, clock read", &finite, &bucket_finite);
    if (rc == 0)
        rc = measure_cost(report, options, CALL_ALLOW_AT,
                          "L1 allow_at(1), 1e8/s burst 1e6, given time", &at, &bucket_at);
    if (rc != 0)
        return rc;

    sb_report_note(report,
                   "L1 allow(1): %.1f ns infinite rate, %.1f ns finite rate (target <= 35 with "
                   "its clock read, which alone is %.1f ns)",
                   infinite, finite, clock_ns);
    sb_report_note(report, "L1 allow_at(1): %.1f ns (target <= 10)", at);
    sb_report_note(report,
                   "L1 mutex token bucket time / sp_limiter time: infinite %.2f, finite %.2f, "
                   "given time %.2f",
                   bucket_infinite / infinite, bucket_finite / finite, bucket_at / at);
    return 0;
}

/* ---- accuracy ---------------------------------------------------------- */

typedef struct accuracy_case {
    sp_limiter *limiter;
    sp_ctx *ctx;
    _Atomic uint64_t admitted;
    int error; /* first unexpected error of a wait; written before the join */
    uint64_t last_admitted;
} accuracy_case;

static void *accuracy_thread(void *arg)
{
    accuracy_case *c = arg;
    for (;;) {
        int rc = sp_limiter_wait(c->limiter, 1, c->ctx);
        if (rc == ETIMEDOUT)
            break;
        if (rc != 0) {
            c->error = rc;
            break;
        }
        /* relaxed: a plain counter, read after the threads are joined */
        atomic_fetch_add_explicit(&c->admitted, 1, memory_order_relaxed);
    }
    return NULL;
}

/* Runs the threads for span_ns and stores the count in c->last_admitted. */
static int run_accuracy_span(accuracy_case *c, int64_t span_ns)
{
    int rc = sp_limiter_create(&c->limiter, ACCURACY_RATE, ACCURACY_BURST);
    if (rc != 0)
        return rc;
    rc = sp_ctx_with_deadline(NULL, sp_now_ns() + span_ns, &c->ctx);
    if (rc != 0) {
        sp_limiter_destroy(c->limiter);
        return rc;
    }

    /* relaxed: no thread that uses the counter runs yet */
    atomic_store_explicit(&c->admitted, 0, memory_order_relaxed);
    c->error = 0;
    pthread_t threads[ACCURACY_THREADS];
    unsigned started = 0;
    for (; started < ACCURACY_THREADS; started++) {
        rc = pthread_create(&threads[started], NULL, accuracy_thread, c);
        if (rc != 0) {
            sp_ctx_cancel(c->ctx);
            break;
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);

    /* relaxed: the joins order every increment before this load */
    c->last_admitted = atomic_load_explicit(&c->admitted, memory_order_relaxed);
    sp_ctx_release(c->ctx);
    sp_limiter_destroy(c->limiter);
    return rc != 0 ? rc : c->error;
}

static double deviation_percent(uint64_t admitted)
{
    return ((double)admitted - ACCURACY_EXPECTED) / ACCURACY_EXPECTED * 100.0;
}

static int run_accuracy_case(void *context, sb_answer *answer)
{
    accuracy_case *c = context;
    int rc = run_accuracy_span(c, ACCURACY_SPAN_NS);

    double deviation = deviation_percent(c->last_admitted);
    bool within = fabs(deviation) <= ACCURACY_TOLERANCE_PERCENT;
    *answer = rc == 0 && within ? SB_ANSWER_OK : SB_ANSWER_WRONG;
    sb_progress("L1 accuracy: %llu admitted, %+.2f%% from %.0f",
                (unsigned long long)c->last_admitted, deviation, ACCURACY_EXPECTED);
    return rc;
}

static int warm_up_accuracy_case(void *context)
{
    return run_accuracy_span(context, ACCURACY_WARMUP_SPAN_NS);
}

static int compare_counts(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Runs its own loop instead of sb_measure, because the note needs the
 * admitted count of every round. The row carries the run time and the
 * worst answer.
 */
static int measure_accuracy(sb_report *report, const sb_options *options)
{
    unsigned reps = reps_of(options, DEFAULT_ACCURACY_REPS);
    uint64_t *counts = calloc(reps, sizeof *counts);
    if (counts == NULL)
        return ENOMEM;

    accuracy_case context = {0};
    int rc = 0;
    sb_answer worst = SB_ANSWER_OK;
    double *times = calloc(reps, sizeof *times);
    if (times == NULL) {
        free(counts);
        return ENOMEM;
    }

    sb_progress("L1 accuracy: warm-up");
    rc = warm_up_accuracy_case(&context);
    for (unsigned r = 0; r < reps && rc == 0; r++) {
        sb_progress("L1 accuracy: round %u of %u (2 s)", r + 1, reps);
        sb_answer answer = SB_ANSWER_NOT_CHECKED;
        int64_t start = sb_now_ns();
        rc = run_accuracy_case(&context, &answer);
        times[r] = (double)(sb_now_ns() - start);
        counts[r] = context.last_admitted;
        if (answer == SB_ANSWER_WRONG)
            worst = SB_ANSWER_WRONG;
    }

    if (rc == 0) {
        sb_row row = {
            .workload = "L1 accuracy: 1000/s, burst 10, 2 threads, 2 s",
            .system = system_name(SYSTEM_STEALPOOL),
            .median_ns = sb_median(times, reps),
            .runs = reps,
            .unit = "s",
            .answer = worst,
        };
        sb_report_row(report, &row);

        qsort(counts, reps, sizeof *counts, compare_counts);
        sb_report_note(report,
                       "L1 accuracy: admitted %llu (median of %u run%s, range %llu..%llu), "
                       "%+.2f%% from %.0f (target within %.0f%%)",
                       (unsigned long long)counts[reps / 2], reps, reps == 1 ? "" : "s",
                       (unsigned long long)counts[0],
                       (unsigned long long)counts[reps - 1], deviation_percent(counts[reps / 2]),
                       ACCURACY_EXPECTED, ACCURACY_TOLERANCE_PERCENT);
    }

    free(times);
    free(counts);
    return rc;
}

static int run_limiter(const sb_options *options, sb_report *report)
{
    int rc = measure_costs(report, options);
    if (rc == 0)
        rc = measure_accuracy(report, options);

    if (rc == 0)
        sb_report_note(report, "cost rows: %u timed runs of %u calls after one warm-up run; "
                               "accuracy: %u runs of 2 s after a 0.1 s warm-up",
                       reps_of(options, DEFAULT_REPS), CALLS,
                       reps_of(options, DEFAULT_ACCURACY_REPS));
    return rc;
}

const sb_suite sb_suite_limiter = {
    .name = "limiter",
    .description = "L1 rate limiter: allow(1) and allow_at(1) cost against a mutex token "
                   "bucket, and the admitted count of 2 threads waiting for 2 s at 1000/s, "
                   "burst 10 (expected 2010)",
    .run = run_limiter,
};
