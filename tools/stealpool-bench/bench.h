/*
 * stealpool-bench: the interface between the program, its suites and the
 * shared result printer.
 *
 * A suite is a name, a one-line description and a run function. It
 * measures its workloads with sb_measure (or its own loop), adds one row per
 * workload, system and worker count with sb_report_row, and may add free
 * text with sb_report_note. The printer turns the rows into a table, CSV or
 * JSON. To add a suite, write suite_NAME.c defining `const sb_suite
 * sb_suite_NAME`, and list it in suites.c and in tools/CMakeLists.txt.
 */
#ifndef SP_TOOLS_BENCH_H
#define SP_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most worker counts accepted by --workers. */
#define SB_MAX_WORKER_COUNTS 16

/* Reference systems selected with --compare. */
enum {
    SB_COMPARE_TBB = 1u << 0,     /* oneTBB */
    SB_COMPARE_OPENMP = 1u << 1,  /* OpenMP (libgomp) */
    SB_COMPARE_PTHREAD = 1u << 2, /* plain mutex + condition variable code */
    SB_COMPARE_ALL = SB_COMPARE_TBB | SB_COMPARE_OPENMP | SB_COMPARE_PTHREAD
};

typedef enum { SB_FORMAT_TABLE, SB_FORMAT_CSV, SB_FORMAT_JSON } sb_format;

/* Settings every suite receives. */
typedef struct sb_options {
    unsigned workers[SB_MAX_WORKER_COUNTS]; /* worker counts, in the order given */
    size_t worker_count;
    unsigned reps;        /* timed runs per measurement; 0: the suite's default */
    unsigned compare;     /* SB_COMPARE_* bits */
    unsigned usable_cpus; /* the library's default worker count */
    bool long_run;        /* --long: larger problem sizes */
} sb_options;

/* Outcome of checking a run's answer. */
typedef enum {
    SB_ANSWER_NOT_CHECKED, /* the workload has no answer to check */
    SB_ANSWER_OK,
    SB_ANSWER_WRONG
} sb_answer;

/* One result line. Strings are copied by sb_report_row. */
typedef struct sb_row {
    const char *workload; /* "F1 fib(32)" */
    const char *system;   /* "stealpool", "sequential", "oneTBB", ... */
    unsigned workers;     /* 0: not applicable (single-threaded code) */
    double median_ns;     /* median time of one run, in nanoseconds */
    unsigned runs;        /* timed runs behind the median */
    const char *unit;     /* display unit of the median: "ns", "us", "ms" or "s" */
    double items;         /* work items in one run, for the per-item time; 0: none */
    const char *item;     /* name of one item: "call", "placement", "node" */
    bool baseline;        /* the row that the workload's ratios divide by */
    sb_answer answer;     /* worst answer over all runs */
} sb_row;

typedef struct sb_report sb_report;

typedef struct sb_suite {
    const char *name;
    const char *description;
    /*
     * Runs every workload of the suite and reports its rows. Returns 0, or
     * a positive errno value when the suite could not run (logged on
     * stderr). A wrong answer is not an error here: it is a row with
     * SB_ANSWER_WRONG, which makes the program exit non-zero.
     */
    int (*run)(const sb_options *options, sb_report *report);
} sb_suite;

/* The registered suites, NULL-terminated (suites.c). */
extern const sb_suite *const sb_suites[];

/* Adds a row under the suite being run. */
void sb_report_row(sb_report *report, const sb_row *row);

/* Adds a line of text (printf format) under the suite being run. */
void sb_report_note(sb_report *report, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes one progress line to stderr (printf format, no newline needed). */
void sb_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns CLOCK_MONOTONIC in nanoseconds. */
int64_t sb_now_ns(void);

/* Sorts values and returns their median (the mean of the middle two for even counts). */
double sb_median(double *values, size_t count);

/* Returns true when the compare set selects the system bit. */
static inline bool sb_compares(const sb_options *options, unsigned system_bit)
{
    return (options->compare & system_bit) != 0;
}

/*
 * One system and worker count of a workload, measured by sb_measure.
 * run() performs the workload once and sets *answer; warmup(), when not
 * NULL, replaces run() for the warm-up (a smaller problem, for example).
 * Both return 0 or a positive errno value.
 */
typedef struct sb_case {
    const char *system;
    unsigned workers; /* 0: not applicable */
    bool baseline;
    int (*run)(void *context, sb_answer *answer);
    int (*warmup)(void *context);
    void *context;

    /* Filled by sb_measure. */
    double median_ns;
    sb_answer answer;
} sb_case;

/* Shared description of the workload behind a list of cases. */
typedef struct sb_workload {
    const char *name;  /* "F1 fib(32)" */
    const char *unit;  /* display unit of the times */
    double items;      /* work items per run, 0: none */
    const char *item;  /* name of one item */
    unsigned reps;     /* timed rounds, >= 1 */
    unsigned settle_ms; /* pause after every run so that spinning idle threads park */
} sb_workload;

/*
 * Warms up every case once, then runs `reps` rounds in which each case runs
 * once in list order (A B C A B C ...), takes each case's median and
 * reports one row per case. Returns 0, or the first error a case returned,
 * in which case it stops and reports no row for the workload.
 */
int sb_measure(sb_report *report, const sb_workload *workload, sb_case *cases, size_t count);

#endif
