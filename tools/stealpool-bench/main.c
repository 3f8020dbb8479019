/*
 * stealpool-bench: runs the registered benchmark suites, prints their rows
 * as a table, CSV or JSON, and exits non-zero when an answer is wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stealpool/pool.h>

#include "bench.h"
#include "plot.h"
#include "report.h"

/* Exit statuses. */
enum { EXIT_WRONG_ANSWER = 1, EXIT_USAGE = 2, EXIT_RUN_FAILED = 3, EXIT_PLOT_FAILED = 4 };

typedef struct cli {
    sb_options options;
    const char *suite; /* "all" or a suite name */
    sb_format format;
    const char *csv_path;
    const char *plot_path;
    bool workers_given;
} cli;

/* The --csv and --plot files, opened or created before any suite runs. */
typedef struct outputs {
    FILE *csv;         /* NULL without --csv */
    bool plot_created; /* the --plot file did not exist before this run */
} outputs;

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: stealpool-bench [OPTION]...\n"
            "Runs stealpool benchmark suites against sequential C and reference runtimes.\n"
            "Every figure comes from one run of this program with the systems interleaved\n"
            "(A B A B ...): one warm-up run each, then the median of the timed runs.\n"
            "\n"
            "Options (a value may also follow '='):\n"
            "  --suite NAME      suite to run, or 'all' for every suite below (default all)\n"
            "  --workers LIST    comma-separated worker counts, such as 1,2 (default: 1 and 2,\n"
            "                    capped at the CPUs the process may use); counts above that\n"
            "                    oversubscribe the CPUs and are reported as such\n"
            "  --reps N          timed runs per row, 1..1000 (default 5; forkjoin UTS rows 3,\n"
            "                    to keep the default run under 2 minutes on 2 CPUs; limiter\n"
            "                    accuracy 3 runs of 2 s; idle 3 idle seconds and 2 trickle\n"
            "                    runs of 2 s, its 30 wake-latency samples are fixed)\n"
            "  --format FORMAT   output on stdout: table, csv or json (default table)\n"
            "  --csv FILE        also write the rows as CSV to FILE, which is created or\n"
            "                    emptied before the first suite runs\n"
            "  --plot FILE       after the run, draw FILE as SVG with gnuplot (package\n"
            "                    gnuplot-nox), two panels in one file: on top, each\n"
            "                    system's speedup against its 1-worker time per workload;\n"
            "                    below, reference time / stealpool time per workload and\n"
            "                    worker count (log scale; above 1: stealpool is faster)\n"
            "  --compare SET     reference systems: none, all, or a comma-separated list of\n"
            "                    tbb, openmp, pthread (default all); the sequential C version\n"
            "                    always runs; a system not built in is named in the output\n"
            "  --long            larger problems (forkjoin: fib(35), n-queens(14), UTS T1L\n"
            "                    and T3L; several minutes per round)\n"
            "  --help            print this help and exit\n"
            "\n"
            "Columns: median is the median time of one run in the unit shown; ratio is that\n"
            "median divided by the median of the row marked * (the sequential C version in\n"
            "forkjoin), so 1.50 means 1.5 times slower; ns per item is the median in\n"
            "nanoseconds divided by the work items of one run (fib: calls, 2*fib(n+1)-1;\n"
            "n-queens: queen placements; UTS: tree nodes); vs 1 worker is the 1-worker\n"
            "median of the same system divided by this median; answer checked is yes,\n"
            "no (nothing to check) or WRONG. Progress lines go to stderr. The sync and\n"
            "limiter rows run on plain threads (workers -), always against POSIX and\n"
            "mutex+condvar code whatever --compare says. In the idle suite the median is\n"
            "process CPU time or wake latency, as the workload name says, measured on a\n"
            "pool of one worker per usable CPU.\n"
            "\n"
            "On a 2-CPU VM the default 'all' run took 74 to 78 s: forkjoin about 33 s,\n"
            "most of it in UTS (about 0.4 s per sequential run of T1 or T3), idle 10 s,\n"
            "limiter 8 s, sync 5 s, memory 4 s and patterns 3 s. forkjoin with --reps 5\n"
            "took 42 s. The sync notes on turns and on the cache-line round trip are\n"
            "explained in docs/BENCHMARKS.md.\n"
            "\n"
            "Suites:\n");
    for (size_t i = 0; sb_suites[i] != NULL; i++)
        fprintf(out, "  %-12s %s\n", sb_suites[i]->name, sb_suites[i]->description);
    fprintf(out,
            "\n"
            "Pools take their other settings from the SP_* environment variables.\n"
            "Exit status: 0 all answers right, 1 a wrong answer, 2 invalid usage or a\n"
            "--csv or --plot file that cannot be opened for writing (checked before any\n"
            "suite runs), 3 a suite failed to run or the results could not be written,\n"
            "4 only the --plot file could not be drawn.\n");
}

static int usage_error(const char *fmt, const char *value)
{
    fputs("stealpool-bench: ", stderr);
    fprintf(stderr, fmt, value);
    fputs("; see --help\n", stderr);
    return EXIT_USAGE;
}

/* Parses the whole of text as an unsigned in [min, max]. */
static bool parse_unsigned(const char *text, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value < min ||
        value > max)
        return false;
    *out = (unsigned)value;
    return true;
}

/* Returns true when a non-empty comma-separated list has an empty item: a
 * leading or trailing comma or two commas in a row. strtok_r would skip it. */
static bool has_empty_item(const char *text)
{
    size_t length = strlen(text);
    if (length == 0)
        return false;
    return text[0] == ',' || text[length - 1] == ',' || strstr(text, ",,") != NULL;
}

static int parse_workers(cli *c, const char *text)
{
    char buf[256];
    if (strlen(text) >= sizeof buf)
        return usage_error("invalid --workers list '%s' (too long)", text);
    if (has_empty_item(text))
        return usage_error("invalid --workers list '%s' (empty item; expected counts such as 1,2)",
                           text);
    strcpy(buf, text);

    c->options.worker_count = 0;
    char *save = NULL;
    for (char *word = strtok_r(buf, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        unsigned workers;
        if (!parse_unsigned(word, 1, 1024, &workers))
            return usage_error("invalid worker count in --workers '%s' (expected 1..1024)", text);
        if (c->options.worker_count == SB_MAX_WORKER_COUNTS)
            return usage_error("too many worker counts in --workers '%s' (at most 16)", text);
        c->options.workers[c->options.worker_count++] = workers;
    }
    if (c->options.worker_count == 0)
        return usage_error("empty --workers list '%s'", text);

    c->workers_given = true;
    return 0;
}

static int parse_compare(cli *c, const char *text)
{
    char buf[128];
    if (strlen(text) >= sizeof buf)
        return usage_error("invalid --compare set '%s' (too long)", text);
    if (has_empty_item(text))
        return usage_error("invalid --compare set '%s' (empty item; expected names such as "
                           "tbb,openmp)",
                           text);
    strcpy(buf, text);

    unsigned set = 0;
    char *save = NULL;
    for (char *word = strtok_r(buf, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        if (strcmp(word, "none") == 0)
            continue;
        if (strcmp(word, "all") == 0)
            set |= SB_COMPARE_ALL;
        else if (strcmp(word, "tbb") == 0)
            set |= SB_COMPARE_TBB;
        else if (strcmp(word, "openmp") == 0)
            set |= SB_COMPARE_OPENMP;
        else if (strcmp(word, "pthread") == 0)
            set |= SB_COMPARE_PTHREAD;
        else
            return usage_error("invalid --compare value '%s' (expected none, all, tbb, openmp or "
                               "pthread)",
                               word);
    }
    c->options.compare = set;
    return 0;
}

static int parse_format(cli *c, const char *text)
{
    if (strcmp(text, "table") == 0)
        c->format = SB_FORMAT_TABLE;
    else if (strcmp(text, "csv") == 0)
        c->format = SB_FORMAT_CSV;
    else if (strcmp(text, "json") == 0)
        c->format = SB_FORMAT_JSON;
    else
        return usage_error("invalid --format '%s' (expected table, csv or json)", text);
    return 0;
}

static const sb_suite *find_suite(const char *name)
{
    for (size_t i = 0; sb_suites[i] != NULL; i++)
        if (strcmp(sb_suites[i]->name, name) == 0)
            return sb_suites[i];
    return NULL;
}

/* Options that take a value, each handled in apply_option. */
static const char *const value_options[] = {
    "--suite", "--workers", "--reps", "--format", "--csv", "--compare", "--plot", NULL,
};

static bool takes_value(const char *name)
{
    for (size_t i = 0; value_options[i] != NULL; i++)
        if (strcmp(value_options[i], name) == 0)
            return true;
    return false;
}

/* Applies one option that takes a value. */
static int apply_option(cli *c, const char *name, const char *value)
{
    if (strcmp(name, "--suite") == 0) {
        if (strcmp(value, "all") != 0 && find_suite(value) == NULL)
            return usage_error("unknown --suite '%s'", value);
        c->suite = value;
        return 0;
    }
    if (strcmp(name, "--workers") == 0)
        return parse_workers(c, value);
    if (strcmp(name, "--reps") == 0) {
        if (!parse_unsigned(value, 1, 1000, &c->options.reps))
            return usage_error("invalid --reps '%s' (expected 1..1000)", value);
        return 0;
    }
    if (strcmp(name, "--format") == 0)
        return parse_format(c, value);
    if (strcmp(name, "--csv") == 0) {
        if (value[0] == '\0')
            return usage_error("empty --csv file name%s", "");
        c->csv_path = value;
        return 0;
    }
    if (strcmp(name, "--compare") == 0)
        return parse_compare(c, value);
    if (strcmp(name, "--plot") == 0) {
        if (value[0] == '\0')
            return usage_error("empty --plot file name%s", "");
        c->plot_path = value;
        return 0;
    }
    return usage_error("unknown option '%s'", name);
}

/* Returns 0, -1 after --help, or an exit status for invalid usage. */
static int parse_args(cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(stdout);
            return -1;
        }
        if (strcmp(arg, "--long") == 0) {
            c->options.long_run = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", arg);

        char name[32];
        const char *equals = strchr(arg, '=');
        size_t length = equals != NULL ? (size_t)(equals - arg) : strlen(arg);
        if (length >= sizeof name)
            return usage_error("unknown option '%s'", arg);
        memcpy(name, arg, length);
        name[length] = '\0';

        /* The name is checked first, so an unknown option in the last
         * position is reported as unknown, not as missing its value. */
        if (strcmp(name, "--long") == 0 || strcmp(name, "--help") == 0)
            return usage_error("option '%s' takes no value", name);
        if (!takes_value(name))
            return usage_error("unknown option '%s'", name);

        const char *value;
        if (equals != NULL) {
            value = equals + 1;
        } else {
            if (i + 1 == argc)
                return usage_error("missing value after '%s'", arg);
            value = argv[++i];
        }

        int rc = apply_option(c, name, value);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Returns the worker count the library picks by default: CPUs in the affinity mask, cgroup quota. */
static unsigned usable_cpus(void)
{
    sp_config config;
    sp_config_init(&config);
    config.workers = 0;

    sp_pool *pool = NULL;
    if (sp_pool_create(&pool, &config) != 0)
        return 1;
    unsigned workers = sp_pool_workers(pool);
    sp_pool_destroy(pool);
    return workers > 0 ? workers : 1;
}

static void choose_workers(cli *c)
{
    sb_options *o = &c->options;
    o->usable_cpus = usable_cpus();

    if (!c->workers_given) {
        o->worker_count = 0;
        o->workers[o->worker_count++] = 1;
        if (o->usable_cpus >= 2)
            o->workers[o->worker_count++] = 2;
    }

    char list[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < o->worker_count && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%u", i == 0 ? "" : ",",
                                 o->workers[i]);
    sb_progress("workers %s (%s; %u usable CPUs)", list,
                c->workers_given ? "from --workers" : "default", o->usable_cpus);

    for (size_t i = 0; i < o->worker_count; i++)
        if (o->workers[i] > o->usable_cpus)
            sb_progress("%u workers oversubscribe the %u usable CPUs", o->workers[i],
                        o->usable_cpus);
}

static int run_suites(const cli *c, sb_report *report)
{
    int failed = 0;
    for (size_t i = 0; sb_suites[i] != NULL; i++) {
        const sb_suite *suite = sb_suites[i];
        if (strcmp(c->suite, "all") != 0 && strcmp(c->suite, suite->name) != 0)
            continue;

        sb_progress("suite %s: start", suite->name);
        sb_report_begin_suite(report, suite->name);
        int rc = suite->run(&c->options, report);
        if (rc != 0) {
            sb_progress("suite %s failed: %s", suite->name, strerror(rc));
            failed = rc;
        } else {
            sb_progress("suite %s: done", suite->name);
        }
    }
    return failed;
}

/* Prints why an output file cannot be written and returns the usage status. */
static int output_error(const char *option, const char *path, int error)
{
    fprintf(stderr, "stealpool-bench: %s: cannot open '%s' for writing: %s\n", option, path,
            strerror(error));
    return EXIT_USAGE;
}

/*
 * Creates the --plot file unless it exists and is writable, then opens the
 * --csv file for writing, so that a bad path stops the program before any
 * measuring. Returns 0 or the usage status after one line on stderr.
 */
static int open_outputs(const cli *c, outputs *out)
{
    if (c->plot_path != NULL) {
        int fd = open(c->plot_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        out->plot_created = fd >= 0;
        if (fd < 0 && errno == EEXIST)
            fd = open(c->plot_path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return output_error("--plot", c->plot_path, errno);
        close(fd);
    }

    if (c->csv_path != NULL) {
        out->csv = fopen(c->csv_path, "w");
        if (out->csv == NULL) {
            int error = errno;
            if (out->plot_created)
                unlink(c->plot_path);
            return output_error("--csv", c->csv_path, error);
        }
    }
    return 0;
}

/* Writes the rows to the --csv file opened by open_outputs, and closes it. */
static int write_csv_file(const sb_report *report, FILE *file, const char *path)
{
    int rc = sb_report_print(report, file, SB_FORMAT_CSV);
    if (fclose(file) != 0 && rc == 0)
        rc = errno;
    if (rc != 0)
        fprintf(stderr, "stealpool-bench: writing '%s' failed: %s\n", path, strerror(rc));
    return rc;
}

int main(int argc, char **argv)
{
    cli c = {.suite = "all", .format = SB_FORMAT_TABLE};
    c.options.compare = SB_COMPARE_ALL;

    int rc = parse_args(&c, argc, argv);
    if (rc < 0)
        return 0;
    if (rc != 0)
        return rc;

    sb_report *report = sb_report_create();
    if (report == NULL) {
        fputs("stealpool-bench: out of memory\n", stderr);
        return EXIT_RUN_FAILED;
    }

    outputs out = {NULL, false};
    rc = open_outputs(&c, &out);
    if (rc != 0) {
        sb_report_destroy(report);
        return rc;
    }

    choose_workers(&c);
    int run_rc = run_suites(&c, report);
    int print_rc = sb_report_print(report, stdout, c.format);
    if (print_rc != 0)
        fprintf(stderr, "stealpool-bench: writing the results failed: %s\n", strerror(print_rc));
    int csv_rc = out.csv != NULL ? write_csv_file(report, out.csv, c.csv_path) : 0;
    int plot_rc = c.plot_path != NULL ? sb_plot(report, c.plot_path) : 0;

    /* A file that this run created and could not draw is removed, so no
     * empty or partial SVG is left behind. */
    if (plot_rc != 0 && out.plot_created)
        unlink(c.plot_path);

    int status = plot_rc != 0 ? EXIT_PLOT_FAILED : 0;
    if (run_rc != 0 || print_rc != 0 || csv_rc != 0 || sb_report_lost_rows(report))
        status = EXIT_RUN_FAILED;
    if (sb_report_has_wrong_answer(report)) {
        fputs("stealpool-bench: a wrong answer was found (see the answer checked column)\n",
              stderr);
        status = EXIT_WRONG_ANSWER;
    }

    sb_report_destroy(report);
    return status;
}
