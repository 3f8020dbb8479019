/*
 * The idle suite (I1): what a pool of one worker per usable CPU costs when
 * it has little or nothing to do. The pool takes its settings from the SP_*
 * environment variables, so `SP_SPIN_US=0 stealpool-bench --suite idle`
 * shows the effect of the spin time.
 *
 * Figures, all from getrusage(RUSAGE_SELF) (every thread of the process)
 * or CLOCK_MONOTONIC:
 *   idle CPU: every worker runs a task at once, then the pool gets no work
 *     for its spin time plus a margin; the process CPU of the next second;
 *   trickle: one task every 2 ms for 2 s, each spinning until it has used
 *     100 us of its thread's CPU; the process CPU of the whole span, and
 *     that CPU minus the tasks' own and the submitting thread's;
 *   wake latency: after 100 ms without work, the time from sp_submit to
 *     the start of the task, median and p99 of 30 samples.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <stealpool.h>

#include "bench.h"

/* Timed rounds when --reps is not given: 1 s and 2 s each. */
#define DEFAULT_IDLE_REPS 3
#define DEFAULT_TRICKLE_REPS 2

/* Time after the spin time for the last workers to park. */
#define PARK_MARGIN_NS 50000000LL
#define IDLE_SPAN_NS 1000000000LL

#define TRICKLE_TASKS 1000u
#define TRICKLE_PERIOD_NS 2000000LL
#define TRICKLE_WORK_NS 100000LL

#define LATENCY_SAMPLES 30
#define LATENCY_IDLE_NS 100000000LL

/* Maximum time a warm-up task waits for the other workers to start one. */
#define GATHER_TIMEOUT_NS 100000000LL

#define IDLE_TARGET_MS 20.0

typedef struct idle_state {
    sp_pool *pool;
    unsigned workers;
    unsigned spin_us;
    sem_t done; /* posted once by every task */
    _Atomic unsigned gathered;
    _Atomic int64_t task_cpu_ns;  /* trickle: thread CPU used by the tasks */
    _Atomic int64_t started_ns;   /* wake latency: when the task began */
} idle_state;

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Returns user + system CPU time of every thread of the process, in ns. */
static int64_t process_cpu_ns(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return ((int64_t)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000;
}

static void sleep_until_ns(int64_t deadline)
{
    struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void wait_done(idle_state *state, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        while (sem_wait(&state->done) != 0 && errno == EINTR) {
        }
}

/* Warm-up task: waits until every worker runs one, so that all of them go idle together. */
static void gather_task(void *arg)
{
    idle_state *state = arg;
    /* relaxed: a headcount; nothing else is published through it */
    atomic_fetch_add_explicit(&state->gathered, 1, memory_order_relaxed);
    int64_t give_up = sb_now_ns() + GATHER_TIMEOUT_NS;
    while (atomic_load_explicit(&state->gathered, memory_order_relaxed) < state->workers &&
           sb_now_ns() < give_up) {
    }
    sem_post(&state->done);
}

static int wake_all_workers(idle_state *state)
{
    /* relaxed: no task of the last round is still running */
    atomic_store_explicit(&state->gathered, 0, memory_order_relaxed);
    for (unsigned i = 0; i < state->workers; i++) {
        int rc = sp_submit(state->pool, gather_task, state);
        if (rc != 0) {
            wait_done(state, i);
            return rc;
        }
    }
    wait_done(state, state->workers);
    return 0;
}

/* Measures the process CPU of one idle second after the workers parked. */
static int measure_idle_once(idle_state *state, double *cpu_ns)
{
    int rc = wake_all_workers(state);
    if (rc != 0)
        return rc;

    sleep_until_ns(sb_now_ns() + (int64_t)state->spin_us * 1000 + PARK_MARGIN_NS);
    int64_t cpu_start = process_cpu_ns();
    int64_t start = sb_now_ns();
    sleep_until_ns(start + IDLE_SPAN_NS);
    int64_t cpu = process_cpu_ns() - cpu_start;
    int64_t span = sb_now_ns() - start;

    *cpu_ns = (double)cpu * IDLE_SPAN_NS / (double)span;
    return 0;
}

/* Trickle task: spins until it has used TRICKLE_WORK_NS of its thread's CPU. */
static void trickle_task(void *arg)
{
    idle_state *state = arg;
    int64_t start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t used;
    do {
        used = clock_ns(CLOCK_THREAD_CPUTIME_ID) - start;
    } while (used < TRICKLE_WORK_NS);

    /* relaxed: read after sem_wait on `done`, which orders it */
    atomic_fetch_add_explicit(&state->task_cpu_ns, used, memory_order_relaxed);
    sem_post(&state->done);
}

typedef struct trickle_result {
    double process_cpu_ns;
    double overhead_ns; /* process CPU minus the tasks' and the submitter's */
} trickle_result;

static int measure_trickle_once(idle_state *state, trickle_result *result)
{
    /* relaxed: no trickle task is running */
    atomic_store_explicit(&state->task_cpu_ns, 0, memory_order_relaxed);
    int64_t submitter_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t cpu_start = process_cpu_ns();
    int64_t start = sb_now_ns();

    unsigned submitted = 0;
    int rc = 0;
    for (; submitted < TRICKLE_TASKS; submitted++) {
        sleep_until_ns(start + (int64_t)submitted * TRICKLE_PERIOD_NS);
        rc = sp_submit(state->pool, trickle_task, state);
        if (rc != 0)
            break;
    }
    wait_done(state, submitted);

    int64_t cpu = process_cpu_ns() - cpu_start;
    int64_t submitter = clock_ns(CLOCK_THREAD_CPUTIME_ID) - submitter_start;
    /* relaxed: every task posted `done` after adding, and we waited for all posts */
    int64_t tasks = atomic_load_explicit(&state->task_cpu_ns, memory_order_relaxed);
    result->process_cpu_ns = (double)cpu;
    result->overhead_ns = (double)(cpu - tasks - submitter);
    return rc;
}

static void latency_task(void *arg)
{
    idle_state *state = arg;
    /* relaxed: read after sem_wait on `done`, which orders it */
    atomic_store_explicit(&state->started_ns, sb_now_ns(), memory_order_relaxed);
    sem_post(&state->done);
}

static int measure_latency_once(idle_state *state, double *latency_ns)
{
    sleep_until_ns(sb_now_ns() + LATENCY_IDLE_NS);

    int64_t submitted = sb_now_ns();
    int rc = sp_submit(state->pool, latency_task, state);
    if (rc != 0)
        return rc;
    wait_done(state, 1);

    *latency_ns = (double)(atomic_load_explicit(&state->started_ns, memory_order_relaxed) -
                           submitted);
    return 0;
}

static void report_figure(sb_report *report, const idle_state *state, const char *workload,
                          double value_ns, unsigned runs, const char *unit, sb_answer answer)
{
    sb_row row = {
        .workload = workload,
        .system = "stealpool",
        .workers = state->workers,
        .median_ns = value_ns,
        .runs = runs,
        .unit = unit,
        .answer = answer,
    };
    sb_report_row(report, &row);
}

static unsigned reps_of(const sb_options *options, unsigned fallback)
{
    return options->reps > 0 ? options->reps : fallback;
}

static int measure_idle(sb_report *report, const sb_options *options, idle_state *state)
{
    unsigned reps = reps_of(options, DEFAULT_IDLE_REPS);
    double values[1000];
    int rc = 0;

    for (unsigned r = 0; r < reps && rc == 0; r++) {
        sb_progress("I1 idle: round %u of %u (1 s)", r + 1, reps);
        rc = measure_idle_once(state, &values[r]);
    }
    if (rc != 0)
        return rc;

    double median = sb_median(values, reps);
    report_figure(report, state, "I1 idle pool: process CPU per idle second", median, reps, "ms",
                  SB_ANSWER_NOT_CHECKED);
    sb_report_note(report, "I1 idle: %.2f ms of CPU per idle second (target <= %.0f ms)",
                   median / 1e6, IDLE_TARGET_MS);
    return 0;
}

static int measure_trickle(sb_report *report, const sb_options *options, idle_state *state)
{
    unsigned reps = reps_of(options, DEFAULT_TRICKLE_REPS);
    double cpu[1000];
    double overhead[1000];
    int rc = 0;

    for (unsigned r = 0; r < reps && rc == 0; r++) {
        sb_progress("I1 trickle: round %u of %u (2 s)", r + 1, reps);
        trickle_result result;
        rc = measure_trickle_once(state, &result);
        cpu[r] = result.process_cpu_ns;
        overhead[r] = result.overhead_ns;
    }
    if (rc != 0)
        return rc;

    double cpu_median = sb_median(cpu, reps);
    double overhead_median = sb_median(overhead, reps);
    report_figure(report, state, "I1 trickle: process CPU", cpu_median, reps, "ms",
                  SB_ANSWER_OK);
    report_figure(report, state, "I1 trickle: CPU beyond the tasks' work", overhead_median, reps,
                  "ms", SB_ANSWER_NOT_CHECKED);
    sb_report_note(report,
                   "I1 trickle: %u tasks of %lld us CPU, one every %lld ms: %.1f ms of process "
                   "CPU, %.1f ms beyond the tasks' own and the submitting thread's",
                   TRICKLE_TASKS, TRICKLE_WORK_NS / 1000, TRICKLE_PERIOD_NS / 1000000,
                   cpu_median / 1e6, overhead_median / 1e6);
    return 0;
}

static int measure_latency(sb_report *report, idle_state *state)
{
    double samples[LATENCY_SAMPLES];
    sb_progress("I1 wake latency: %d samples, 100 ms apart", LATENCY_SAMPLES);
    for (unsigned i = 0; i < LATENCY_SAMPLES; i++) {
        int rc = measure_latency_once(state, &samples[i]);
        if (rc != 0)
            return rc;
    }

    double median = sb_median(samples, LATENCY_SAMPLES); /* sorts the samples */
    /* Nearest rank: of 30 samples, the 30th smallest is the 99th percentile. */
    size_t p99_rank = (size_t)((LATENCY_SAMPLES * 99 + 99) / 100);
    double p99 = samples[p99_rank - 1];
    report_figure(report, state, "I1 wake latency after 100 ms idle, median", median,
                  LATENCY_SAMPLES, "us", SB_ANSWER_NOT_CHECKED);
    report_figure(report, state, "I1 wake latency after 100 ms idle, p99", p99, LATENCY_SAMPLES,
                  "us", SB_ANSWER_NOT_CHECKED);
    return 0;
}

static int run_idle(const sb_options *options, sb_report *report)
{
    idle_state state = {0};
    sp_config config;
    sp_config_init(&config);
    (void)sp_config_from_env(&config); /* an invalid variable is logged and keeps its default */
    config.workers = 0;                /* one per usable CPU */

    if (sem_init(&state.done, 0, 0) != 0)
        return errno;
    int rc = sp_pool_create(&state.pool, &config);
    if (rc != 0) {
        sb_progress("idle: creating the pool failed: %s", strerror(rc));
        sem_destroy(&state.done);
        return rc;
    }
    state.workers = sp_pool_workers(state.pool);
    state.spin_us = config.spin_us;

    rc = measure_idle(report, options, &state);
    if (rc == 0)
        rc = measure_trickle(report, options, &state);
    if (rc == 0)
        rc = measure_latency(report, &state);

    sp_pool_destroy(state.pool);
    sem_destroy(&state.done);
    if (rc == 0)
        sb_report_note(report, "pool of %u workers, spin time %u us (SP_SPIN_US or its default), "
                               "other settings from SP_* variables",
                       state.workers, state.spin_us);
    return rc;
}

const sb_suite sb_suite_idle = {
    .name = "idle",
    .description = "I1: process CPU of an idle pool per second, CPU of a trickle of small "
                   "tasks, and wake latency after 100 ms idle",
    .run = run_idle,
};
