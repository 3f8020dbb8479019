/*
 * The patterns suite (P1) and the memory suite (M1): the bounded-concurrency
 * patterns of a Go service, on stealpool, over items of variable cost
 * (bench/workloads/p1.h).
 *
 * Patterns, each computing the same items:
 *   sequential            a plain loop (the baseline);
 *   unbounded group       one group task per item, no limit;
 *   group + semaphore(20) acquire a unit before go, release it at task end;
 *   group limit 20        sp_group_set_limit(20), one go per item;
 *   worker pool(20)       20 group tasks that receive items from a channel
 *                         of capacity 20 until it is closed; the calling
 *                         thread sends;
 *   sp_parallel_for       one parallel loop over the items;
 * and, when built in, oneTBB parallel_for, OpenMP `parallel for
 * schedule(dynamic)` and a mutex+condvar pthread pool of 20 threads with one
 * job per item.
 *
 * Every item's result is added to a per-thread checksum slot, and the sum
 * of the slots is checked against the known checksum of the batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stealpool.h>

#include "bench.h"
#include "p1.h"
#include "pthread_pool.h"
#include "ref_p1.h"

/* Timed batches per row when --reps is not given. A sequential batch takes
 * about 0.25 ms, so many batches cost little. */
#define DEFAULT_REPS 15

/* Pause after every batch, so that spinning idle threads of the last
 * system (libgomp's spin for a few milliseconds) stop before the next. */
#define SETTLE_MS 10

/* The bound of every bounded pattern, and the pthread pool's size. */
#define PATTERN_BOUND 20

/* Items of M1 per pattern: the default run and --long. */
#define M1_ITEMS 1000000u
#define M1_ITEMS_LONG 10000000u

/* Items of the warm-up of M1, which starts the threads it needs. */
#define M1_WARMUP_ITEMS 20000u

/* The M1 target, in KiB over the idle pool. */
#define M1_TARGET_KIB (8 * 1024L)

/* Per-thread checksum slots, indexed by worker index + 1 (0: other threads). */
#define CHECKSUM_SLOTS 64

typedef enum {
    PATTERN_SEQUENTIAL,
    PATTERN_UNBOUNDED,
    PATTERN_SEMAPHORE,
    PATTERN_LIMIT,
    PATTERN_CHANNEL,
    PATTERN_PARALLEL_FOR,
    PATTERN_TBB,
    PATTERN_OPENMP,
    PATTERN_PTHREAD
} pattern;

typedef struct checksum_slot {
    _Alignas(64) _Atomic uint64_t sum;
} checksum_slot;

typedef struct pattern_run pattern_run;

/* The argument of one item's task: the run and the item's input. */
typedef struct item_ref {
    pattern_run *run;
    uint32_t     input;
} item_ref;

/* One system and worker count; the context of an sb_case. */
struct pattern_run {
    pattern   pattern;
    unsigned  workers;
    sp_pool  *pool;
    ref_pool *pthread_pool;
    uint32_t  items;
    sp_sem   *sem;  /* during a semaphore run */
    sp_chan  *chan; /* during a channel run */
    item_ref  refs[P1_BATCH_ITEMS];
    checksum_slot slots[CHECKSUM_SLOTS];
};

static const char *pattern_name(pattern p)
{
    switch (p) {
    case PATTERN_SEQUENTIAL:
        return "sequential";
    case PATTERN_UNBOUNDED:
        return "unbounded group";
    case PATTERN_SEMAPHORE:
        return "group + semaphore(20)";
    case PATTERN_LIMIT:
        return "group limit 20";
    case PATTERN_CHANNEL:
        return "worker pool(20), channel";
    case PATTERN_PARALLEL_FOR:
        return "sp_parallel_for";
    case PATTERN_TBB:
        return "oneTBB parallel_for";
    case PATTERN_OPENMP:
        return "OpenMP dynamic loop";
    default:
        return "pthread pool(20)";
    }
}

static void run_fold(pattern_run *run, uint64_t value)
{
    unsigned slot = (unsigned)(sp_worker_index() + 1) % CHECKSUM_SLOTS;
    /* relaxed: the pattern's own join (wait, close + wait, loop end)
     * orders every addition before the slots are summed */
    atomic_fetch_add_explicit(&run->slots[slot].sum, value, memory_order_relaxed);
}

static uint64_t run_take_checksum(pattern_run *run)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < CHECKSUM_SLOTS; i++)
        /* relaxed: see run_fold */
        sum += atomic_exchange_explicit(&run->slots[i].sum, 0, memory_order_relaxed);
    return sum;
}

static const item_ref *run_ref(pattern_run *run, uint32_t k)
{
    return &run->refs[k % P1_BATCH_ITEMS];
}

static int item_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    const item_ref *ref = arg;
    run_fold(ref->run, p1_item(ref->input));
    return 0;
}

static int item_sem_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    const item_ref *ref = arg;
    run_fold(ref->run, p1_item(ref->input));
    return sp_sem_release(ref->run->sem, 1);
}

static int run_sequential(pattern_run *run)
{
    uint64_t sum = 0;
    for (uint32_t k = 0; k < run->items; k++)
        sum += p1_item(k % P1_BATCH_ITEMS);
    run_fold(run, sum);
    return 0;
}

/* The unbounded group (limit -1) and the group limit 20: one go per item. */
static int run_group(pattern_run *run, int limit)
{
    sp_group *group = NULL;
    int rc = sp_group_create(&group, run->pool, NULL);
    if (rc != 0)
        return rc;
    rc = sp_group_set_limit(group, limit);

    for (uint32_t k = 0; k < run->items && rc == 0; k++)
        rc = sp_group_go(group, item_task, (void *)run_ref(run, k));

    int wait_rc = sp_group_wait(group);
    sp_group_destroy(group);
    return rc != 0 ? rc : wait_rc;
}

static int run_semaphore(pattern_run *run)
{
    sp_group *group = NULL;
    int rc = sp_group_create(&group, run->pool, NULL);
    if (rc != 0)
        return rc;
    rc = sp_sem_create(&run->sem, PATTERN_BOUND);

    for (uint32_t k = 0; k < run->items && rc == 0; k++) {
        rc = sp_sem_acquire(run->sem, 1, NULL);
        if (rc != 0)
            break;
        rc = sp_group_go(group, item_sem_task, (void *)run_ref(run, k));
        if (rc != 0)
            sp_sem_release(run->sem, 1);
    }

    int wait_rc = sp_group_wait(group);
    sp_group_destroy(group);
    sp_sem_destroy(run->sem);
    run->sem = NULL;
    return rc != 0 ? rc : wait_rc;
}

/* A long-lived worker of the channel worker pool: receives inputs until the
 * channel is closed and drained. */
static int channel_worker(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    pattern_run *run = arg;
    uint64_t sum = 0;
    uint32_t input;
    int rc;

    while ((rc = sp_chan_recv(run->chan, &input, NULL)) == 0)
        sum += p1_item(input);

    run_fold(run, sum);
    return rc == EPIPE ? 0 : rc;
}

static int run_channel(pattern_run *run)
{
    int rc = sp_chan_create(&run->chan, sizeof(uint32_t), PATTERN_BOUND);
    if (rc != 0)
        return rc;
    sp_group *group = NULL;
    rc = sp_group_create(&group, run->pool, NULL);
    if (rc != 0) {
        sp_chan_destroy(run->chan);
        return rc;
    }

    for (int w = 0; w < PATTERN_BOUND && rc == 0; w++)
        rc = sp_group_go(group, channel_worker, run);
    for (uint32_t k = 0; k < run->items && rc == 0; k++) {
        uint32_t input = k % P1_BATCH_ITEMS;
        rc = sp_chan_send(run->chan, &input, NULL);
    }
    sp_chan_close(run->chan);

    int wait_rc = sp_group_wait(group);
    sp_group_destroy(group);
    sp_chan_destroy(run->chan);
    run->chan = NULL;
    return rc != 0 ? rc : wait_rc;
}

static void parallel_for_body(size_t lo, size_t hi, void *arg)
{
    pattern_run *run = arg;
    uint64_t sum = 0;
    for (size_t k = lo; k < hi; k++)
        sum += p1_item((uint32_t)(k % P1_BATCH_ITEMS));
    run_fold(run, sum);
}

static void pthread_item(void *arg)
{
    const item_ref *ref = arg;
    run_fold(ref->run, p1_item(ref->input));
}

static int run_pthread(pattern_run *run)
{
    for (uint32_t k = 0; k < run->items; k++) {
        int rc = ref_pool_submit(run->pthread_pool, pthread_item, (void *)run_ref(run, k));
        if (rc != 0) {
            ref_pool_wait(run->pthread_pool);
            return rc;
        }
    }
    ref_pool_wait(run->pthread_pool);
    return 0;
}

/* Runs the pattern once over run->items items; the sum lands in the slots. */
static int run_pattern(pattern_run *run)
{
    uint64_t sum = 0;
    int rc;

    switch (run->pattern) {
    case PATTERN_SEQUENTIAL:
        return run_sequential(run);
    case PATTERN_UNBOUNDED:
        return run_group(run, -1);
    case PATTERN_SEMAPHORE:
        return run_semaphore(run);
    case PATTERN_LIMIT:
        return run_group(run, PATTERN_BOUND);
    case PATTERN_CHANNEL:
        return run_channel(run);
    case PATTERN_PARALLEL_FOR:
        return sp_parallel_for(run->pool, 0, run->items, 0, parallel_for_body, run);
#ifdef SB_HAVE_TBB
    case PATTERN_TBB:
        rc = ref_tbb_p1(run->workers, run->items, &sum);
        run_fold(run, sum);
        return rc;
#endif
#ifdef SB_HAVE_OPENMP
    case PATTERN_OPENMP:
        rc = ref_omp_p1(run->workers, run->items, &sum);
        run_fold(run, sum);
        return rc;
#endif
    case PATTERN_PTHREAD:
        return run_pthread(run);
    default:
        (void)sum;
        (void)rc;
        return ENOTSUP;
    }
}

/* Returns the checksum of items 0 .. items-1, a multiple of the batch. */
static uint64_t expected_checksum(uint32_t items)
{
    return (uint64_t)(items / P1_BATCH_ITEMS) * P1_BATCH_CHECKSUM;
}

static int run_case(void *context, sb_answer *answer)
{
    pattern_run *run = context;
    int rc = run_pattern(run);
    uint64_t sum = run_take_checksum(run);

    bool right = sum == expected_checksum(run->items);
    *answer = right ? SB_ANSWER_OK : SB_ANSWER_WRONG;
    if (rc == 0 && !right)
        sb_progress("%s on %u workers: wrong checksum %llu, expected %llu",
                    pattern_name(run->pattern), run->workers, (unsigned long long)sum,
                    (unsigned long long)expected_checksum(run->items));
    return rc;
}

static pattern_run *run_new(pattern p, unsigned workers, sp_pool *pool, ref_pool *pthreads,
                            uint32_t items)
{
    pattern_run *run = calloc(1, sizeof *run);
    if (run == NULL)
        return NULL;
    run->pattern = p;
    run->workers = workers;
    run->pool = pool;
    run->pthread_pool = pthreads;
    run->items = items;
    for (uint32_t i = 0; i < P1_BATCH_ITEMS; i++)
        run->refs[i] = (item_ref){run, i};
    return run;
}

/* Suite state: one pool per worker count, the pthread pool, the runs. */
#define MAX_RUNS (1 + 8 * SB_MAX_WORKER_COUNTS + 1)

typedef struct suite_state {
    const sb_options *options;
    sp_pool *pools[SB_MAX_WORKER_COUNTS];
    ref_pool pthreads;
    bool pthreads_started;
    bool tbb;
    bool openmp;
    pattern_run *runs[MAX_RUNS];
    size_t run_count;
} suite_state;

static int create_pools(suite_state *state, const char *suite)
{
    for (size_t w = 0; w < state->options->worker_count; w++) {
        sp_config config;
        sp_config_init(&config);
        (void)sp_config_from_env(&config); /* an invalid variable is logged and skipped */
        config.workers = state->options->workers[w];

        int rc = sp_pool_create(&state->pools[w], &config);
        if (rc != 0) {
            sb_progress("%s: creating a pool of %u workers failed: %s", suite, config.workers,
                        strerror(rc));
            return rc;
        }
    }
    return 0;
}

static void destroy_state(suite_state *state)
{
    for (size_t i = 0; i < state->run_count; i++)
        free(state->runs[i]);
    for (size_t w = 0; w < state->options->worker_count; w++)
        if (state->pools[w] != NULL)
            sp_pool_destroy(state->pools[w]);
    if (state->pthreads_started)
        ref_pool_destroy(&state->pthreads);
}

static int add_run(suite_state *state, pattern p, unsigned workers, sp_pool *pool,
                   uint32_t items)
{
    pattern_run *run = run_new(p, workers, pool, &state->pthreads, items);
    if (run == NULL)
        return ENOMEM;
    state->runs[state->run_count++] = run;
    return 0;
}

/* Chooses the reference systems and adds a note for each one left out. */
static void choose_references(sb_report *report, suite_state *state)
{
    const sb_options *options = state->options;

#ifdef SB_HAVE_TBB
    state->tbb = sb_compares(options, SB_COMPARE_TBB);
#else
    if (sb_compares(options, SB_COMPARE_TBB))
        sb_report_note(report, "oneTBB: not built in (not found when stealpool was configured)");
#endif
#ifdef SB_HAVE_OPENMP
    state->openmp = sb_compares(options, SB_COMPARE_OPENMP);
#else
    if (sb_compares(options, SB_COMPARE_OPENMP))
        sb_report_note(report, "OpenMP: not built in (not found when stealpool was configured)");
#endif
    (void)report;
}

static int build_p1_runs(suite_state *state)
{
    static const pattern ours[] = {PATTERN_UNBOUNDED, PATTERN_SEMAPHORE,    PATTERN_LIMIT,
                                   PATTERN_CHANNEL,   PATTERN_PARALLEL_FOR};
    int rc = add_run(state, PATTERN_SEQUENTIAL, 0, NULL, P1_BATCH_ITEMS);

    for (size_t w = 0; w < state->options->worker_count && rc == 0; w++) {
        unsigned workers = state->options->workers[w];
        for (size_t p = 0; p < sizeof ours / sizeof ours[0] && rc == 0; p++)
            rc = add_run(state, ours[p], workers, state->pools[w], P1_BATCH_ITEMS);
        if (state->tbb && rc == 0)
            rc = add_run(state, PATTERN_TBB, workers, NULL, P1_BATCH_ITEMS);
        if (state->openmp && rc == 0)
            rc = add_run(state, PATTERN_OPENMP, workers, NULL, P1_BATCH_ITEMS);
    }

    if (state->pthreads_started && rc == 0)
        rc = add_run(state, PATTERN_PTHREAD, PATTERN_BOUND, NULL, P1_BATCH_ITEMS);
    return rc;
}

/* Adds one note per row: speedup over sequential and items per hour. */
static void note_throughput(sb_report *report, const suite_state *state, const sb_case *cases)
{
    double sequential = cases[0].median_ns;
    for (size_t i = 0; i < state->run_count; i++) {
        const pattern_run *run = state->runs[i];
        double median = cases[i].median_ns;
        if (median <= 0)
            continue;
        double per_hour = (double)P1_BATCH_ITEMS / (median * 1e-9) * 3600.0;
        sb_report_note(report, "P1 %s, %u workers: %.2fx sequential, %.3g items per hour",
                       pattern_name(run->pattern), run->workers, sequential / median, per_hour);
    }
}

static int run_patterns(const sb_options *options, sb_report *report)
{
    suite_state state = {.options = options};
    choose_references(report, &state);

    int rc = create_pools(&state, "patterns");
    if (rc == 0 && sb_compares(options, SB_COMPARE_PTHREAD)) {
        rc = ref_pool_init(&state.pthreads, PATTERN_BOUND);
        state.pthreads_started = rc == 0;
    }
    if (rc == 0)
        rc = build_p1_runs(&state);

    sb_case cases[MAX_RUNS];
    for (size_t i = 0; i < state.run_count && rc == 0; i++) {
        const pattern_run *run = state.runs[i];
        cases[i] = (sb_case){
            .system = pattern_name(run->pattern),
            .workers = run->workers,
            .baseline = run->pattern == PATTERN_SEQUENTIAL,
            .run = run_case,
            .context = state.runs[i],
        };
    }

    sb_workload workload = {
        .name = "P1 1000 items",
        .unit = "ns",
        .items = P1_BATCH_ITEMS,
        .item = "item",
        .reps = options->reps > 0 ? options->reps : DEFAULT_REPS,
        .settle_ms = SETTLE_MS,
    };
    if (rc == 0)
        rc = sb_measure(report, &workload, cases, state.run_count);
    if (rc == 0) {
        note_throughput(report, &state, cases);
        sb_report_note(report, "median of %u batches of 1000 items after one warm-up batch; "
                               "the pthread pool has 20 threads whatever the worker count",
                       workload.reps);
    }

    destroy_state(&state);
    return rc;
}

const sb_suite sb_suite_patterns = {
    .name = "patterns",
    .description = "P1: 1000 items of variable cost as sequential C, unbounded group, "
                   "group + semaphore(20), group limit 20, channel worker pool(20), "
                   "sp_parallel_for, oneTBB, OpenMP and a pthread pool",
    .run = run_patterns,
};

/* ---- M1: peak memory ---- */

/* Returns a field of /proc/self/status such as "VmHWM:" in KiB, or -1. */
static long status_kib(const char *field)
{
    FILE *file = fopen("/proc/self/status", "r");
    if (file == NULL)
        return -1;

    char line[256];
    long value = -1;
    size_t length = strlen(field);
    while (fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, field, length) == 0 && sscanf(line + length, "%ld", &value) == 1)
            break;
    }
    fclose(file);
    return value;
}

/* Resets VmHWM to the current VmRSS. Returns false when the kernel refuses. */
static bool reset_peak_rss(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0)
        return false;
    bool written = write(fd, "5", 1) == 1;
    close(fd);
    return written;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Result of one M1 measurement. */
typedef struct m1_result {
    int     rc;
    double  ns;        /* time of the run */
    long    idle_kib;  /* VmRSS of the idle pool */
    long    peak_kib;  /* VmHWM during the run */
    sb_answer answer;
} m1_result;

/*
 * Warms the pool up with every M1 pattern (this starts the spare threads
 * the channel pattern needs), then returns the idle pool's VmRSS.
 */
static long m1_idle_rss(sp_pool *pool, unsigned workers)
{
    static const pattern measured[] = {PATTERN_SEMAPHORE, PATTERN_LIMIT, PATTERN_CHANNEL};
    for (size_t p = 0; p < sizeof measured / sizeof measured[0]; p++) {
        pattern_run *run = run_new(measured[p], workers, pool, NULL, M1_WARMUP_ITEMS);
        if (run == NULL)
            return -1;
        sb_answer ignored;
        (void)run_case(run, &ignored);
        free(run);
    }
    sleep_ms(SETTLE_MS * 5);
    return status_kib("VmRSS:");
}

/* Measures one pattern in this process, with the peak reset before it. */
static void m1_measure(pattern_run *run, long idle_kib, m1_result *result)
{
    result->idle_kib = idle_kib;
    if (!reset_peak_rss()) {
        result->rc = ENOTSUP;
        return;
    }

    int64_t start = sb_now_ns();
    result->rc = run_case(run, &result->answer);
    result->ns = (double)(sb_now_ns() - start);
    result->peak_kib = status_kib("VmHWM:");
}

/*
 * Measures one pattern in a forked child with a pool of its own, for
 * kernels without a VmHWM reset. Linux's fork sets the child's VmHWM to its
 * RSS at the fork (dup_mm in kernel/fork.c), so earlier peaks of the
 * parent do not count.
 */
static void m1_measure_forked(pattern p, unsigned workers, uint32_t items, m1_result *result)
{
    int fds[2];
    if (pipe(fds) != 0) {
        result->rc = errno;
        return;
    }

    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        result->rc = errno;
        close(fds[0]);
        close(fds[1]);
        return;
    }

    if (child == 0) {
        m1_result mine = {.rc = 0};
        sp_config config;
        sp_config_init(&config);
        (void)sp_config_from_env(&config);
        config.workers = workers;
        sp_pool *pool = NULL;
        mine.rc = sp_pool_create(&pool, &config);
        pattern_run *run = mine.rc == 0 ? run_new(p, workers, pool, NULL, items) : NULL;
        if (mine.rc == 0 && run == NULL)
            mine.rc = ENOMEM;
        if (mine.rc == 0) {
            mine.idle_kib = m1_idle_rss(pool, workers);
            int64_t start = sb_now_ns();
            mine.rc = run_case(run, &mine.answer);
            mine.ns = (double)(sb_now_ns() - start);
            mine.peak_kib = status_kib("VmHWM:");
        }
        ssize_t written = write(fds[1], &mine, sizeof mine);
        _exit(written == (ssize_t)sizeof mine ? 0 : 1);
    }

    close(fds[1]);
    ssize_t got = read(fds[0], result, sizeof *result);
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    if (got != (ssize_t)sizeof *result)
        result->rc = EIO;
}

static void m1_report(sb_report *report, const char *workload, pattern p, unsigned workers,
                      uint32_t items, const m1_result *result)
{
    sb_row row = {
        .workload = workload,
        .system = pattern_name(p),
        .workers = workers,
        .median_ns = result->ns,
        .runs = 1,
        .unit = "ms",
        .items = items,
        .item = "item",
        .answer = result->answer,
    };
    sb_report_row(report, &row);

    long over = result->peak_kib - result->idle_kib;
    sb_report_note(report,
                   "M1 %s, %u workers: peak RSS %.2f MiB over the idle pool (%.1f MiB idle); "
                   "target 8 MiB %s",
                   pattern_name(p), workers, (double)over / 1024.0,
                   (double)result->idle_kib / 1024.0, over <= M1_TARGET_KIB ? "met" : "MISSED");
}

static int run_memory(const sb_options *options, sb_report *report)
{
    static const pattern measured[] = {PATTERN_SEMAPHORE, PATTERN_LIMIT, PATTERN_CHANNEL};
    uint32_t items = options->long_run ? M1_ITEMS_LONG : M1_ITEMS;
    char workload[64];
    snprintf(workload, sizeof workload, "M1 %u items", items);

    suite_state state = {.options = options};
    int rc = create_pools(&state, "memory");
    bool forked = false;

    for (size_t w = 0; w < options->worker_count && rc == 0; w++) {
        unsigned workers = options->workers[w];
        long idle = m1_idle_rss(state.pools[w], workers);

        for (size_t p = 0; p < sizeof measured / sizeof measured[0] && rc == 0; p++) {
            sb_progress("%s: %s on %u workers", workload, pattern_name(measured[p]), workers);
            m1_result result = {.rc = 0};
            pattern_run *run = run_new(measured[p], workers, state.pools[w], NULL, items);
            if (run == NULL) {
                rc = ENOMEM;
                break;
            }
            m1_measure(run, idle, &result);
            free(run);
            if (result.rc == ENOTSUP) {
                forked = true;
                result = (m1_result){.rc = 0};
                m1_measure_forked(measured[p], workers, items, &result);
            }
            rc = result.rc;
            if (rc == 0)
                m1_report(report, workload, measured[p], workers, items, &result);
        }
    }

    if (rc == 0)
        sb_report_note(report, "M1: item i uses i %% 1000 as its input; results go to "
                               "per-thread checksums; peak from VmHWM %s",
                       forked ? "of a forked child with its own pool (no VmHWM reset here)"
                              : "reset through /proc/self/clear_refs before each pattern");
    destroy_state(&state);
    return rc;
}

const sb_suite sb_suite_memory = {
    .name = "memory",
    .description = "M1: peak RSS over the idle pool of 1 million P1 items (10 million with "
                   "--long) through group + semaphore(20), group limit 20 and the channel "
                   "worker pool(20)",
    .run = run_memory,
};
