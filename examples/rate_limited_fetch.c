/*
 * A rate-limited fetch loop in the shape of a scanner that queries an
 * external API: at most 150 requests start per second (burst 10), at most
 * IN_FLIGHT are outstanding at once, and the first failed request cancels
 * the rest. The "API" is simulated with nanosleep (no network).
 *
 * Usage: rate_limited_fetch [targets [fail_at]], or --help for the ranges
 *   targets  number of requests to make (default 300)
 *   fail_at  index of a request that fails, canceling the rest (default: none)
 *
 * The limiter starts full, so the first BURST requests do not wait for it
 * and the overall rate of a short run is above the limit. The summary
 * prints the rate measured after the burst separately.
 *
 * Exit status: 0 on success, 1 when setup fails or a request fails, 2 for
 * invalid usage.
 *
 * The pool gets IN_FLIGHT workers because every fetch sleeps in blocking
 * I/O: with fewer workers, the blocked fetches would cap concurrency below
 * the semaphore's limit.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stealpool.h>

#include "example_cli.h"

#define RATE_PER_SEC 150.0
#define BURST        10
#define IN_FLIGHT    8

#define MAX_TARGETS 1000000L /* upper bound on counts: 1e6 requests take about 2 hours */

static const example_cli cli = {
    .program = "rate_limited_fetch",
    .summary = "Makes simulated requests (5 to 35 ms sleeps, no network) with at most 150\n"
               "starting per second after a burst of 10, and at most 8 in flight.\n"
               "The first request that fails cancels the rest.\n",
    .exit_failure = "setup fails or a request fails",
    .arg_count = 2,
    .args = {
        {"targets", "number of requests to make", MAX_TARGETS, 300, false},
        {"fail_at", "index of a request that fails with EIO", MAX_TARGETS, -1, true},
    },
};

typedef struct fetcher {
    sp_sem         *in_flight;
    long            fail_at;
    _Atomic long    failed_index; /* index of the first failed request, or -1 */
    _Atomic int     outstanding;
    _Atomic int     max_outstanding;
    _Atomic long    fetched;
} fetcher;

typedef struct request {
    fetcher *owner;
    long     index;
} request;

/* Simulated latency of request i: 5 to 35 ms, fixed per index. */
static int64_t latency_ns(long index)
{
    uint64_t x = (uint64_t)index * 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
    return 5000000 + (int64_t)(x % 30000000);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Runs one request; returns 0 or EIO for the request marked to fail. */
static int fetch(sp_ctx *ctx, void *arg)
{
    request *req = arg;
    fetcher *f = req->owner;

    /* relaxed: statistics only */
    int now_out = atomic_fetch_add_explicit(&f->outstanding, 1, memory_order_relaxed) + 1;
    int seen = atomic_load_explicit(&f->max_outstanding, memory_order_relaxed);
    while (now_out > seen &&
           !atomic_compare_exchange_weak_explicit(&f->max_outstanding, &seen, now_out,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }

    int rc = 0;
    if (sp_ctx_err(ctx) == 0) {
        sleep_ns(latency_ns(req->index));
        if (req->index == f->fail_at) {
            /* relaxed: sp_group_wait orders every task before the index is read */
            long none = -1;
            atomic_compare_exchange_strong_explicit(&f->failed_index, &none, req->index,
                                                    memory_order_relaxed, memory_order_relaxed);
            rc = EIO;
        } else {
            atomic_fetch_add_explicit(&f->fetched, 1, memory_order_relaxed);
        }
    }

    atomic_fetch_sub_explicit(&f->outstanding, 1, memory_order_relaxed);
    sp_sem_release(f->in_flight, 1);
    free(req);
    return rc;
}

/* Start of the loop, start of its last request, and the return of
 * sp_group_wait, in sp_now_ns nanoseconds. */
typedef struct run_times {
    int64_t start;
    int64_t last_start;
    int64_t end;
} run_times;

/* Prints the request counts and rates, then the in-flight peak and the
 * group's result. Reads the counters after sp_group_wait. */
static void print_summary(fetcher *f, const run_times *times, long started, long targets,
                          int err)
{
    /* relaxed: sp_group_wait ordered every task before these loads */
    long fetched = atomic_load_explicit(&f->fetched, memory_order_relaxed);
    int max_outstanding = atomic_load_explicit(&f->max_outstanding, memory_order_relaxed);
    long failed_index = atomic_load_explicit(&f->failed_index, memory_order_relaxed);

    double seconds = (double)(times->end - times->start) / 1e9;
    printf("requests started %ld of %ld, fetched %ld, in %.2f s: %.1f/s overall, "
           "from a burst of %d and then at most %.0f/s\n",
           started, targets, fetched, seconds, seconds > 0 ? (double)started / seconds : 0.0,
           BURST, RATE_PER_SEC);

    /* Requests after the burst wait for the limiter, so their start rate is
     * the one to compare with the limit. */
    double after_burst_seconds = (double)(times->last_start - times->start) / 1e9;
    if (started > BURST && after_burst_seconds > 0)
        printf("after the burst: %ld requests started at %.1f/s\n", started - BURST,
               (double)(started - BURST) / after_burst_seconds);
    else
        printf("after the burst: none (%ld requests started, burst %d)\n", started, BURST);

    printf("max in flight %d (limit %d); group result: ", max_outstanding, IN_FLIGHT);
    if (err == 0)
        printf("ok\n");
    else if (failed_index >= 0)
        printf("request %ld failed: %s\n", failed_index, strerror(err));
    else
        printf("%s\n", strerror(err));
}

int main(int argc, char **argv)
{
    long values[EXAMPLE_MAX_ARGS];
    example_parse_args(&cli, argc, argv, values);
    long targets = values[0];
    long fail_at = values[1];

    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = IN_FLIGHT;
    cfg.pin = SP_PIN_NONE;

    sp_pool *pool;
    sp_limiter *limiter;
    sp_group *group;
    fetcher f = {.fail_at = fail_at, .failed_index = -1};
    int rc = sp_pool_create(&pool, &cfg);
    if (rc == 0)
        rc = sp_limiter_create(&limiter, RATE_PER_SEC, BURST);
    if (rc == 0)
        rc = sp_sem_create(&f.in_flight, IN_FLIGHT);
    if (rc == 0)
        rc = sp_group_create(&group, pool, NULL);
    if (rc != 0) {
        fprintf(stderr, "rate_limited_fetch: setup failed: %s\n", strerror(rc));
        return 1;
    }

    sp_ctx *ctx = sp_group_ctx(group);
    int64_t start = sp_now_ns();
    int64_t last_start = start;
    long started = 0;
    for (long i = 0; i < targets; i++) {
        /* Pace the request starts, then wait for a free in-flight slot. */
        if (sp_limiter_wait(limiter, 1, ctx) != 0)
            break;
        if (sp_sem_acquire(f.in_flight, 1, ctx) != 0)
            break;

        request *req = malloc(sizeof *req);
        if (req == NULL) {
            sp_sem_release(f.in_flight, 1);
            break;
        }
        *req = (request){&f, i};
        if (sp_group_go(group, fetch, req) != 0) {
            free(req);
            sp_sem_release(f.in_flight, 1);
            break;
        }
        started++;
        last_start = sp_now_ns();
    }

    int err = sp_group_wait(group);
    int64_t end = sp_now_ns();

    run_times times = {start, last_start, end};
    print_summary(&f, &times, started, targets, err);

    sp_group_destroy(group);
    sp_sem_destroy(f.in_flight);
    sp_limiter_destroy(limiter);
    sp_pool_destroy(pool);
    return err == 0 ? 0 : 1;
}
