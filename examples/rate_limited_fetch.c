/*
 * A rate-limited fetch loop in the shape of a scanner that queries an
 * external API: at most 150 requests start per second (burst 10), at most
 * IN_FLIGHT are outstanding at once, and the first failed request cancels
 * the rest. The "API" is simulated with nanosleep (no network).
 *
 * Usage: rate_limited_fetch [targets [fail_at]]
 *   targets  number of requests to make (default 300)
 *   fail_at  index of a request that fails, canceling the rest (default none)
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

#define RATE_PER_SEC 150.0
#define BURST        10
#define IN_FLIGHT    8

#define PROGRAM     "rate_limited_fetch"
#define USAGE       "usage: rate_limited_fetch [targets [fail_at]]\n"
#define MAX_TARGETS 1000000L /* upper bound on counts: 1e6 requests take about 2 hours */

typedef struct fetcher {
    sp_sem         *in_flight;
    long            fail_at;
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
        if (req->index == f->fail_at)
            rc = EIO;
        else
            atomic_fetch_add_explicit(&f->fetched, 1, memory_order_relaxed);
    }

    atomic_fetch_sub_explicit(&f->outstanding, 1, memory_order_relaxed);
    sp_sem_release(f->in_flight, 1);
    free(req);
    return rc;
}

/* Parses the whole of text as a decimal count in 0..max, or prints the usage
 * line and exits with status 2. A leading digit is required because strtol
 * would also accept blanks and a sign. */
static long parse_count(const char *text, const char *name, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || value > max) {
        fprintf(stderr, "%s: invalid %s '%s' (expected 0..%ld)\n%s", PROGRAM, name, text, max,
                USAGE);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "%s: too many arguments\n%s", PROGRAM, USAGE);
        return 2;
    }

    long targets = argc > 1 ? parse_count(argv[1], "targets", MAX_TARGETS) : 300;
    long fail_at = argc > 2 ? parse_count(argv[2], "fail_at", MAX_TARGETS) : -1;

    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = IN_FLIGHT;
    cfg.pin = SP_PIN_NONE;

    sp_pool *pool;
    sp_limiter *limiter;
    sp_group *group;
    fetcher f = {.fail_at = fail_at};
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
    }

    int err = sp_group_wait(group);
    double seconds = (double)(sp_now_ns() - start) / 1e9;

    printf("requests started %ld of %ld, fetched %ld, in %.2f s (%.1f/s, limit %.0f/s)\n",
           started, targets, atomic_load_explicit(&f.fetched, memory_order_relaxed), seconds,
           seconds > 0 ? (double)started / seconds : 0.0, RATE_PER_SEC);
    printf("max in flight %d (limit %d); group result: %s\n",
           atomic_load_explicit(&f.max_outstanding, memory_order_relaxed), IN_FLIGHT,
           err == 0 ? "ok" : strerror(err));

    sp_group_destroy(group);
    sp_sem_destroy(f.in_flight);
    sp_limiter_destroy(limiter);
    sp_pool_destroy(pool);
    return err == 0 ? 0 : 1;
}
