/*
 * Baseline for the limiter benchmark: a token bucket in the shape of
 * golang.org/x/time/rate (tokens as a double, refilled from the time of the
 * last update and capped at burst), guarded by one mutex. Header-only, C
 * and C++.
 */
#ifndef SP_BENCH_REF_MUTEX_BUCKET_H
#define SP_BENCH_REF_MUTEX_BUCKET_H

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mutex_bucket {
    pthread_mutex_t lock;
    double          rate;      /* tokens per second; INFINITY admits all */
    double          burst;
    double          tokens;    /* under lock */
    int64_t         last_ns;   /* time of the last update; under lock */
} mutex_bucket;

static inline void mutex_bucket_init(mutex_bucket *b, double rate, double burst)
{
    pthread_mutex_init(&b->lock, NULL);
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last_ns = 0;
}

static inline void mutex_bucket_destroy(mutex_bucket *b)
{
    pthread_mutex_destroy(&b->lock);
}

static inline bool mutex_bucket_allow_at(mutex_bucket *b, double n, int64_t now_ns)
{
    pthread_mutex_lock(&b->lock);
    bool admitted;
    if (isinf(b->rate)) {
        admitted = true;
    } else {
        int64_t elapsed = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
        double tokens = b->tokens + (double)elapsed * b->rate / 1e9;
        if (tokens > b->burst)
            tokens = b->burst;
        admitted = tokens >= n;
        if (admitted)
            tokens -= n;
        b->tokens = tokens;
        if (now_ns > b->last_ns)
            b->last_ns = now_ns;
    }
    pthread_mutex_unlock(&b->lock);
    return admitted;
}

#endif
