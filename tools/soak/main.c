/*
 * stealpool-soak: a mixed workload for a given time, with invariant checks.
 *
 * Six workloads run at once, each on its own thread, in rounds until the
 * time is up: fork-join, plain submission, the semaphore, the error group,
 * the channel and the rate limiter. Each round checks its invariants and
 * prints a line for every violation. The program exits 0 when no check
 * failed, 1 when one did, and 2 when a workload did not finish its last
 * round within a minute of the end (a lost wake-up or a deadlock).
 *
 * Usage: stealpool-soak [--seconds N] [--seed S] [--workers W]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stealpool.h>

#include "fib.h"

/* ---- Shared state ---------------------------------------------------------- */

static sp_pool *pool;
static int64_t  end_ns;  /* CLOCK_MONOTONIC time at which no round starts */
static uint64_t seed;
static _Atomic long violations;

/* Counts a violation and prints it with the workload and seed. */
__attribute__((format(printf, 2, 3))) static void violation(const char *workload,
                                                             const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* relaxed: a counter read after every workload thread is joined */
    atomic_fetch_add_explicit(&violations, 1, memory_order_relaxed);
    fprintf(stderr, "stealpool-soak: %s: %s (seed %" PRIu64 ")\n", workload, text, seed);
}

static bool time_left(void)
{
    return sp_now_ns() < end_ns;
}

/* xorshift64*: the per-workload generator, seeded from --seed. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void pause_ns(long ns)
{
    struct timespec ts = {0, ns};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- Fork-join -------------------------------------------------------------- */

static void sum_range(size_t lo, size_t hi, void *arg)
{
    uint64_t sum = 0;
    for (size_t i = lo; i < hi; i++)
        sum += i;
    /* relaxed: read after sp_parallel_for returns */
    atomic_fetch_add_explicit((_Atomic uint64_t *)arg, sum, memory_order_relaxed);
}

static long join_round(uint64_t *rng)
{
    unsigned n = 10 + (unsigned)(next_random(rng) % 13);
    fib_frame call = {n, 0};
    int rc = sp_pool_run(pool, fib_sp_task, &call);
    if (rc != 0)
        violation("join", "sp_pool_run returned %d", rc);
    else if (call.result != fib_iterative(n))
        violation("join", "fib(%u) = %llu, expected %llu", n, (unsigned long long)call.result,
                  (unsigned long long)fib_iterative(n));

    /* From a thread that is not a worker: through the default pool. */
    fib_frame outside = {n, 0};
    fib_sp_task(&outside);
    if (outside.result != fib_iterative(n))
        violation("join", "fib(%u) outside a worker = %llu", n,
                  (unsigned long long)outside.result);

    size_t count = 1 + (size_t)(next_random(rng) % 100000);
    _Atomic uint64_t sum = 0;
    rc = sp_parallel_for(pool, 0, count, 0, sum_range, &sum);
    uint64_t expected = (uint64_t)count * (count - 1) / 2;
    uint64_t got = atomic_load_explicit(&sum, memory_order_relaxed);
    if (rc != 0 || got != expected)
        violation("join", "parallel_for over %zu: rc %d, sum %" PRIu64 ", expected %" PRIu64,
                  count, rc, got, expected);
    return 3;
}

/* ---- Submit ----------------------------------------------------------------- */

typedef struct submit_batch {
    _Atomic long done;
    sp_pool     *pool;
    int          spawn; /* each task submits this many more from its worker */
} submit_batch;

static void submit_leaf(void *arg)
{
    /* release: pairs with the acquire load in submit_round */
    atomic_fetch_add_explicit(&((submit_batch *)arg)->done, 1, memory_order_release);
}

static void submit_parent(void *arg)
{
    submit_batch *batch = arg;
    for (int i = 0; i < batch->spawn; i++) {
        if (sp_submit(batch->pool, submit_leaf, batch) != 0)
            violation("submit", "sp_submit from a worker failed");
    }
    atomic_fetch_add_explicit(&batch->done, 1, memory_order_release);
}

static long submit_round(uint64_t *rng)
{
    submit_batch batch = {.pool = pool, .spawn = (int)(next_random(rng) % 8)};
    atomic_init(&batch.done, 0);
    long parents = 1 + (long)(next_random(rng) % 200);
    long accepted = 0;
    for (long i = 0; i < parents; i++) {
        int rc = sp_submit(pool, submit_parent, &batch);
        if (rc == 0)
            accepted++;
        else
            violation("submit", "sp_submit returned %d", rc);
    }

    long expected = accepted * (1 + batch.spawn);
    int64_t deadline = sp_now_ns() + (int64_t)60 * 1000000000;
    /* acquire: pairs with the release increments of the tasks */
    while (atomic_load_explicit(&batch.done, memory_order_acquire) < expected) {
        if (sp_now_ns() > deadline) {
            violation("submit", "%ld of %ld tasks ran within 60 s",
                      atomic_load_explicit(&batch.done, memory_order_acquire), expected);
            /* The batch lives on this stack: it cannot be abandoned. */
            deadline = INT64_MAX;
        }
        pause_ns(20000);
    }
    return expected;
}

/* ---- Semaphore -------------------------------------------------------------- */

typedef struct sem_round_state {
    sp_sem         *sem;
    int64_t         capacity;
    _Atomic int64_t in_use;
    _Atomic long    tasks_done;
} sem_round_state;

static void sem_hold(sem_round_state *st, int64_t n)
{
    /* relaxed: only compared with the capacity */
    int64_t now = atomic_fetch_add_explicit(&st->in_use, n, memory_order_relaxed) + n;
    if (now > st->capacity)
        violation("semaphore", "%" PRId64 " units in use, capacity %" PRId64, now,
                  st->capacity);
    sched_yield();
    atomic_fetch_sub_explicit(&st->in_use, n, memory_order_relaxed);
}

typedef struct sem_task_arg {
    sem_round_state *st;
    int64_t          n;
} sem_task_arg;

static void sem_task(void *arg)
{
    sem_task_arg *a = arg;
    sem_hold(a->st, a->n);
    /* release: pairs with the acquire load in sem_round */
    atomic_fetch_add_explicit(&a->st->tasks_done, 1, memory_order_release);
}

typedef struct sem_acquirer {
    sem_round_state *st;
    uint64_t         rng;
    int              iterations;
} sem_acquirer;

static void *sem_acquirer_main(void *arg)
{
    sem_acquirer *a = arg;
    for (int i = 0; i < a->iterations; i++) {
        int64_t n = 1 + (int64_t)(next_random(&a->rng) % (uint64_t)a->st->capacity);
        sp_ctx *ctx = NULL;
        bool timed = next_random(&a->rng) % 4 == 0;
        if (timed && sp_ctx_with_timeout(NULL, 200000, &ctx) != 0)
            violation("semaphore", "sp_ctx_with_timeout failed");

        int rc = sp_sem_acquire(a->st->sem, n, ctx);
        if (rc == 0) {
            sem_hold(a->st, n);
            if (sp_sem_release(a->st->sem, n) != 0)
                violation("semaphore", "release of %" PRId64 " held units failed", n);
        } else if (!(timed && rc == ETIMEDOUT)) {
            violation("semaphore", "sp_sem_acquire(%" PRId64 ") returned %d", n, rc);
        }
        sp_ctx_release(ctx);
    }
    return NULL;
}

enum { SEM_ACQUIRERS = 3, SEM_TASKS = 64 };

static long sem_round(uint64_t *rng)
{
    sem_round_state st = {.capacity = 1 + (int64_t)(next_random(rng) % 6)};
    atomic_init(&st.in_use, 0);
    atomic_init(&st.tasks_done, 0);
    if (sp_sem_create(&st.sem, st.capacity) != 0) {
        violation("semaphore", "sp_sem_create failed");
        return 0;
    }

    sem_acquirer acquirers[SEM_ACQUIRERS];
    pthread_t threads[SEM_ACQUIRERS];
    for (int t = 0; t < SEM_ACQUIRERS; t++) {
        acquirers[t] = (sem_acquirer){&st, next_random(rng) | 1, 50};
        pthread_create(&threads[t], NULL, sem_acquirer_main, &acquirers[t]);
    }
    sem_task_arg args[SEM_TASKS];
    long submitted = 0;
    for (int i = 0; i < SEM_TASKS; i++) {
        args[i] = (sem_task_arg){&st, 1 + (int64_t)(next_random(rng) % (uint64_t)st.capacity)};
        int rc = sp_sem_submit(st.sem, args[i].n, pool, sem_task, &args[i]);
        if (rc == 0)
            submitted++;
        else
            violation("semaphore", "sp_sem_submit returned %d", rc);
    }
    for (int t = 0; t < SEM_ACQUIRERS; t++)
        pthread_join(threads[t], NULL);

    /* Every unit returns once the tasks have finished. */
    int64_t deadline = sp_now_ns() + (int64_t)60 * 1000000000;
    while (atomic_load_explicit(&st.tasks_done, memory_order_acquire) < submitted ||
           sp_sem_available(st.sem) != st.capacity) {
        if (sp_now_ns() > deadline) {
            violation("semaphore", "%" PRId64 " of %" PRId64 " units back after 60 s",
                      sp_sem_available(st.sem), st.capacity);
            deadline = INT64_MAX;
        }
        pause_ns(20000);
    }
    sp_sem_destroy(st.sem);
    return submitted + SEM_ACQUIRERS * 50;
}

/* ---- Error group ------------------------------------------------------------ */

typedef struct group_round_state {
    int          failing;  /* index of the one task that returns an error */
    int          error;    /* the error it returns */
    _Atomic long ran;
} group_round_state;

typedef struct group_item {
    group_round_state *st;
    int                index;
} group_item;

static int group_task(sp_ctx *ctx, void *arg)
{
    group_item *item = arg;
    /* relaxed: read after sp_group_wait */
    atomic_fetch_add_explicit(&item->st->ran, 1, memory_order_relaxed);
    if (item->index == item->st->failing)
        return item->st->error;
    /* Tasks that see the cancel return an error of their own, which must
     * never replace the first one. */
    if (sp_ctx_err(ctx) != 0)
        return ECANCELED;
    pause_ns(1000 * (item->index % 5));
    return 0;
}

enum { GROUP_TASKS = 100 };

static long group_round(uint64_t *rng)
{
    group_round_state st = {
        .failing = (int)(next_random(rng) % (GROUP_TASKS * 2)), /* half the rounds: none */
        .error = 1000 + (int)(next_random(rng) % 1000),
    };
    atomic_init(&st.ran, 0);

    sp_group *g = NULL;
    if (sp_group_create(&g, pool, NULL) != 0) {
        violation("group", "sp_group_create failed");
        return 0;
    }
    int limit = (int)(next_random(rng) % 6) - 1; /* -1: none, or 1..4 */
    if (limit == 0)
        limit = 1;
    if (sp_group_set_limit(g, limit) != 0)
        violation("group", "sp_group_set_limit(%d) failed", limit);

    group_item items[GROUP_TASKS];
    long started = 0;
    bool failing_started = false;
    for (int i = 0; i < GROUP_TASKS; i++) {
        items[i] = (group_item){&st, i};
        int rc = sp_group_go(g, group_task, &items[i]);
        if (rc == 0) {
            started++;
            failing_started |= i == st.failing;
        } else if (rc != ECANCELED) {
            violation("group", "sp_group_go returned %d", rc);
        }
    }
    int err = sp_group_wait(g);
    int expected = failing_started ? st.error : 0;
    if (err != expected)
        violation("group", "sp_group_wait returned %d, expected %d (limit %d)", err, expected,
                  limit);
    long ran = atomic_load_explicit(&st.ran, memory_order_relaxed);
    if (ran != started)
        violation("group", "%ld tasks ran, %ld were started", ran, started);
    sp_group_destroy(g);
    return started;
}

/* ---- Channel ---------------------------------------------------------------- */

enum { CHAN_PRODUCERS = 2, CHAN_CONSUMERS = 2, CHAN_PER_PRODUCER = 2000 };

typedef struct chan_round_state {
    sp_chan         *ch;
    _Atomic uint8_t  seen[CHAN_PRODUCERS * CHAN_PER_PRODUCER];
    _Atomic long     received;
} chan_round_state;

typedef struct chan_producer {
    chan_round_state *st;
    int               first;
} chan_producer;

static void *chan_producer_main(void *arg)
{
    chan_producer *p = arg;
    for (int i = 0; i < CHAN_PER_PRODUCER; i++) {
        uint32_t value = (uint32_t)(p->first + i);
        int rc = sp_chan_send(p->st->ch, &value, NULL);
        if (rc != 0)
            violation("channel", "sp_chan_send returned %d", rc);
    }
    return NULL;
}

static void *chan_consumer_main(void *arg)
{
    chan_round_state *st = arg;
    for (;;) {
        uint32_t value;
        int rc = sp_chan_recv(st->ch, &value, NULL);
        if (rc == EPIPE)
            return NULL;
        if (rc != 0) {
            violation("channel", "sp_chan_recv returned %d", rc);
            continue;
        }
        if (value >= CHAN_PRODUCERS * CHAN_PER_PRODUCER) {
            violation("channel", "received %u, which was never sent", value);
            continue;
        }
        /* relaxed: each slot is checked once more after the threads join */
        if (atomic_fetch_add_explicit(&st->seen[value], 1, memory_order_relaxed) != 0)
            violation("channel", "element %u received twice", value);
        atomic_fetch_add_explicit(&st->received, 1, memory_order_relaxed);
    }
}

static long chan_round(uint64_t *rng)
{
    static chan_round_state st; /* large: kept off the stack */
    memset(&st, 0, sizeof st);
    size_t capacity = (size_t)(next_random(rng) % 9); /* 0: unbuffered */
    if (sp_chan_create(&st.ch, sizeof(uint32_t), capacity) != 0) {
        violation("channel", "sp_chan_create failed");
        return 0;
    }

    pthread_t producers[CHAN_PRODUCERS], consumers[CHAN_CONSUMERS];
    chan_producer args[CHAN_PRODUCERS];
    for (int i = 0; i < CHAN_CONSUMERS; i++)
        pthread_create(&consumers[i], NULL, chan_consumer_main, &st);
    for (int i = 0; i < CHAN_PRODUCERS; i++) {
        args[i] = (chan_producer){&st, i * CHAN_PER_PRODUCER};
        pthread_create(&producers[i], NULL, chan_producer_main, &args[i]);
    }
    for (int i = 0; i < CHAN_PRODUCERS; i++)
        pthread_join(producers[i], NULL);
    if (sp_chan_close(st.ch) != 0)
        violation("channel", "the first sp_chan_close failed");
    for (int i = 0; i < CHAN_CONSUMERS; i++)
        pthread_join(consumers[i], NULL);

    for (int v = 0; v < CHAN_PRODUCERS * CHAN_PER_PRODUCER; v++) {
        if (atomic_load_explicit(&st.seen[v], memory_order_relaxed) != 1) {
            violation("channel", "element %d received %u times (capacity %zu)", v,
                      (unsigned)atomic_load_explicit(&st.seen[v], memory_order_relaxed),
                      capacity);
            break;
        }
    }
    sp_chan_destroy(st.ch);
    return atomic_load_explicit(&st.received, memory_order_relaxed);
}

/* ---- Rate limiter ----------------------------------------------------------- */

enum { LIMITER_THREADS = 3 };

typedef struct limiter_round_state {
    sp_limiter  *limiter;
    int64_t      until_ns;
    _Atomic long admitted;
} limiter_round_state;

static void *limiter_main(void *arg)
{
    limiter_round_state *st = arg;
    while (sp_now_ns() < st->until_ns) {
        if (sp_limiter_allow(st->limiter, 1))
            atomic_fetch_add_explicit(&st->admitted, 1, memory_order_relaxed);
        else
            sched_yield();
    }
    return NULL;
}

static long limiter_round(uint64_t *rng)
{
    double rate = 1000.0 * (double)(1 + next_random(rng) % 50);
    int64_t burst = 1 + (int64_t)(next_random(rng) % 20);
    limiter_round_state st;
    atomic_init(&st.admitted, 0);

    int64_t created = sp_now_ns();
    if (sp_limiter_create(&st.limiter, rate, burst) != 0) {
        violation("limiter", "sp_limiter_create failed");
        return 0;
    }
    st.until_ns = created + 50000000;

    pthread_t threads[LIMITER_THREADS];
    for (int t = 0; t < LIMITER_THREADS; t++)
        pthread_create(&threads[t], NULL, limiter_main, &st);
    for (int t = 0; t < LIMITER_THREADS; t++)
        pthread_join(threads[t], NULL);
    int64_t elapsed = sp_now_ns() - created;

    /* The bucket starts full, then refills at rate; each request costs
     * 1/rate rounded to the nanosecond, so allow one token of rounding. */
    long admitted = atomic_load_explicit(&st.admitted, memory_order_relaxed);
    double bound = (double)burst + rate * (double)elapsed / 1e9 + 1;
    if ((double)admitted > bound)
        violation("limiter", "admitted %ld in %.3f ms at rate %.0f/s, burst %" PRId64
                  ": more than %.1f", admitted, (double)elapsed / 1e6, rate, burst, bound);
    sp_limiter_destroy(st.limiter);
    return admitted;
}

/* ---- Driver ----------------------------------------------------------------- */

typedef struct workload {
    const char *name;
    long (*round)(uint64_t *rng);
    long        rounds;
    long        operations;
    _Atomic bool finished;
    pthread_t   thread;
} workload;

static workload workloads[] = {
    {.name = "join", .round = join_round},
    {.name = "submit", .round = submit_round},
    {.name = "semaphore", .round = sem_round},
    {.name = "group", .round = group_round},
    {.name = "channel", .round = chan_round},
    {.name = "limiter", .round = limiter_round},
};

enum { WORKLOAD_COUNT = sizeof workloads / sizeof workloads[0] };

static void *workload_main(void *arg)
{
    workload *w = arg;
    uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)(w - workloads) + 1;
    do {
        w->operations += w->round(&rng);
        w->rounds++;
    } while (time_left());
    /* release: pairs with the acquire load in main */
    atomic_store_explicit(&w->finished, true, memory_order_release);
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stealpool-soak [--seconds N] [--seed S] [--workers W]\n"
            "  --seconds N  how long to run, in seconds (default 10)\n"
            "  --seed S     seed of the random rounds (default 1)\n"
            "  --workers W  workers of the soak pool (default: the SP_* environment)\n");
}

static bool parse_number(const char *text, unsigned long long max, unsigned long long *out)
{
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > max)
        return false;
    *out = value;
    return true;
}

int main(int argc, char **argv)
{
    unsigned long long seconds = 10, workers = 0;
    seed = 1;
    for (int i = 1; i < argc; i++) {
        unsigned long long value;
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--seconds") == 0 && parse_number(next, 86400 * 365, &value)) {
            seconds = value;
        } else if (strcmp(argv[i], "--seed") == 0 && parse_number(next, UINT64_MAX, &value)) {
            seed = value;
        } else if (strcmp(argv[i], "--workers") == 0 && parse_number(next, 4096, &value) &&
                   value > 0) {
            workers = value;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "stealpool-soak: invalid argument \"%s%s%s\"\n", argv[i],
                    next != NULL ? " " : "", next != NULL ? next : "");
            usage(stderr);
            return 2;
        }
        i++;
    }

    sp_config cfg;
    sp_config_init(&cfg);
    sp_config_from_env(&cfg);
    if (workers != 0)
        cfg.workers = (unsigned)workers;
    int rc = sp_pool_create(&pool, &cfg);
    if (rc != 0) {
        fprintf(stderr, "stealpool-soak: sp_pool_create failed (error %d)\n", rc);
        return 2;
    }
    printf("stealpool-soak: %llu s, seed %" PRIu64 ", %u workers, %s\n", seconds, seed,
           sp_pool_workers(pool), sp_build_info());
    fflush(stdout);

    end_ns = sp_now_ns() + (int64_t)seconds * 1000000000;
    for (int i = 0; i < WORKLOAD_COUNT; i++)
        pthread_create(&workloads[i].thread, NULL, workload_main, &workloads[i]);

    /* A round that has not ended a minute after the end is stuck. */
    int64_t stuck_at = end_ns + (int64_t)60 * 1000000000;
    for (int i = 0; i < WORKLOAD_COUNT; i++) {
        /* acquire: pairs with the release store in workload_main */
        while (!atomic_load_explicit(&workloads[i].finished, memory_order_acquire)) {
            if (sp_now_ns() > stuck_at) {
                fprintf(stderr, "stealpool-soak: %s: round not finished 60 s after the end; "
                        "a wake-up was lost or a call deadlocked (seed %" PRIu64 ")\n",
                        workloads[i].name, seed);
                fflush(stderr);
                _exit(2);
            }
            pause_ns(10000000);
        }
        pthread_join(workloads[i].thread, NULL);
        printf("  %-10s %8ld rounds %12ld operations\n", workloads[i].name,
               workloads[i].rounds, workloads[i].operations);
    }

    rc = sp_pool_destroy(pool);
    if (rc != 0)
        violation("pool", "sp_pool_destroy returned %d", rc);

    long failed = atomic_load_explicit(&violations, memory_order_relaxed);
    printf("stealpool-soak: %ld violation(s)\n", failed);
    return failed == 0 ? 0 : 1;
}
