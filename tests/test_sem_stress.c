/*
 * Seeded, time-bounded stress of the weighted semaphore.
 *
 * sem_stress_random_weights: threads acquire random weights with random
 * deadlines and cancels. An atomic count of units held is checked against
 * the capacity on every admission, and every unit must come back.
 *
 * sem_admission_cancel_race: a waiter's admission races with the cancel or
 * deadline of its context, many times; each round must end with the units
 * either held by the waiter (0) or free (error), never lost or doubled.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stealpool.h>

#include "check.h"
#include "sync/sem_internal.h"

#define MS 1000000LL

enum { STRESS_THREADS = 8, STRESS_CAPACITY = 16 };

/* A context slot that the cancel thread may cancel while a worker uses it. */
typedef struct cancel_slot {
    pthread_mutex_t lock;
    sp_ctx         *ctx; /* under lock */
} cancel_slot;

static struct {
    sp_sem      *sem;
    int64_t      end_ns;
    atomic_bool  stop;
    atomic_llong held;      /* units held by the stress threads */
    atomic_llong max_held;  /* high-water mark of held */
    atomic_long  admitted;
    atomic_long  timed_out;
    atomic_long  canceled;
    atomic_long  try_admitted;
    cancel_slot  slots[STRESS_THREADS];
} stress;

static void stress_hold(int64_t n)
{
    long long held = atomic_fetch_add(&stress.held, n) + n;
    CHECK_LE(held, STRESS_CAPACITY);
    long long max = atomic_load(&stress.max_held);
    while (held > max && !atomic_compare_exchange_weak(&stress.max_held, &max, held)) {
    }
}

static void stress_unhold(int64_t n)
{
    atomic_fetch_sub(&stress.held, n);
    CHECK_EQ(sp_sem_release(stress.sem, n), 0);
}

static void *stress_thread_main(void *arg)
{
    cancel_slot *slot = arg;
    uint64_t rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)arg;

    while (!atomic_load(&stress.stop) && test_now_ns() < stress.end_ns) {
        int64_t n = 1 + (int64_t)(test_rand(&rng) % STRESS_CAPACITY);
        unsigned kind = (unsigned)(test_rand(&rng) % 4);

        if (kind == 0) {
            if (sp_sem_try_acquire(stress.sem, n)) {
                stress_hold(n);
                atomic_fetch_add(&stress.try_admitted, 1);
                stress_unhold(n);
            }
            continue;
        }

        /* kind 1: no context; 2: a deadline up to 2 ms; 3: a cancelable
         * context that the cancel thread may end. */
        sp_ctx *ctx = NULL;
        if (kind == 2) {
            int64_t timeout = (int64_t)(test_rand(&rng) % (2 * MS));
            CHECK_EQ(sp_ctx_with_timeout(NULL, timeout, &ctx), 0);
        } else if (kind == 3) {
            CHECK_EQ(sp_ctx_with_cancel(NULL, &ctx), 0);
            pthread_mutex_lock(&slot->lock);
            slot->ctx = ctx;
            pthread_mutex_unlock(&slot->lock);
        }

        int rc = sp_sem_acquire(stress.sem, n, ctx);

        if (kind == 3) {
            pthread_mutex_lock(&slot->lock);
            slot->ctx = NULL;
            pthread_mutex_unlock(&slot->lock);
        }

        if (rc == 0) {
            stress_hold(n);
            atomic_fetch_add(&stress.admitted, 1);
            if (test_rand(&rng) % 8 == 0)
                sched_yield();
            stress_unhold(n);
        } else if (rc == ETIMEDOUT) {
            CHECK_EQ(kind, 2);
            atomic_fetch_add(&stress.timed_out, 1);
        } else {
            CHECK_EQ(rc, ECANCELED);
            CHECK_EQ(kind, 3);
            atomic_fetch_add(&stress.canceled, 1);
        }
        sp_ctx_release(ctx);
    }
    return NULL;
}

static void *stress_cancel_main(void *arg)
{
    (void)arg;
    uint64_t rng = 12345;
    while (!atomic_load(&stress.stop)) {
        cancel_slot *slot = &stress.slots[test_rand(&rng) % STRESS_THREADS];
        pthread_mutex_lock(&slot->lock);
        if (slot->ctx != NULL)
            sp_ctx_cancel(slot->ctx);
        pthread_mutex_unlock(&slot->lock);
        test_sleep_ns((int64_t)(test_rand(&rng) % 300000));
    }
    return NULL;
}

static void sem_stress_random_weights(void)
{
    CHECK_EQ(sp_sem_create(&stress.sem, STRESS_CAPACITY), 0);
    int64_t duration = 3000 * MS;
    if (sp_test_scale() > 1)
        duration = 1500 * MS;
    stress.end_ns = test_now_ns() + duration;
    atomic_store(&stress.stop, false);
    atomic_store(&stress.held, 0);
    atomic_store(&stress.max_held, 0);

    pthread_t threads[STRESS_THREADS], canceler;
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_mutex_init(&stress.slots[i].lock, NULL);
        stress.slots[i].ctx = NULL;
        CHECK_EQ(pthread_create(&threads[i], NULL, stress_thread_main, &stress.slots[i]), 0);
    }
    CHECK_EQ(pthread_create(&canceler, NULL, stress_cancel_main, NULL), 0);

    /* Threads stop at end_ns; a request without a context may still wait
     * for units, which the others always return. */
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(threads[i], NULL);
    atomic_store(&stress.stop, true);
    pthread_join(canceler, NULL);

    fprintf(stderr, "admitted %ld, try_acquire admitted %ld, timed out %ld, canceled %ld, "
                    "max held %lld of %d\n",
            atomic_load(&stress.admitted), atomic_load(&stress.try_admitted),
            atomic_load(&stress.timed_out), atomic_load(&stress.canceled),
            atomic_load(&stress.max_held), STRESS_CAPACITY);
    CHECK_LE(atomic_load(&stress.max_held), STRESS_CAPACITY);
    CHECK_GT(atomic_load(&stress.admitted), 0);
    CHECK_GT(atomic_load(&stress.timed_out), 0);
    CHECK_GT(atomic_load(&stress.canceled), 0);
    CHECK_EQ(atomic_load(&stress.held), 0);
    CHECK_EQ(sp_sem_available(stress.sem), STRESS_CAPACITY);
    CHECK_EQ(sp__sem_queued_count(stress.sem, 0), 0);

    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_mutex_destroy(&stress.slots[i].lock);
    sp_sem_destroy(stress.sem);
}

/*
 * One waiter thread and this thread, in lock step per round. This thread
 * holds the only unit, and the waiter queues acquire(1) with a context.
 * Then this thread releases the unit and ends the context (cancel, or a
 * deadline already near) in a random order. The waiter reports its result; 0 means
 * it holds the unit, an error means the unit is free.
 */
static struct {
    sp_sem     *sem;
    sp_ctx     *ctx;        /* set by this thread before each round */
    atomic_int  round;      /* bumped by this thread to start a round */
    atomic_int  finished;   /* rounds the waiter finished */
    int         rc;         /* the waiter's result of the last round */
    atomic_bool stop;
} race;

static void *race_waiter_main(void *arg)
{
    (void)arg;
    for (int seen = 0;; seen++) {
        while (atomic_load(&race.round) == seen && !atomic_load(&race.stop))
            sched_yield();
        if (atomic_load(&race.stop))
            return NULL;

        race.rc = sp_sem_acquire(race.sem, 1, race.ctx);
        atomic_store(&race.finished, seen + 1);
    }
}

static void sem_admission_cancel_race(void)
{
    int rounds = 100000 / sp_test_scale();
    CHECK_EQ(sp_sem_create(&race.sem, 1), 0);
    CHECK_EQ(sp_sem_acquire(race.sem, 1, NULL), 0);
    atomic_store(&race.round, 0);
    atomic_store(&race.finished, 0);
    atomic_store(&race.stop, false);
    pthread_t waiter;
    CHECK_EQ(pthread_create(&waiter, NULL, race_waiter_main, NULL), 0);

    uint64_t rng = 777;
    int64_t limit = test_now_ns() + 60000 * MS;
    long admitted = 0, refused = 0, late = 0;
    int failures_before = check_failures;
    int round;
    for (round = 0; round < rounds && test_now_ns() < limit; round++) {
        unsigned mode = (unsigned)(test_rand(&rng) % 3);
        if (mode == 2)
            CHECK_EQ(sp_ctx_with_timeout(NULL, (int64_t)(test_rand(&rng) % 20000), &race.ctx), 0);
        else
            CHECK_EQ(sp_ctx_with_cancel(NULL, &race.ctx), 0);
        atomic_store(&race.round, round + 1);

        /* Wait until queued, or until it already returned (an expired
         * deadline on entry). */
        while (sp__sem_queued_count(race.sem, 1) == 0 && atomic_load(&race.finished) == round)
            sched_yield();

        if (mode == 0) {
            CHECK_EQ(sp_sem_release(race.sem, 1), 0);
            sp_ctx_cancel(race.ctx);
        } else if (mode == 1) {
            sp_ctx_cancel(race.ctx);
            CHECK_EQ(sp_sem_release(race.sem, 1), 0);
        } else {
            CHECK_EQ(sp_sem_release(race.sem, 1), 0);
        }

        while (atomic_load(&race.finished) == round)
            sched_yield();

        /* Exactly one of: the waiter holds the unit, or the unit is free. */
        if (race.rc == 0) {
            admitted++;
            CHECK_EQ(sp_sem_available(race.sem), 0);
        } else {
            refused++;
            CHECK(race.rc == ECANCELED || race.rc == ETIMEDOUT);
            CHECK_EQ(sp_sem_available(race.sem), 1);
            CHECK(sp_sem_try_acquire(race.sem, 1));
            if (mode == 0)
                late++;
        }
        CHECK_EQ(sp__sem_queued_count(race.sem, 0), 0);
        sp_ctx_release(race.ctx);
        if (check_failures != failures_before)
            break;
    }

    atomic_store(&race.stop, true);
    pthread_join(waiter, NULL);
    fprintf(stderr, "%d rounds: admitted %ld, ended first %ld (after the release %ld)\n",
            round, admitted, refused, late);
    CHECK_GT(admitted, 0);
    CHECK_GT(refused, 0);
    /* A release hands the unit to the queued waiter at once, so a cancel
     * after the release can never take it back. */
    CHECK_EQ(late, 0);
    CHECK_EQ(sp_sem_available(race.sem), 0);
    CHECK_EQ(sp_sem_release(race.sem, 1), 0);
    CHECK_EQ(sp_sem_available(race.sem), 1);
    sp_sem_destroy(race.sem);
}

int main(void)
{
    RUN_TEST(sem_stress_random_weights);
    RUN_TEST(sem_admission_cancel_race);
    return check_exit_code();
}
