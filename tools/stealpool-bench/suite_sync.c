/*
 * The sync suite: S1 semaphore and C1 channel costs of stealpool against
 * POSIX sem_t and the mutex+condvar versions of bench/ref/: an unfair
 * weighted semaphore, a FIFO one and a bounded queue.
 *
 * S1(a) one thread, acquire(1) + release(1) pairs, nothing contended;
 * S1(b) two threads hammering a semaphore of capacity 1;
 * S1(c) two threads acquiring random weights 1..8 of capacity 10;
 * C1    8-byte values through a queue of capacity 64, 1 -> 1 and 2 -> 2.
 *
 * Every run does a fixed amount of work, so the ratio of two medians is
 * the ratio of throughputs. The answer checks: a counter that the
 * capacity-1 semaphore guards must count every pair (mutual exclusion),
 * every semaphore is full again at the end, and the checksum of the
 * received channel values equals that of the sent ones. S1(b) also counts
 * turns, the runs of pairs by one thread, which shows how fair each
 * system was, and the suite measures the cache-line round trip between
 * two threads, the floor of passing the unit on every pair.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <ck_pr.h>

#include <stealpool.h>

#include "bench.h"
#include "fifo_wsem.h"
#include "mutex_queue.h"
#include "pthread_wsem.h"

/* Timed rounds per workload when --reps is not given. */
#define DEFAULT_REPS 5

/* Work per run, sized for runs of 20 to 100 ms here. */
#define UNCONTENDED_PAIRS 4000000u
#define HANDOFF_PAIRS_PER_THREAD 500000u
#define WEIGHTED_PAIRS_PER_THREAD 500000u
#define CHANNEL_ELEMENTS 200000u

#define WEIGHTED_CAPACITY 10
#define MAX_WEIGHT 8
#define CHANNEL_CAPACITY 64

/* Maximum threads of one run: 2 producers and 2 consumers. */
#define MAX_THREADS 4

/* Maximum semaphore systems in one workload. */
#define MAX_SYSTEMS 4

typedef enum { SYSTEM_STEALPOOL, SYSTEM_POSIX, SYSTEM_MUTEX, SYSTEM_FIFO } sync_system;

static const char *sem_system_name(sync_system system)
{
    switch (system) {
    case SYSTEM_STEALPOOL:
        return "stealpool sp_sem";
    case SYSTEM_POSIX:
        return "POSIX sem_t";
    case SYSTEM_FIFO:
        return "FIFO mutex+condvar semaphore";
    default:
        return "mutex+condvar semaphore";
    }
}

static const char *chan_system_name(sync_system system)
{
    return system == SYSTEM_STEALPOOL ? "stealpool sp_chan" : "mutex+condvar queue";
}

/* ---- semaphores -------------------------------------------------------- */

/* One semaphore of any system; the context of an S1 case. */
typedef struct sem_case {
    sync_system system;
    int64_t capacity;
    unsigned threads;
    unsigned pairs_per_thread;
    bool random_weights;

    sp_sem *stealpool;
    sem_t posix;
    ref_wsem mutex;
    fifo_wsem fifo;

    /* Guarded by the semaphore when capacity is 1; checked after the run. */
    uint64_t guarded_count;
    /* Also guarded: the thread that held the unit last, and the turns: runs
     * of consecutive pairs by one thread. */
    unsigned last_holder;
    uint64_t turns;
} sem_case;

static int sem_case_open(sem_case *c)
{
    c->guarded_count = 0;
    c->last_holder = UINT_MAX;
    c->turns = 0;
    switch (c->system) {
    case SYSTEM_STEALPOOL:
        return sp_sem_create(&c->stealpool, c->capacity);
    case SYSTEM_POSIX:
        return sem_init(&c->posix, 0, (unsigned)c->capacity) == 0 ? 0 : errno;
    case SYSTEM_FIFO:
        return fifo_wsem_init(&c->fifo, c->capacity);
    default:
        return ref_wsem_init(&c->mutex, c->capacity);
    }
}

/* Returns the units free now; the run is over, so nothing is held. */
static int64_t sem_case_available(sem_case *c)
{
    int value = -1;
    switch (c->system) {
    case SYSTEM_STEALPOOL:
        return sp_sem_available(c->stealpool);
    case SYSTEM_POSIX:
        sem_getvalue(&c->posix, &value);
        return value;
    case SYSTEM_FIFO:
        return c->fifo.available; /* the threads that changed it were joined */
    default:
        return c->mutex.available; /* the threads that changed it were joined */
    }
}

static void sem_case_close(sem_case *c)
{
    switch (c->system) {
    case SYSTEM_STEALPOOL:
        sp_sem_destroy(c->stealpool);
        break;
    case SYSTEM_POSIX:
        sem_destroy(&c->posix);
        break;
    case SYSTEM_FIFO:
        fifo_wsem_destroy(&c->fifo);
        break;
    default:
        ref_wsem_destroy(&c->mutex);
        break;
    }
}

/* xorshift64: the weight generator, seeded per thread so that every system gets the same weights. */
static int64_t next_weight(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return 1 + (int64_t)(x % MAX_WEIGHT);
}

/* Counts a pair made while holding the only unit, and a new turn when the
 * unit comes from the other thread. */
static void hold_unit(sem_case *c, unsigned thread)
{
    c->guarded_count++;
    if (c->last_holder != thread) {
        c->last_holder = thread;
        c->turns++;
    }
}

/* Runs one thread's pairs; returns 0 or the first error of an acquire or release. */
static int sem_pairs(sem_case *c, unsigned thread)
{
    uint64_t seed = 0x9e3779b97f4a7c15u * (thread + 1);
    bool guarded = c->capacity == 1;

    for (unsigned i = 0; i < c->pairs_per_thread; i++) {
        int64_t n = c->random_weights ? next_weight(&seed) : 1;

        switch (c->system) {
        case SYSTEM_STEALPOOL: {
            int rc = sp_sem_acquire(c->stealpool, n, NULL);
            if (rc != 0)
                return rc;
            if (guarded)
                hold_unit(c, thread);
            rc = sp_sem_release(c->stealpool, n);
            if (rc != 0)
                return rc;
            break;
        }
        case SYSTEM_POSIX:
            while (sem_wait(&c->posix) != 0)
                if (errno != EINTR)
                    return errno;
            if (guarded)
                hold_unit(c, thread);
            if (sem_post(&c->posix) != 0)
                return errno;
            break;
        case SYSTEM_FIFO: {
            int rc = fifo_wsem_acquire(&c->fifo, n);
            if (rc != 0)
                return rc;
            if (guarded)
                hold_unit(c, thread);
            fifo_wsem_release(&c->fifo, n);
            break;
        }
        default:
            ref_wsem_acquire(&c->mutex, n);
            if (guarded)
                hold_unit(c, thread);
            ref_wsem_release(&c->mutex, n);
            break;
        }
    }
    return 0;
}

/* ---- threads ----------------------------------------------------------- */

typedef struct team_member {
    pthread_t thread;
    unsigned index;
    int (*body)(void *context, unsigned index);
    void *context;
    int rc;
} team_member;

static void *team_member_main(void *arg)
{
    team_member *m = arg;
    m->rc = m->body(m->context, m->index);
    return NULL;
}

/*
 * Runs body(context, i) on `count` threads and joins them; returns the first error.
 * NOTE: when a thread cannot be started, the channel partners already running may
 * wait forever for it; the semaphore loops finish without it.
 */
static int run_team(unsigned count, int (*body)(void *, unsigned), void *context)
{
    team_member members[MAX_THREADS];
    unsigned started = 0;
    int rc = 0;

    if (count == 1)
        return body(context, 0);

    for (; started < count; started++) {
        members[started] = (team_member){.index = started, .body = body, .context = context};
        rc = pthread_create(&members[started].thread, NULL, team_member_main, &members[started]);
        if (rc != 0)
            break;
    }

    for (unsigned i = 0; i < started; i++) {
        pthread_join(members[i].thread, NULL);
        if (rc == 0)
            rc = members[i].rc;
    }
    return rc;
}

static int sem_thread_body(void *context, unsigned index)
{
    return sem_pairs(context, index);
}

static int run_sem_case(void *context, sb_answer *answer)
{
    sem_case *c = context;
    int rc = sem_case_open(c);
    if (rc != 0)
        return rc;

    rc = run_team(c->threads, sem_thread_body, c);

    uint64_t pairs = (uint64_t)c->threads * c->pairs_per_thread;
    bool full = sem_case_available(c) == c->capacity;
    bool counted = c->capacity != 1 || c->guarded_count == pairs;
    *answer = rc == 0 && full && counted ? SB_ANSWER_OK : SB_ANSWER_WRONG;
    if (rc == 0 && !full)
        sb_progress("%s: %lld units free after the run, expected %lld",
                    sem_system_name(c->system), (long long)sem_case_available(c),
                    (long long)c->capacity);
    if (rc == 0 && !counted)
        sb_progress("%s: the guarded counter reached %llu, expected %llu: mutual exclusion "
                    "failed",
                    sem_system_name(c->system), (unsigned long long)c->guarded_count,
                    (unsigned long long)pairs);

    sem_case_close(c);
    return rc;
}

/* ---- channels ---------------------------------------------------------- */

typedef struct chan_case {
    sync_system system;
    unsigned producers; /* as many consumers */
    sp_chan *chan;
    mutex_queue queue;
    uint64_t received_sum[MAX_THREADS];
} chan_case;

/* Values sent: 1 .. CHANNEL_ELEMENTS, each once, split among the producers. */
static int chan_thread_body(void *context, unsigned index)
{
    chan_case *c = context;
    unsigned per_thread = CHANNEL_ELEMENTS / c->producers;
    bool producer = index < c->producers;
    unsigned slot = producer ? index : index - c->producers;
    uint64_t sum = 0;

    for (unsigned i = 0; i < per_thread; i++) {
        uint64_t value = (uint64_t)slot * per_thread + i + 1;
        int rc = 0;

        if (c->system == SYSTEM_STEALPOOL && producer)
            rc = sp_chan_send(c->chan, &value, NULL);
        else if (c->system == SYSTEM_STEALPOOL)
            rc = sp_chan_recv(c->chan, &value, NULL);
        else if (producer)
            mutex_queue_push(&c->queue, value);
        else
            value = mutex_queue_pop(&c->queue);
        if (rc != 0)
            return rc;

        sum += value;
    }

    if (!producer)
        c->received_sum[slot] = sum;
    return 0;
}

static int run_chan_case(void *context, sb_answer *answer)
{
    chan_case *c = context;
    int rc;
    if (c->system == SYSTEM_STEALPOOL)
        rc = sp_chan_create(&c->chan, sizeof(uint64_t), CHANNEL_CAPACITY);
    else
        rc = mutex_queue_init(&c->queue, CHANNEL_CAPACITY) == 0 ? 0 : ENOMEM;
    if (rc != 0)
        return rc;

    memset(c->received_sum, 0, sizeof c->received_sum);
    rc = run_team(2 * c->producers, chan_thread_body, c);

    uint64_t sum = 0;
    for (unsigned i = 0; i < c->producers; i++)
        sum += c->received_sum[i];
    uint64_t n = CHANNEL_ELEMENTS;
    uint64_t expected = n * (n + 1) / 2;
    *answer = rc == 0 && sum == expected ? SB_ANSWER_OK : SB_ANSWER_WRONG;
    if (rc == 0 && sum != expected)
        sb_progress("%s: checksum of the received values %llu, expected %llu",
                    chan_system_name(c->system), (unsigned long long)sum,
                    (unsigned long long)expected);

    if (c->system == SYSTEM_STEALPOOL)
        sp_chan_destroy(c->chan);
    else
        mutex_queue_destroy(&c->queue);
    return rc;
}

/* ---- cache-line round trip --------------------------------------------- */

/* Round trips in one measurement: 13 to 90 ms here. */
#define ROUND_TRIPS 200000u

/* Pauses between yields while a thread waits for its turn, so that two
 * threads on one busy CPU still take turns. */
#define ROUND_TRIP_PAUSES 1024u

/* Two threads take turns incrementing one word: thread i waits for a value
 * of parity i. Each turn moves the word's cache line to the other CPU. */
static int round_trip_body(void *context, unsigned index)
{
    _Atomic uint64_t *turn = context;
    for (uint64_t i = 0; i < ROUND_TRIPS; i++) {
        unsigned pauses = 0;
        /* acquire: pairs with the other thread's increment, a turn apart */
        while (atomic_load_explicit(turn, memory_order_acquire) % 2 != index) {
            ck_pr_stall();
            if (++pauses % ROUND_TRIP_PAUSES == 0)
                sched_yield();
        }
        atomic_fetch_add_explicit(turn, 1, memory_order_release);
    }
    return 0;
}

/*
 * Returns the nanoseconds of one round trip of a cache line between the
 * two threads, or a negative value when a thread could not start or only
 * one CPU is usable (the threads would share it). The
 * vCPUs of a virtual machine may sit on nearby or on distant cores, and
 * the figure moves with them, sometimes within one run.
 */
static double measure_round_trip(const sb_options *options)
{
    if (options->usable_cpus < 2)
        return -1.0;

    _Alignas(64) _Atomic uint64_t turn = 0;
    int64_t start = sp_now_ns();
    if (run_team(2, round_trip_body, (void *)&turn) != 0)
        return -1.0;
    return (double)(sp_now_ns() - start) / ROUND_TRIPS;
}

/* ---- workloads --------------------------------------------------------- */

static unsigned reps_of(const sb_options *options)
{
    return options->reps > 0 ? options->reps : DEFAULT_REPS;
}

/* Measures the semaphore systems given, the first one being the baseline. */
static int measure_sem(sb_report *report, const sb_options *options, const char *name,
                       const sem_case *shape, const sync_system *systems, size_t count,
                       sem_case *contexts, sb_case *cases)
{
    for (size_t i = 0; i < count; i++) {
        contexts[i] = *shape;
        contexts[i].system = systems[i];
        cases[i] = (sb_case){
            .system = sem_system_name(systems[i]),
            .baseline = i == 0,
            .run = run_sem_case,
            .context = &contexts[i],
        };
    }

    sb_workload workload = {
        .name = name,
        .unit = "ms",
        .items = (double)shape->threads * shape->pairs_per_thread,
        .item = "pair",
        .reps = reps_of(options),
    };
    return sb_measure(report, &workload, cases, count);
}

/* Returns the median of the case run on system, or 0. */
static double median_of(const sb_case *cases, const sem_case *contexts, size_t count,
                        sync_system system)
{
    for (size_t i = 0; i < count; i++)
        if (contexts[i].system == system)
            return cases[i].median_ns;
    return 0.0;
}

/* Writes "system value, system value, ..." for the cases into text. */
static void format_per_system(char *text, size_t size, const sem_case *contexts,
                              const double *values, size_t count)
{
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < count && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%s %.1f", i == 0 ? "" : ", ",
                                 sem_system_name(contexts[i].system), values[i]);
}

/* Adds the million pairs per second of every case as one note. */
static void note_pair_rates(sb_report *report, const char *label, const sb_case *cases,
                            const sem_case *contexts, size_t count)
{
    double rates[MAX_SYSTEMS];
    for (size_t i = 0; i < count; i++) {
        double pairs = (double)contexts[i].threads * contexts[i].pairs_per_thread;
        rates[i] = pairs / cases[i].median_ns * 1e3;
    }

    char text[192];
    format_per_system(text, sizeof text, contexts, rates, count);
    sb_report_note(report, "%s million pairs/s: %s", label, text);
}

/* Adds the pairs per turn of every capacity-1 case (its last run) as one note. */
static void note_pairs_per_turn(sb_report *report, const sem_case *contexts, size_t count)
{
    double per_turn[MAX_SYSTEMS];
    for (size_t i = 0; i < count; i++) {
        double turns = contexts[i].turns > 0 ? (double)contexts[i].turns : 1.0;
        per_turn[i] = (double)contexts[i].guarded_count / turns;
    }

    char text[192];
    format_per_system(text, sizeof text, contexts, per_turn, count);
    sb_report_note(report, "S1(b) pairs per turn (acquire+release pairs one thread makes before "
                           "the other gets the unit), from each system's last timed run: %s",
                   text);
}

#define SYSTEM_COUNT(systems) (sizeof(systems) / sizeof((systems)[0]))

static int measure_uncontended(sb_report *report, const sb_options *options)
{
    static const sync_system systems[] = {SYSTEM_POSIX, SYSTEM_STEALPOOL, SYSTEM_MUTEX,
                                          SYSTEM_FIFO};
    enum { COUNT = SYSTEM_COUNT(systems) };
    _Static_assert(COUNT <= MAX_SYSTEMS, "the notes hold MAX_SYSTEMS values");
    sem_case shape = {.capacity = 1, .threads = 1, .pairs_per_thread = UNCONTENDED_PAIRS};
    sem_case contexts[COUNT];
    sb_case cases[COUNT];

    int rc = measure_sem(report, options, "S1(a) sem uncontended, 1 thread", &shape, systems,
                         COUNT, contexts, cases);
    if (rc != 0)
        return rc;

    double ours = median_of(cases, contexts, COUNT, SYSTEM_STEALPOOL);
    double posix = median_of(cases, contexts, COUNT, SYSTEM_POSIX);
    sb_report_note(report, "S1(a): sp_sem / sem_t time = %.2f (target <= 1); %.1f ns per pair",
                   ours / posix, ours / UNCONTENDED_PAIRS);
    return 0;
}

static int measure_handoff(sb_report *report, const sb_options *options)
{
    static const sync_system systems[] = {SYSTEM_POSIX, SYSTEM_STEALPOOL, SYSTEM_MUTEX,
                                          SYSTEM_FIFO};
    enum { COUNT = SYSTEM_COUNT(systems) };
    _Static_assert(COUNT <= MAX_SYSTEMS, "the notes hold MAX_SYSTEMS values");
    sem_case shape = {.capacity = 1, .threads = 2, .pairs_per_thread = HANDOFF_PAIRS_PER_THREAD};
    sem_case contexts[COUNT];
    sb_case cases[COUNT];

    int rc = measure_sem(report, options, "S1(b) sem capacity 1, 2 threads", &shape, systems,
                         COUNT, contexts, cases);
    if (rc != 0)
        return rc;

    note_pair_rates(report, "S1(b)", cases, contexts, COUNT);
    note_pairs_per_turn(report, contexts, COUNT);
    double ours = median_of(cases, contexts, COUNT, SYSTEM_STEALPOOL);
    double pairs = 2.0 * HANDOFF_PAIRS_PER_THREAD;
    sb_report_note(report,
                   "S1(b): sp_sem %.1f million pairs/s (target >= 10; queued requests are "
                   "admitted in FIFO order); a thread keeps the unit for a turn while the other "
                   "polls before it queues (sp_sem, up to about 15 us) or sleeps on a mutex (the "
                   "mutex-based semaphores)",
                   pairs / ours * 1e3);
    return 0;
}

static int measure_weighted(sb_report *report, const sb_options *options)
{
    static const sync_system systems[] = {SYSTEM_MUTEX, SYSTEM_STEALPOOL, SYSTEM_FIFO};
    enum { COUNT = SYSTEM_COUNT(systems) };
    _Static_assert(COUNT <= MAX_SYSTEMS, "the notes hold MAX_SYSTEMS values");
    sem_case shape = {.capacity = WEIGHTED_CAPACITY,
                      .threads = 2,
                      .pairs_per_thread = WEIGHTED_PAIRS_PER_THREAD,
                      .random_weights = true};
    sem_case contexts[COUNT];
    sb_case cases[COUNT];

    int rc = measure_sem(report, options, "S1(c) sem weights 1..8 of 10, 2 threads", &shape,
                         systems, COUNT, contexts, cases);
    if (rc != 0)
        return rc;

    note_pair_rates(report, "S1(c)", cases, contexts, COUNT);
    double ours = median_of(cases, contexts, COUNT, SYSTEM_STEALPOOL);
    double mutex = median_of(cases, contexts, COUNT, SYSTEM_MUTEX);
    double fifo = median_of(cases, contexts, COUNT, SYSTEM_FIFO);
    sb_report_note(report,
                   "S1(c): mutex+condvar time / sp_sem time = %.2f (target >= 1); FIFO "
                   "mutex+condvar time / sp_sem time = %.2f",
                   mutex / ours, fifo / ours);
    return 0;
}

static int measure_channel(sb_report *report, const sb_options *options, unsigned producers)
{
    chan_case contexts[2] = {{.system = SYSTEM_MUTEX, .producers = producers},
                             {.system = SYSTEM_STEALPOOL, .producers = producers}};
    sb_case cases[2];
    for (size_t i = 0; i < 2; i++)
        cases[i] = (sb_case){
            .system = chan_system_name(contexts[i].system),
            .baseline = i == 0,
            .run = run_chan_case,
            .context = &contexts[i],
        };

    char name[64];
    snprintf(name, sizeof name, "C1 channel %u -> %u, capacity %u", producers, producers,
             CHANNEL_CAPACITY);
    sb_workload workload = {
        .name = name,
        .unit = "ms",
        .items = CHANNEL_ELEMENTS,
        .item = "element",
        .reps = reps_of(options),
    };
    int rc = sb_measure(report, &workload, cases, 2);
    if (rc != 0)
        return rc;

    sb_report_note(report, "C1 %u -> %u: mutex+condvar queue time / sp_chan time = %.2f (target "
                           ">= 2); %.1f ns per element",
                   producers, producers, cases[0].median_ns / cases[1].median_ns,
                   cases[1].median_ns / CHANNEL_ELEMENTS);
    return 0;
}

static int run_sync(const sb_options *options, sb_report *report)
{
    if (options->compare != SB_COMPARE_ALL)
        sb_report_note(report, "--compare does not apply here: POSIX sem_t and the "
                               "mutex+condvar versions always run");

    int rc = measure_uncontended(report, options);

    double trip_before = measure_round_trip(options);
    if (rc == 0)
        rc = measure_handoff(report, options);
    if (rc == 0)
        rc = measure_weighted(report, options);
    double trip_after = measure_round_trip(options);
    if (rc == 0 && trip_before > 0 && trip_after > 0) {
        /* Passing the unit to the other thread sends at least one cache line
         * there, which takes half a round trip. */
        double fastest = trip_before < trip_after ? trip_before : trip_after;
        sb_report_note(report,
                       "cache-line round trip between two threads: %.0f ns before S1(b), %.0f ns "
                       "after S1(c); a VM's vCPUs may move between near and far cores",
                       trip_before, trip_after);
        sb_report_note(report,
                       "S1(b) at 1 pair per turn is capped at %.1f million pairs/s here: passing "
                       "the unit to the other thread takes at least half of the faster round trip",
                       2e3 / fastest);
    } else if (rc == 0 && options->usable_cpus < 2) {
        sb_report_note(report, "cache-line round trip not measured: one usable CPU");
    }

    if (rc == 0)
        rc = measure_channel(report, options, 1);
    if (rc == 0)
        rc = measure_channel(report, options, 2);

    if (rc == 0)
        sb_report_note(report, "%u timed runs per row after one warm-up run; rows use plain "
                               "threads, no pool (workers -)",
                       reps_of(options));
    return rc;
}

const sb_suite sb_suite_sync = {
    .name = "sync",
    .description = "S1 semaphore (uncontended, capacity-1 handoff, weights 1..8 of 10) and "
                   "C1 channel (1 -> 1, 2 -> 2): stealpool against POSIX sem_t and "
                   "mutex+condvar code",
    .run = run_sync,
};
