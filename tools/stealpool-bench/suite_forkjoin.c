/*
 * The forkjoin suite: F1 fib, F2 n-queens and F3 UTS on stealpool, as
 * plain sequential C and, when built in, on oneTBB task_group and OpenMP
 * tasks. Every system runs the same algorithm with the same task shape
 * (bench/workloads/ and bench/ref/), and every answer is checked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stealpool/pool.h>

#include "bench.h"
#include "fib.h"
#include "nqueens.h"
#include "ref.h"
#include "uts.h"
#include "uts_sp.h"

/*
 * Timed rounds per workload when --reps is not given. UTS gets 3 so that
 * the default run stays under 2 minutes on 2 CPUs: one UTS round of every
 * system on 1 and 2 workers takes 8 to 12 s per tree there.
 */
#define DEFAULT_REPS 5
#define DEFAULT_UTS_REPS 3

/*
 * Pause after every run, so that idle threads of the last system stop
 * spinning before the next system starts. libgomp's idle threads spin
 * 300,000 times before they sleep when OMP_WAIT_POLICY is unset (libgomp
 * manual, GOMP_SPINCOUNT), an estimated few milliseconds here.
 */
#define SETTLE_MS 10

/* Small geometric tree that warms every system up before the UTS rounds. */
#define UTS_WARMUP_ARGS "-t 1 -a 3 -d 6 -b 4 -r 19"

typedef enum {
    SYSTEM_SEQUENTIAL,
    SYSTEM_SEQUENTIAL_CALLS,
    SYSTEM_SEQUENTIAL_FRAMES,
    SYSTEM_STEALPOOL,
    SYSTEM_TBB,
    SYSTEM_OPENMP
} fj_system;

typedef enum { PROBLEM_FIB, PROBLEM_NQUEENS, PROBLEM_UTS } fj_problem_kind;

typedef struct fj_problem {
    fj_problem_kind kind;
    unsigned n;             /* fib and n-queens */
    uts_params tree;        /* UTS */
    uts_params warmup_tree; /* UTS */
    uint64_t expected;      /* fib and n-queens */
    uts_counts expected_counts;
} fj_problem;

/* Context of one sb_case. */
typedef struct fj_case {
    fj_system system;
    unsigned workers;
    sp_pool *pool;
    const fj_problem *problem;
} fj_case;

/* Largest number of cases of one workload: three sequential, three per worker count. */
#define MAX_CASES (3 + 3 * SB_MAX_WORKER_COUNTS)

static const char *system_name(fj_system system)
{
    switch (system) {
    case SYSTEM_SEQUENTIAL:
        return "sequential";
    case SYSTEM_SEQUENTIAL_CALLS:
        return "sequential, no inlining";
    case SYSTEM_SEQUENTIAL_FRAMES:
        return "sequential, task frames";
    case SYSTEM_STEALPOOL:
        return "stealpool";
    case SYSTEM_TBB:
        return "oneTBB task_group";
    default:
        return "OpenMP tasks";
    }
}

static int run_fib(const fj_case *c, uint64_t *result)
{
    unsigned n = c->problem->n;

    switch (c->system) {
    case SYSTEM_SEQUENTIAL:
        *result = fib_seq(n);
        return 0;
    case SYSTEM_SEQUENTIAL_CALLS:
        *result = fib_seq_calls(n);
        return 0;
    case SYSTEM_SEQUENTIAL_FRAMES: {
        fib_frame root = {n, 0};
        fib_seq_frames(&root);
        *result = root.result;
        return 0;
    }
    case SYSTEM_STEALPOOL:
        return fib_sp(c->pool, n, result);
#ifdef SB_HAVE_TBB
    case SYSTEM_TBB:
        return ref_tbb_fib(c->workers, n, result);
#endif
#ifdef SB_HAVE_OPENMP
    case SYSTEM_OPENMP:
        return ref_omp_fib(c->workers, n, result);
#endif
    default:
        return ENOTSUP;
    }
}

static int run_nqueens(const fj_case *c, uint64_t *result)
{
    unsigned n = c->problem->n;

    switch (c->system) {
    case SYSTEM_SEQUENTIAL:
        *result = nqueens_seq(n);
        return 0;
    case SYSTEM_STEALPOOL:
        return nqueens_sp(c->pool, n, result);
#ifdef SB_HAVE_TBB
    case SYSTEM_TBB:
        return ref_tbb_nqueens(c->workers, n, result);
#endif
#ifdef SB_HAVE_OPENMP
    case SYSTEM_OPENMP:
        return ref_omp_nqueens(c->workers, n, result);
#endif
    default:
        return ENOTSUP;
    }
}

static int run_uts(const fj_case *c, const uts_params *tree, uts_counts *result)
{
    switch (c->system) {
    case SYSTEM_SEQUENTIAL:
        uts_count_seq(tree, result);
        return 0;
    case SYSTEM_STEALPOOL:
        return uts_count_sp(c->pool, tree, result);
#ifdef SB_HAVE_TBB
    case SYSTEM_TBB:
        return ref_tbb_uts(c->workers, tree, result);
#endif
#ifdef SB_HAVE_OPENMP
    case SYSTEM_OPENMP:
        return ref_omp_uts(c->workers, tree, result);
#endif
    default:
        return ENOTSUP;
    }
}

static int run_case(void *context, sb_answer *answer)
{
    const fj_case *c = context;
    const fj_problem *problem = c->problem;
    int rc;

    if (problem->kind == PROBLEM_UTS) {
        uts_counts counts = {0, 0, 0};
        rc = run_uts(c, &problem->tree, &counts);
        bool right = counts.nodes == problem->expected_counts.nodes &&
                     counts.leaves == problem->expected_counts.leaves &&
                     counts.max_depth == problem->expected_counts.max_depth;
        *answer = right ? SB_ANSWER_OK : SB_ANSWER_WRONG;
        if (rc == 0 && !right)
            sb_progress("%s on %u workers: wrong answer: %llu nodes, %llu leaves, depth %u",
                        system_name(c->system), c->workers, (unsigned long long)counts.nodes,
                        (unsigned long long)counts.leaves, (unsigned)counts.max_depth);
        return rc;
    }

    uint64_t result = 0;
    rc = problem->kind == PROBLEM_FIB ? run_fib(c, &result) : run_nqueens(c, &result);
    *answer = result == problem->expected ? SB_ANSWER_OK : SB_ANSWER_WRONG;
    if (rc == 0 && result != problem->expected)
        sb_progress("%s on %u workers: wrong answer %llu, expected %llu", system_name(c->system),
                    c->workers, (unsigned long long)result,
                    (unsigned long long)problem->expected);
    return rc;
}

static int warm_up_case(void *context)
{
    const fj_case *c = context;
    if (c->problem->kind != PROBLEM_UTS) {
        sb_answer ignored;
        return run_case(context, &ignored);
    }

    uts_counts ignored;
    return run_uts(c, &c->problem->warmup_tree, &ignored);
}

/* Solution counts of n-queens for n = 0 .. 15 (OEIS A000170). */
static const uint64_t nqueens_solutions[] = {1,  1,   0,    0,    2,     10,    4,      40,
                                             92, 352, 724, 2680, 14200, 73712, 365596, 2279184};

/* Per-suite state: one pool per worker count. */
typedef struct fj_state {
    const sb_options *options;
    sp_pool *pools[SB_MAX_WORKER_COUNTS];
    bool tbb;
    bool openmp;
} fj_state;

/* Fills cases for one workload: the sequential baseline first, then each worker count. */
static size_t build_cases(const fj_state *state, const fj_problem *problem, bool with_calls,
                          fj_case contexts[MAX_CASES], sb_case cases[MAX_CASES])
{
    size_t count = 0;

    contexts[count] = (fj_case){SYSTEM_SEQUENTIAL, 0, NULL, problem};
    count++;
    if (with_calls) {
        contexts[count++] = (fj_case){SYSTEM_SEQUENTIAL_CALLS, 0, NULL, problem};
        contexts[count++] = (fj_case){SYSTEM_SEQUENTIAL_FRAMES, 0, NULL, problem};
    }

    for (size_t w = 0; w < state->options->worker_count; w++) {
        unsigned workers = state->options->workers[w];
        contexts[count++] = (fj_case){SYSTEM_STEALPOOL, workers, state->pools[w], problem};
        if (state->tbb)
            contexts[count++] = (fj_case){SYSTEM_TBB, workers, NULL, problem};
        if (state->openmp)
            contexts[count++] = (fj_case){SYSTEM_OPENMP, workers, NULL, problem};
    }

    for (size_t i = 0; i < count; i++) {
        cases[i] = (sb_case){
            .system = system_name(contexts[i].system),
            .workers = contexts[i].workers,
            .baseline = contexts[i].system == SYSTEM_SEQUENTIAL,
            .run = run_case,
            .warmup = warm_up_case,
            .context = &contexts[i],
        };
    }
    return count;
}

/* Returns the median of the case with this system and worker count, or 0. */
static double case_median(const fj_case *contexts, const sb_case *cases, size_t count,
                          fj_system system, unsigned workers)
{
    for (size_t i = 0; i < count; i++)
        if (contexts[i].system == system && contexts[i].workers == workers)
            return cases[i].median_ns;
    return 0.0;
}

/* Adds one note per reference system: its time over stealpool's, per worker count. */
static void note_reference_ratios(sb_report *report, const fj_state *state, const char *workload,
                                  const fj_case *contexts, const sb_case *cases, size_t count)
{
    static const fj_system references[] = {SYSTEM_TBB, SYSTEM_OPENMP};

    for (size_t r = 0; r < sizeof references / sizeof references[0]; r++) {
        char text[192];
        size_t used = 0;
        text[0] = '\0';
        for (size_t w = 0; w < state->options->worker_count; w++) {
            unsigned workers = state->options->workers[w];
            double reference = case_median(contexts, cases, count, references[r], workers);
            double ours = case_median(contexts, cases, count, SYSTEM_STEALPOOL, workers);
            if (reference <= 0 || ours <= 0 || used >= sizeof text)
                continue;
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%u worker%s %.2f",
                                     used == 0 ? "" : ", ", workers, workers == 1 ? "" : "s",
                                     reference / ours);
        }
        if (used > 0)
            sb_report_note(report, "%s: %s time / stealpool time: %s", workload,
                           system_name(references[r]), text);
    }
}

/* Adds the F1 note of stealpool's time on one worker over the sequential
 * version with the same task frames, which isolates the cost of the join. */
static void note_join_cost(sb_report *report, const char *workload,
                           const fj_case *contexts, const sb_case *cases, size_t count)
{
    double frames = case_median(contexts, cases, count, SYSTEM_SEQUENTIAL_FRAMES, 0);
    double ours = case_median(contexts, cases, count, SYSTEM_STEALPOOL, 1);
    if (frames > 0 && ours > 0)
        sb_report_note(report, "%s: stealpool on 1 worker / sequential with task frames: %.2f",
                       workload, ours / frames);
}

static unsigned reps_for(const fj_state *state, const fj_problem *problem)
{
    if (state->options->reps > 0)
        return state->options->reps;
    return problem->kind == PROBLEM_UTS ? DEFAULT_UTS_REPS : DEFAULT_REPS;
}

static int measure_problem(sb_report *report, const fj_state *state, const fj_problem *problem,
                           const char *name, double items, const char *item)
{
    fj_case contexts[MAX_CASES];
    sb_case cases[MAX_CASES];
    size_t count = build_cases(state, problem, problem->kind == PROBLEM_FIB, contexts, cases);

    sb_workload workload = {
        .name = name,
        .unit = "ms",
        .items = items,
        .item = item,
        .reps = reps_for(state, problem),
        .settle_ms = SETTLE_MS,
    };
    int rc = sb_measure(report, &workload, cases, count);
    if (rc == 0) {
        note_reference_ratios(report, state, name, contexts, cases, count);
        note_join_cost(report, name, contexts, cases, count);
    }
    return rc;
}

static int measure_fib(sb_report *report, const fj_state *state)
{
    fj_problem problem = {.kind = PROBLEM_FIB, .n = state->options->long_run ? 35 : 32};
    problem.expected = fib_iterative(problem.n);

    char name[64];
    snprintf(name, sizeof name, "F1 fib(%u)", problem.n);
    return measure_problem(report, state, &problem, name, (double)fib_call_count(problem.n),
                           "call");
}

static int measure_nqueens(sb_report *report, const fj_state *state)
{
    fj_problem problem = {.kind = PROBLEM_NQUEENS, .n = state->options->long_run ? 14 : 12};
    problem.expected = nqueens_solutions[problem.n];

    char name[64];
    snprintf(name, sizeof name, "F2 n-queens(%u)", problem.n);
    return measure_problem(report, state, &problem, name,
                           (double)nqueens_placements(problem.n), "placement");
}

static int measure_uts(sb_report *report, const fj_state *state, const char *tree_name)
{
    const uts_named_tree *tree = uts_tree_find(tree_name);
    fj_problem problem = {.kind = PROBLEM_UTS, .expected_counts = tree->expected};
    char error[160];

    uts_params_init(&problem.tree);
    uts_params_init(&problem.warmup_tree);
    if (uts_params_parse(&problem.tree, tree->args, error, sizeof error) != 0 ||
        uts_params_parse(&problem.warmup_tree, UTS_WARMUP_ARGS, error, sizeof error) != 0) {
        sb_progress("forkjoin: %s", error);
        return EINVAL;
    }

    char name[64];
    snprintf(name, sizeof name, "F3 UTS %s", tree->name);
    return measure_problem(report, state, &problem, name, (double)tree->expected.nodes, "node");
}

/* Creates one pool per worker count, with the rest of the settings from SP_* variables. */
static int create_pools(fj_state *state)
{
    for (size_t w = 0; w < state->options->worker_count; w++) {
        sp_config config;
        sp_config_init(&config);
        (void)sp_config_from_env(&config); /* an invalid variable is logged and skipped */
        config.workers = state->options->workers[w];

        int rc = sp_pool_create(&state->pools[w], &config);
        if (rc != 0) {
            sb_progress("forkjoin: creating a pool of %u workers failed: %s", config.workers,
                        strerror(rc));
            return rc;
        }
    }
    return 0;
}

static void destroy_pools(fj_state *state)
{
    for (size_t w = 0; w < state->options->worker_count; w++)
        if (state->pools[w] != NULL)
            sp_pool_destroy(state->pools[w]);
}

/* Chooses the reference systems to run and adds a note for each one left out. */
static void choose_references(sb_report *report, fj_state *state)
{
    const sb_options *options = state->options;

#ifdef SB_HAVE_TBB
    state->tbb = sb_compares(options, SB_COMPARE_TBB);
    if (state->tbb)
        sb_report_note(report, "reference: %s", ref_tbb_version());
#else
    if (sb_compares(options, SB_COMPARE_TBB))
        sb_report_note(report, "oneTBB: not built in (not found when stealpool was configured)");
#endif

#ifdef SB_HAVE_OPENMP
    state->openmp = sb_compares(options, SB_COMPARE_OPENMP);
    if (state->openmp)
        sb_report_note(report, "reference: %s", ref_omp_version());
#else
    if (sb_compares(options, SB_COMPARE_OPENMP))
        sb_report_note(report, "OpenMP: not built in (not found when stealpool was configured)");
#endif

    if (sb_compares(options, SB_COMPARE_PTHREAD))
        sb_report_note(report, "pthread: this suite has no pthread version");
}

static int run_forkjoin(const sb_options *options, sb_report *report)
{
    fj_state state = {.options = options};
    choose_references(report, &state);

    int rc = create_pools(&state);
    if (rc == 0)
        rc = measure_fib(report, &state);
    if (rc == 0)
        rc = measure_nqueens(report, &state);
    if (rc == 0)
        rc = measure_uts(report, &state, options->long_run ? "T1L" : "T1");
    if (rc == 0)
        rc = measure_uts(report, &state, options->long_run ? "T3L" : "T3");

    destroy_pools(&state);
    if (rc == 0 && options->reps > 0)
        sb_report_note(report, "timed runs per row: %u, after one warm-up run", options->reps);
    else if (rc == 0)
        sb_report_note(report, "%u timed runs per row (UTS: %u) after one warm-up run",
                       DEFAULT_REPS, DEFAULT_UTS_REPS);
    if (rc == 0)
        sb_report_note(report, "UTS warm-up tree: %s; sequential rows are single-threaded",
                       UTS_WARMUP_ARGS);
    return rc;
}

const sb_suite sb_suite_forkjoin = {
    .name = "forkjoin",
    .description = "F1 fib(32), F2 n-queens(12), F3 UTS T1 and T3: stealpool sp_join against "
                   "sequential C, oneTBB task_group and OpenMP tasks",
    .run = run_forkjoin,
};
