/* Waking parked workers: four tasks that can only finish together (a
 * barrier outside the library) must all get a thread, whether the extra
 * tasks sit in a worker's local queue or in the injection queue. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool.h>
#include <stealpool/stats.h>

#include "check.h"

enum { PARTIES = 4, WORKERS = 4 };

/* One repetition: a 4-party barrier with a timeout, and a count of the
 * tasks that left it. It is a plain mutex and condition variable, so a
 * waiting task keeps its worker busy and the pool starts no replacement. */
typedef struct round_state {
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    int             arrived;
    int             finished;
    int             barrier_timeouts; /* over all rounds */
    int             submit_errors;    /* over all rounds */
    sp_pool        *pool;
} round_state;

static struct timespec deadline_after_ns(int64_t ns)
{
    int64_t at = test_now_ns() + ns;
    struct timespec ts = {(time_t)(at / 1000000000), (long)(at % 1000000000)};
    return ts;
}

static void round_init(round_state *r, sp_pool *pool)
{
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &attr);
    pthread_condattr_destroy(&attr);
    r->arrived = 0;
    r->finished = 0;
    r->barrier_timeouts = 0;
    r->submit_errors = 0;
    r->pool = pool;
}

static void round_destroy(round_state *r)
{
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
}

/* Waits at the barrier for up to 2 s, then counts this task as finished. */
static void barrier_task(void *arg)
{
    round_state *r = arg;
    struct timespec deadline = deadline_after_ns(2000000000);

    pthread_mutex_lock(&r->lock);
    r->arrived++;
    pthread_cond_broadcast(&r->cond);
    while (r->arrived < PARTIES) {
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT) {
            if (r->arrived < PARTIES)
                r->barrier_timeouts++;
            break;
        }
    }
    r->finished++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* Submits its siblings from inside the worker, so they land in this
 * worker's local queue, then joins the barrier without waiting for them. */
static void root_task(void *arg)
{
    round_state *r = arg;
    for (int i = 0; i < PARTIES - 1; i++) {
        if (sp_submit(r->pool, barrier_task, r) != 0) {
            pthread_mutex_lock(&r->lock);
            r->submit_errors++;
            pthread_mutex_unlock(&r->lock);
        }
    }
    barrier_task(r);
}

/* Waits until all parties left the barrier and resets it. Returns false
 * when that took longer than the bound (the barrier cannot be reused). */
static bool round_finish(round_state *r, int64_t bound_ns)
{
    struct timespec deadline = deadline_after_ns(bound_ns);
    bool done = true;

    pthread_mutex_lock(&r->lock);
    while (r->finished < PARTIES) {
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT) {
            done = r->finished >= PARTIES;
            break;
        }
    }
    if (done) {
        r->arrived = 0;
        r->finished = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void check_park_counts(sp_pool *pool)
{
    sp_stats total;
    int threads = sp_pool_stats(pool, &total, NULL, 0);
    fprintf(stderr, "  parks %" PRIu64 ", wakeups %" PRIu64 ", steals %" PRIu64
                    ", threads %d\n",
            total.parks, total.wakeups, total.steals, threads);

    /* Each park is followed by one wakeup, except for the workers that
     * are parked right now. */
    CHECK_GE(total.parks, total.wakeups);
    CHECK_LE(total.parks - total.wakeups, (uint64_t)threads);
    CHECK_GT(total.parks, 0);
}

static void run_rounds(bool local_spawn, uint64_t seed)
{
    const int rounds = 2000 / sp_test_scale();
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = WORKERS;
    cfg.print_stats = false;
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);
    if (pool == NULL)
        return;

    round_state r;
    round_init(&r, pool);
    uint64_t rng = seed;
    int64_t start = test_now_ns();
    int64_t slowest = 0;
    int slow_rounds = 0, done_rounds = 0;

    for (int i = 0; i < rounds; i++) {
        /* Sleep 0-5 ms so that the workers have time to park. */
        test_sleep_ns((int64_t)(test_rand(&rng) % 5000001));

        int64_t round_start = test_now_ns();
        if (local_spawn) {
            CHECK_EQ(sp_submit(pool, root_task, &r), 0);
        } else {
            for (int t = 0; t < PARTIES; t++)
                CHECK_EQ(sp_submit(pool, barrier_task, &r), 0);
        }
        bool done = round_finish(&r, 5000000000LL);
        int64_t elapsed = test_now_ns() - round_start;

        if (elapsed > slowest)
            slowest = elapsed;
        slow_rounds += elapsed >= 2000000000;
        if (!done) {
            fprintf(stderr, "  round %d did not finish within 5 s, stopping\n", i);
            break;
        }
        done_rounds++;
    }
    int64_t total_ns = test_now_ns() - start;

    fprintf(stderr, "  %d rounds in %.2f s, slowest %.3f ms\n", done_rounds,
            (double)total_ns / 1e9, (double)slowest / 1e6);
    CHECK_EQ(done_rounds, rounds);
    CHECK_EQ(r.barrier_timeouts, 0);
    CHECK_EQ(r.submit_errors, 0);
    CHECK_EQ(slow_rounds, 0);
    CHECK_LT(total_ns, 120000000000LL);

    check_park_counts(pool);
    CHECK_EQ(sp_pool_destroy(pool), 0);
    round_destroy(&r);
}

static void wakeup_local_children_stolen(void)
{
    run_rounds(true, 0x10ca1ULL);
}

static void wakeup_external_submits_spread(void)
{
    run_rounds(false, 0xe7e2ULL);
}

int main(void)
{
    RUN_TEST(wakeup_local_children_stolen);
    RUN_TEST(wakeup_external_submits_spread);
    return check_exit_code();
}
