/* Channel under load: many producers and consumers, blocking and try_
 * calls, closes in the middle of traffic. Every element whose send
 * returned 0 must be received exactly once. Seeded; sized down by
 * SP_TEST_SCALE. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <stealpool/chan.h>
#include <stealpool/ctx.h>

#include "check.h"

#define PRODUCERS 4
#define CONSUMERS 4
#define MS ((int64_t)1000000)

typedef struct stress {
    sp_chan        *ch;
    int64_t         per_producer;
    _Atomic uint8_t *received;      /* times each element was received */
    _Atomic int64_t sent[PRODUCERS];
    _Atomic int64_t total_received;
    _Atomic int64_t bad_values;
    uint64_t        seed;
} stress;

typedef struct worker_arg {
    stress *run;
    int     index;
} worker_arg;

static void *producer(void *arg)
{
    worker_arg *w = arg;
    stress *run = w->run;
    uint64_t seed = run->seed + (uint64_t)w->index * 7919;
    int64_t sent = 0;

    for (int64_t i = 0; i < run->per_producer; i++) {
        int64_t value = (int64_t)w->index * run->per_producer + i;
        int rc;
        if (test_rand(&seed) % 4 == 0 && sp_chan_try_send(run->ch, &value))
            rc = 0;
        else
            rc = sp_chan_send(run->ch, &value, NULL);
        if (rc == EPIPE)
            break;
        CHECK_EQ(rc, 0);
        sent++;
    }
    /* relaxed: read after pthread_join */
    atomic_store_explicit(&run->sent[w->index], sent, memory_order_relaxed);
    return NULL;
}

static void *consumer(void *arg)
{
    worker_arg *w = arg;
    stress *run = w->run;
    uint64_t seed = run->seed + 104729 + (uint64_t)w->index;
    int64_t limit = run->per_producer * PRODUCERS;

    for (;;) {
        int64_t value = -1;
        int rc;
        if (test_rand(&seed) % 4 == 0 && sp_chan_try_recv(run->ch, &value))
            rc = 0;
        else
            rc = sp_chan_recv(run->ch, &value, NULL);
        if (rc == EPIPE)
            break;
        CHECK_EQ(rc, 0);

        if (value < 0 || value >= limit) {
            /* relaxed: counters read after pthread_join */
            atomic_fetch_add_explicit(&run->bad_values, 1, memory_order_relaxed);
            continue;
        }
        /* relaxed: counters read after pthread_join */
        atomic_fetch_add_explicit(&run->received[value], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&run->total_received, 1, memory_order_relaxed);
    }
    return NULL;
}

/* Runs PRODUCERS x CONSUMERS through a channel of the given capacity. With
 * close_after_ms >= 0 the channel is closed that long after the start, in
 * the middle of traffic; otherwise after all producers finish. */
static void run_stress(size_t capacity, int64_t per_producer, int close_after_ms,
                       uint64_t seed)
{
    stress run = {.per_producer = per_producer, .seed = seed};
    CHECK_EQ(sp_chan_create(&run.ch, sizeof(int64_t), capacity), 0);
    size_t total = (size_t)per_producer * PRODUCERS;
    run.received = calloc(total, sizeof *run.received);
    CHECK(run.received != NULL);

    pthread_t producers[PRODUCERS], consumers[CONSUMERS];
    worker_arg producer_args[PRODUCERS], consumer_args[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        consumer_args[i] = (worker_arg){&run, i};
        CHECK_EQ(pthread_create(&consumers[i], NULL, consumer, &consumer_args[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        producer_args[i] = (worker_arg){&run, i};
        CHECK_EQ(pthread_create(&producers[i], NULL, producer, &producer_args[i]), 0);
    }

    if (close_after_ms >= 0) {
        test_sleep_ns(close_after_ms * MS);
        CHECK_EQ(sp_chan_close(run.ch), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(producers[i], NULL);
    if (close_after_ms < 0)
        CHECK_EQ(sp_chan_close(run.ch), 0);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(consumers[i], NULL);

    int64_t sent = 0;
    for (int i = 0; i < PRODUCERS; i++)
        sent += atomic_load_explicit(&run.sent[i], memory_order_relaxed);
    int64_t received = atomic_load_explicit(&run.total_received, memory_order_relaxed);
    CHECK_EQ(atomic_load_explicit(&run.bad_values, memory_order_relaxed), 0);
    CHECK_EQ(received, sent);
    if (close_after_ms < 0)
        CHECK_EQ(sent, (int64_t)total);

    int64_t duplicates = 0;
    for (size_t i = 0; i < total; i++)
        duplicates += atomic_load_explicit(&run.received[i], memory_order_relaxed) > 1;
    CHECK_EQ(duplicates, 0);

    /* Each producer's successful sends are a prefix of its values. */
    for (int p = 0; p < PRODUCERS; p++) {
        int64_t prefix = atomic_load_explicit(&run.sent[p], memory_order_relaxed);
        int64_t missing = 0;
        for (int64_t i = 0; i < prefix; i++)
            missing += atomic_load_explicit(&run.received[p * per_producer + i],
                                            memory_order_relaxed) != 1;
        CHECK_EQ(missing, 0);
    }

    free(run.received);
    sp_chan_destroy(run.ch);
}

static void chan_stress_4x4_million_exactly_once(void)
{
    int64_t per_producer = 1000000 / PRODUCERS / sp_test_scale();
    run_stress(64, per_producer, -1, 0x5eed0101);
}

static void chan_stress_small_capacity_blocking(void)
{
    int64_t per_producer = 200000 / PRODUCERS / sp_test_scale();
    run_stress(2, per_producer, -1, 0x5eed0102);
    run_stress(1, per_producer / 2, -1, 0x5eed0103);
}

static void chan_stress_close_mid_traffic(void)
{
    int64_t per_producer = 1000000 / PRODUCERS;
    for (int round = 0; round < 5; round++)
        run_stress(round % 2 ? 3 : 64, per_producer, 5 + 10 * round, 0x5eed0200 + round);
}

static void chan_stress_unbuffered(void)
{
    int64_t per_producer = 20000 / PRODUCERS / sp_test_scale();
    run_stress(0, per_producer, -1, 0x5eed0301);
    run_stress(0, per_producer * 10, 20, 0x5eed0302);
}

/* Receivers with short deadlines keep timing out while traffic flows; an
 * element must never vanish with a receiver that gave up. */
typedef struct timeout_run {
    sp_chan        *ch;
    int64_t         count;
    _Atomic int64_t received;
    _Atomic int64_t sum;
} timeout_run;

static void *timeout_consumer(void *arg)
{
    timeout_run *run = arg;
    for (;;) {
        sp_ctx *ctx;
        CHECK_EQ(sp_ctx_with_timeout(NULL, 20000, &ctx), 0);
        int64_t value;
        int rc = sp_chan_recv(run->ch, &value, ctx);
        sp_ctx_release(ctx);
        if (rc == EPIPE)
            break;
        if (rc == ETIMEDOUT)
            continue;
        CHECK_EQ(rc, 0);
        /* relaxed: read after pthread_join */
        atomic_fetch_add_explicit(&run->received, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&run->sum, value, memory_order_relaxed);
    }
    return NULL;
}

static void chan_stress_receiver_timeouts_lose_nothing(void)
{
    timeout_run run = {.count = 100000 / sp_test_scale()};
    CHECK_EQ(sp_chan_create(&run.ch, sizeof(int64_t), 4), 0);

    pthread_t consumers[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(pthread_create(&consumers[i], NULL, timeout_consumer, &run), 0);
    uint64_t seed = 0x5eed0401;
    int64_t expected_sum = 0;
    for (int64_t i = 1; i <= run.count; i++) {
        CHECK_EQ(sp_chan_send(run.ch, &i, NULL), 0);
        expected_sum += i;
        if (test_rand(&seed) % 1000 == 0)
            test_sleep_ns(50000);
    }
    CHECK_EQ(sp_chan_close(run.ch), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(consumers[i], NULL);

    CHECK_EQ(atomic_load_explicit(&run.received, memory_order_relaxed), run.count);
    CHECK_EQ(atomic_load_explicit(&run.sum, memory_order_relaxed), expected_sum);
    sp_chan_destroy(run.ch);
}

int main(void)
{
    RUN_TEST(chan_stress_4x4_million_exactly_once);
    RUN_TEST(chan_stress_small_capacity_blocking);
    RUN_TEST(chan_stress_close_mid_traffic);
    RUN_TEST(chan_stress_unbuffered);
    RUN_TEST(chan_stress_receiver_timeouts_lose_nothing);
    return check_exit_code();
}
