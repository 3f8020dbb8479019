/* Channel: order, close semantics, blocked senders and receivers waking on
 * close and on context end, unbuffered rendezvous, token channels, signals,
 * destroy with waiters, and argument checks. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool/chan.h>
#include <stealpool/ctx.h>

#include "check.h"

#define MS ((int64_t)1000000)
#define SEC ((int64_t)1000000000)

static sp_chan *chan_new(size_t elem_size, size_t capacity)
{
    sp_chan *ch = NULL;
    CHECK_EQ(sp_chan_create(&ch, elem_size, capacity), 0);
    return ch;
}

/* A thread that runs one send or recv and records its result and timing. */
typedef struct op_thread {
    pthread_t       thread;
    sp_chan        *ch;
    sp_ctx         *ctx;
    bool            sending;
    int64_t         value;
    _Atomic int     started;
    _Atomic int     rc;
    _Atomic int64_t finished_ns;
} op_thread;

static void *op_main(void *arg)
{
    op_thread *op = arg;
    /* release: the starter may read the fields after seeing this */
    atomic_store_explicit(&op->started, 1, memory_order_release);
    int rc = op->sending ? sp_chan_send(op->ch, &op->value, op->ctx)
                         : sp_chan_recv(op->ch, &op->value, op->ctx);
    /* relaxed: read after pthread_join, which orders them */
    atomic_store_explicit(&op->finished_ns, test_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&op->rc, rc, memory_order_relaxed);
    return NULL;
}

static void op_start(op_thread *op, sp_chan *ch, bool sending, int64_t value, sp_ctx *ctx)
{
    op->ch = ch;
    op->ctx = ctx;
    op->sending = sending;
    op->value = value;
    atomic_init(&op->started, 0);
    atomic_init(&op->rc, -1);
    atomic_init(&op->finished_ns, 0);
    CHECK_EQ(pthread_create(&op->thread, NULL, op_main, op), 0);
    /* acquire: pairs with the release store in op_main */
    while (atomic_load_explicit(&op->started, memory_order_acquire) == 0)
        sched_yield();
}

static int op_join(op_thread *op)
{
    pthread_join(op->thread, NULL);
    return atomic_load_explicit(&op->rc, memory_order_relaxed);
}

static void chan_fifo_order_single_thread(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 5);

    for (int64_t i = 0; i < 5; i++)
        CHECK(sp_chan_try_send(ch, &i));
    int64_t extra = 99;
    CHECK(!sp_chan_try_send(ch, &extra));
    for (int64_t i = 0; i < 5; i++) {
        int64_t v = -1;
        CHECK_EQ(sp_chan_recv(ch, &v, NULL), 0);
        CHECK_EQ(v, i);
    }
    int64_t v;
    CHECK(!sp_chan_try_recv(ch, &v));

    sp_chan_destroy(ch);
}

static void chan_capacity_one_alternates(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 1);

    for (int64_t i = 0; i < 100; i++) {
        CHECK(sp_chan_try_send(ch, &i));
        CHECK(!sp_chan_try_send(ch, &i));
        int64_t v = -1;
        CHECK(sp_chan_try_recv(ch, &v));
        CHECK_EQ(v, i);
        CHECK(!sp_chan_try_recv(ch, &v));
    }

    sp_chan_destroy(ch);
}

/* Full channel, two blocked senders, close: both get EPIPE and only the
 * elements sent before the close come out. */
static void chan_close_wakes_blocked_senders(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 2);
    int64_t a = 1, b = 2;
    CHECK_EQ(sp_chan_send(ch, &a, NULL), 0);
    CHECK_EQ(sp_chan_send(ch, &b, NULL), 0);

    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_deadline(NULL, sp_now_ns() + 10 * SEC, &ctx), 0);
    op_thread s1, s2;
    op_start(&s1, ch, true, 3, NULL);
    op_start(&s2, ch, true, 4, ctx);

    test_sleep_ns(50 * MS);
    int64_t closed_at = test_now_ns();
    CHECK_EQ(sp_chan_close(ch), 0);

    CHECK_EQ(op_join(&s1), EPIPE);
    CHECK_EQ(op_join(&s2), EPIPE);
    CHECK_LT(s1.finished_ns - closed_at, 500 * MS);
    CHECK_LT(s2.finished_ns - closed_at, 500 * MS);

    int64_t v = 0;
    CHECK_EQ(sp_chan_recv(ch, &v, NULL), 0);
    CHECK_EQ(v, 1);
    CHECK_EQ(sp_chan_recv(ch, &v, NULL), 0);
    CHECK_EQ(v, 2);
    int64_t start = test_now_ns();
    CHECK_EQ(sp_chan_recv(ch, &v, NULL), EPIPE);
    CHECK_LT(test_now_ns() - start, 50 * MS);

    int64_t e = 5;
    CHECK_EQ(sp_chan_send(ch, &e, NULL), EPIPE);
    CHECK(!sp_chan_try_send(ch, &e));
    CHECK_EQ(sp_chan_close(ch), EPIPE);

    sp_ctx_release(ctx);
    sp_chan_destroy(ch);
}

static void chan_close_wakes_blocked_receiver(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 4);

    op_thread r;
    op_start(&r, ch, false, 0, NULL);
    test_sleep_ns(50 * MS);
    int64_t closed_at = test_now_ns();
    CHECK_EQ(sp_chan_close(ch), 0);

    CHECK_EQ(op_join(&r), EPIPE);
    CHECK_LT(r.finished_ns - closed_at, 500 * MS);

    sp_chan_destroy(ch);
}

/* The close races with a sender that is about to block: whatever the
 * interleaving, the sender either delivered its element before the close
 * or returned EPIPE, and the receive side sees exactly that. */
static void chan_close_race_full_channel(void)
{
    int rounds = 1000 / sp_test_scale();
    uint64_t seed = 0x5eed0001;

    for (int round = 0; round < rounds; round++) {
        sp_chan *ch = chan_new(sizeof(int64_t), 2);
        int64_t a = 1, b = 2;
        CHECK(sp_chan_try_send(ch, &a));
        CHECK(sp_chan_try_send(ch, &b));

        op_thread s1;
        op_start(&s1, ch, true, 3, NULL);
        int64_t delay = (int64_t)(test_rand(&seed) % 100000);
        int64_t until = test_now_ns() + delay;
        while (test_now_ns() < until) {
        }
        CHECK_EQ(sp_chan_close(ch), 0);
        CHECK_EQ(op_join(&s1), EPIPE);

        int64_t v = 0;
        CHECK_EQ(sp_chan_recv(ch, &v, NULL), 0);
        CHECK_EQ(v, 1);
        CHECK_EQ(sp_chan_recv(ch, &v, NULL), 0);
        CHECK_EQ(v, 2);
        CHECK_EQ(sp_chan_recv(ch, &v, NULL), EPIPE);

        sp_chan_destroy(ch);
    }
}

/* Same race with a receiver draining concurrently: every element that a
 * send reported as sent is received exactly once. */
static void chan_close_race_with_receiver(void)
{
    int rounds = 1000 / sp_test_scale();
    uint64_t seed = 0x5eed0002;

    for (int round = 0; round < rounds; round++) {
        sp_chan *ch = chan_new(sizeof(int64_t), 1);
        int64_t a = 1;
        CHECK(sp_chan_try_send(ch, &a));

        op_thread s1, r1;
        op_start(&s1, ch, true, 2, NULL);
        op_start(&r1, ch, false, 0, NULL);
        int64_t delay = (int64_t)(test_rand(&seed) % 100000);
        int64_t until = test_now_ns() + delay;
        while (test_now_ns() < until) {
        }
        CHECK_EQ(sp_chan_close(ch), 0);

        int s_rc = op_join(&s1);
        CHECK_EQ(op_join(&r1), 0);
        CHECK_EQ(r1.value, 1);
        CHECK(s_rc == 0 || s_rc == EPIPE);

        int64_t v = 0;
        if (s_rc == 0) {
            CHECK_EQ(sp_chan_recv(ch, &v, NULL), 0);
            CHECK_EQ(v, 2);
        }
        CHECK_EQ(sp_chan_recv(ch, &v, NULL), EPIPE);

        sp_chan_destroy(ch);
    }
}

static void chan_recv_deadline_times_out(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 4);
    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 100 * MS, &ctx), 0);

    int64_t v = 7;
    int64_t start = test_now_ns();
    CHECK_EQ(sp_chan_recv(ch, &v, ctx), ETIMEDOUT);
    int64_t elapsed = test_now_ns() - start;
    CHECK_GE(elapsed, 95 * MS);
    CHECK_LT(elapsed, 1500 * MS * sp_test_scale());
    CHECK_EQ(v, 7);

    sp_ctx_release(ctx);
    sp_chan_destroy(ch);
}

static void chan_blocked_ops_wake_on_cancel(void)
{
    sp_chan *full = chan_new(sizeof(int64_t), 1);
    sp_chan *empty = chan_new(sizeof(int64_t), 1);
    int64_t x = 1;
    CHECK(sp_chan_try_send(full, &x));

    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
    op_thread s, r;
    op_start(&s, full, true, 2, ctx);
    op_start(&r, empty, false, 0, ctx);
    test_sleep_ns(30 * MS);
    int64_t canceled_at = test_now_ns();
    sp_ctx_cancel(ctx);

    CHECK_EQ(op_join(&s), ECANCELED);
    CHECK_EQ(op_join(&r), ECANCELED);
    CHECK_LT(s.finished_ns - canceled_at, 500 * MS);
    CHECK_LT(r.finished_ns - canceled_at, 500 * MS);

    /* Nothing was sent by the canceled send. */
    int64_t v = 0;
    CHECK(sp_chan_try_recv(full, &v));
    CHECK_EQ(v, 1);
    CHECK(!sp_chan_try_recv(full, &v));

    sp_ctx_release(ctx);
    sp_chan_destroy(full);
    sp_chan_destroy(empty);
}

/* A receiver woken for an element that then leaves because its context
 * ended must pass the element on to the next blocked receiver. */
static void chan_canceled_receiver_passes_wake(void)
{
    for (int round = 0; round < 200 / sp_test_scale(); round++) {
        sp_chan *ch = chan_new(sizeof(int64_t), 4);
        sp_ctx *ctx;
        CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);

        op_thread r1, r2;
        op_start(&r1, ch, false, 0, ctx);
        op_start(&r2, ch, false, 0, NULL);
        test_sleep_ns(1 * MS);
        int64_t x = 42;
        sp_ctx_cancel(ctx);
        CHECK_EQ(sp_chan_send(ch, &x, NULL), 0);

        int rc1 = op_join(&r1);
        CHECK(rc1 == ECANCELED || rc1 == 0);
        if (rc1 == 0) {
            /* r1 got it; give r2 one too. */
            CHECK_EQ(sp_chan_send(ch, &x, NULL), 0);
        }
        CHECK_EQ(op_join(&r2), 0);
        CHECK_EQ(r2.value, 42);

        sp_ctx_release(ctx);
        sp_chan_destroy(ch);
    }
}

static void chan_ended_ctx_used_only_when_waiting(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 1);
    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
    sp_ctx_cancel(ctx);

    int64_t x = 5, v = 0;
    CHECK_EQ(sp_chan_send(ch, &x, ctx), 0);
    CHECK_EQ(sp_chan_send(ch, &x, ctx), ECANCELED);
    CHECK_EQ(sp_chan_recv(ch, &v, ctx), 0);
    CHECK_EQ(v, 5);
    CHECK_EQ(sp_chan_recv(ch, &v, ctx), ECANCELED);

    sp_ctx_release(ctx);
    sp_chan_destroy(ch);
}

static void chan_unbuffered_rendezvous(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 0);
    int64_t x = 11, v = 0;

    CHECK(!sp_chan_try_send(ch, &x));
    CHECK(!sp_chan_try_recv(ch, &v));

    /* A send completes only when a receiver takes it. */
    op_thread s;
    op_start(&s, ch, true, 21, NULL);
    CHECK_EQ(sp_chan_recv(ch, &v, NULL), 0);
    CHECK_EQ(v, 21);
    CHECK_EQ(op_join(&s), 0);

    op_thread r;
    op_start(&r, ch, false, 0, NULL);
    while (!sp_chan_try_send(ch, &x))
        sched_yield();
    CHECK_EQ(op_join(&r), 0);
    CHECK_EQ(r.value, 11);

    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 50 * MS, &ctx), 0);
    CHECK_EQ(sp_chan_send(ch, &x, ctx), ETIMEDOUT);
    CHECK(!sp_chan_try_recv(ch, &v));
    sp_ctx_release(ctx);

    op_thread blocked_send, blocked_recv;
    op_start(&blocked_send, ch, true, 31, NULL);
    test_sleep_ns(20 * MS);
    CHECK_EQ(sp_chan_close(ch), 0);
    CHECK_EQ(op_join(&blocked_send), EPIPE);
    op_start(&blocked_recv, ch, false, 0, NULL);
    CHECK_EQ(op_join(&blocked_recv), EPIPE);
    CHECK_EQ(sp_chan_send(ch, &x, NULL), EPIPE);
    CHECK_EQ(sp_chan_close(ch), EPIPE);

    sp_chan_destroy(ch);
}

static void chan_unbuffered_close_wakes_receiver(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 0);
    op_thread r;
    op_start(&r, ch, false, 0, NULL);
    test_sleep_ns(20 * MS);
    int64_t closed_at = test_now_ns();
    CHECK_EQ(sp_chan_close(ch), 0);
    CHECK_EQ(op_join(&r), EPIPE);
    CHECK_LT(r.finished_ns - closed_at, 500 * MS);
    sp_chan_destroy(ch);
}

static void chan_zero_size_tokens(void)
{
    sp_chan *ch = chan_new(0, 3);

    CHECK_EQ(sp_chan_send(ch, NULL, NULL), 0);
    CHECK(sp_chan_try_send(ch, NULL));
    CHECK(sp_chan_try_send(ch, NULL));
    CHECK(!sp_chan_try_send(ch, NULL));
    CHECK_EQ(sp_chan_recv(ch, NULL, NULL), 0);
    CHECK(sp_chan_try_recv(ch, NULL));
    CHECK(sp_chan_try_recv(ch, NULL));
    CHECK(!sp_chan_try_recv(ch, NULL));
    CHECK_EQ(sp_chan_close(ch), 0);
    CHECK_EQ(sp_chan_recv(ch, NULL, NULL), EPIPE);

    sp_chan_destroy(ch);
}

static void chan_large_elements_copied_whole(void)
{
    typedef struct big {
        char bytes[1001];
    } big;
    sp_chan *ch = chan_new(sizeof(big), 3);

    big in, out;
    for (int round = 0; round < 10; round++) {
        memset(&in, 'a' + round, sizeof in);
        CHECK_EQ(sp_chan_send(ch, &in, NULL), 0);
        memset(&out, 0, sizeof out);
        CHECK_EQ(sp_chan_recv(ch, &out, NULL), 0);
        CHECK_EQ(memcmp(&in, &out, sizeof in), 0);
    }

    sp_chan_destroy(ch);
}

static void on_signal(int signo)
{
    (void)signo;
}

/* Sends SIGUSR1 to one thread every millisecond until stopped. */
typedef struct signal_storm {
    pthread_t   target;
    pthread_t   thread;
    _Atomic int stop;
} signal_storm;

static void *send_signals(void *arg)
{
    signal_storm *storm = arg;
    /* relaxed: a stop flag; nothing else is published through it */
    while (atomic_load_explicit(&storm->stop, memory_order_relaxed) == 0) {
        pthread_kill(storm->target, SIGUSR1);
        test_sleep_ns(1 * MS);
    }
    return NULL;
}

static void storm_start(signal_storm *storm, pthread_t target)
{
    storm->target = target;
    atomic_init(&storm->stop, 0);
    CHECK_EQ(pthread_create(&storm->thread, NULL, send_signals, storm), 0);
}

static void storm_stop(signal_storm *storm)
{
    atomic_store_explicit(&storm->stop, 1, memory_order_relaxed);
    pthread_join(storm->thread, NULL);
}

static void chan_recv_ignores_signals(void)
{
    struct sigaction action = {0};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; /* no SA_RESTART: the futex wait sees EINTR */
    struct sigaction previous;
    CHECK_EQ(sigaction(SIGUSR1, &action, &previous), 0);

    sp_chan *ch = chan_new(sizeof(int64_t), 2);
    op_thread r;
    op_start(&r, ch, false, 0, NULL);
    signal_storm storm;
    storm_start(&storm, r.thread);

    test_sleep_ns(200 * MS);
    int64_t x = 77;
    CHECK_EQ(sp_chan_send(ch, &x, NULL), 0);
    CHECK_EQ(op_join(&r), 0);
    CHECK_EQ(r.value, 77);
    storm_stop(&storm);

    /* A deadline under signals still times out, never EINTR. The target
     * thread stays joinable until the storm stops. */
    sp_ctx *ctx;
    CHECK_EQ(sp_ctx_with_timeout(NULL, 100 * MS, &ctx), 0);
    op_thread timed;
    op_start(&timed, ch, false, 0, ctx);
    storm_start(&storm, timed.thread);
    test_sleep_ns(50 * MS);
    storm_stop(&storm);
    CHECK_EQ(op_join(&timed), ETIMEDOUT);
    sp_ctx_release(ctx);

    sigaction(SIGUSR1, &previous, NULL);
    sp_chan_destroy(ch);
}

static void chan_destroy_with_blocked_receiver(void)
{
    sp_chan *ch = chan_new(sizeof(int64_t), 2);
    op_thread r;
    op_start(&r, ch, false, 0, NULL);
    test_sleep_ns(30 * MS);

    /* Logs an error, closes the channel and waits for the receiver to
     * leave before freeing it. */
    sp_chan_destroy(ch);
    CHECK_EQ(op_join(&r), EPIPE);
}

static void chan_invalid_arguments(void)
{
    sp_chan *ch = NULL;
    CHECK_EQ(sp_chan_create(NULL, 8, 4), EINVAL);
    CHECK_EQ(sp_chan_create(&ch, 8, ((size_t)1 << 32) + 1), EINVAL);
    CHECK_EQ(sp_chan_create(&ch, SIZE_MAX, 4), EINVAL);
    CHECK_EQ(sp_chan_create(&ch, SIZE_MAX / 4, 16), EINVAL);

    ch = chan_new(8, 4);
    CHECK_EQ(sp_chan_send(ch, NULL, NULL), EINVAL);
    CHECK_EQ(sp_chan_recv(ch, NULL, NULL), EINVAL);
    CHECK(!sp_chan_try_send(ch, NULL));
    CHECK(!sp_chan_try_recv(ch, NULL));
    int64_t x = 0;
    CHECK_EQ(sp_chan_send(NULL, &x, NULL), EINVAL);
    CHECK_EQ(sp_chan_recv(NULL, &x, NULL), EINVAL);
    CHECK(!sp_chan_try_send(NULL, &x));
    CHECK(!sp_chan_try_recv(NULL, &x));
    CHECK_EQ(sp_chan_close(NULL), EINVAL);
    sp_chan_destroy(NULL);

    sp_chan_destroy(ch);
}

int main(void)
{
    RUN_TEST(chan_fifo_order_single_thread);
    RUN_TEST(chan_capacity_one_alternates);
    RUN_TEST(chan_close_wakes_blocked_senders);
    RUN_TEST(chan_close_wakes_blocked_receiver);
    RUN_TEST(chan_close_race_full_channel);
    RUN_TEST(chan_close_race_with_receiver);
    RUN_TEST(chan_recv_deadline_times_out);
    RUN_TEST(chan_blocked_ops_wake_on_cancel);
    RUN_TEST(chan_canceled_receiver_passes_wake);
    RUN_TEST(chan_ended_ctx_used_only_when_waiting);
    RUN_TEST(chan_unbuffered_rendezvous);
    RUN_TEST(chan_unbuffered_close_wakes_receiver);
    RUN_TEST(chan_zero_size_tokens);
    RUN_TEST(chan_large_elements_copied_whole);
    RUN_TEST(chan_recv_ignores_signals);
    RUN_TEST(chan_destroy_with_blocked_receiver);
    RUN_TEST(chan_invalid_arguments);
    return check_exit_code();
}
