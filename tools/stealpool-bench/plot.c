/*
 * --plot: reads the report back as CSV, writes the two panels' points to
 * data files, and runs gnuplot on a generated script with the svg terminal.
 *
 * A row is a reference when its system name starts with one of
 * reference_prefixes: sequential C, oneTBB, OpenMP, pthread, POSIX and
 * mutex+condvar code, and the bare clock. Every other row is a stealpool
 * row, so the patterns suite's rows named after the pattern count too.
 */
#include "plot.h"

#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const reference_prefixes[] = {"sequential", "oneTBB", "OpenMP", "pthread",
                                                 "POSIX",      "mutex",  "clock"};

/* The fields of one report row that the panels use. */
typedef struct plot_row {
    char workload[112]; /* suite and workload, "forkjoin: F1 fib(32)", unique */
    const char *name;   /* the workload part of workload, for labels */
    char system[48];
    unsigned workers;
    double median_ns;
    double speedup; /* against 1 worker; 0 when the report has none */
} plot_row;

typedef struct plot_rows {
    plot_row *rows;
    size_t count;
} plot_rows;

static bool is_reference(const char *system)
{
    for (size_t i = 0; i < sizeof reference_prefixes / sizeof reference_prefixes[0]; i++)
        if (strncmp(system, reference_prefixes[i], strlen(reference_prefixes[i])) == 0)
            return true;
    return false;
}

/*
 * Splits one CSV line into at most max fields, in place. Quoted fields may
 * contain commas and doubled quotes. Returns the number of fields.
 */
static size_t split_csv(char *line, char **fields, size_t max)
{
    size_t count = 0;
    char *read = line;

    while (count < max) {
        char *write = read;
        fields[count++] = write;
        if (*read == '"') {
            read++;
            while (*read != '\0' && !(read[0] == '"' && read[1] != '"')) {
                if (read[0] == '"')
                    read++; /* the first of two quotes */
                *write++ = *read++;
            }
            if (*read == '"')
                read++;
        } else {
            while (*read != '\0' && *read != ',' && *read != '\n')
                *write++ = *read++;
        }

        char separator = *read;
        *write = '\0';
        if (separator != ',')
            break;
        read++;
    }
    return count;
}

/* Field positions in the report's CSV header line. */
enum {
    CSV_SUITE = 0,
    CSV_WORKLOAD = 1,
    CSV_SYSTEM = 2,
    CSV_WORKERS = 3,
    CSV_MEDIAN_NS = 7,
    CSV_SPEEDUP = 12,
    CSV_FIELDS = 14
};

/* Reads the rows back from the report's CSV form. Returns 0 or errno. */
static int load_rows(const sb_report *report, plot_rows *out)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    if (stream == NULL)
        return errno;
    int rc = sb_report_print(report, stream, SB_FORMAT_CSV);
    if (fclose(stream) != 0 && rc == 0)
        rc = errno;
    if (rc != 0) {
        free(text);
        return rc;
    }

    size_t lines = 0;
    for (const char *p = text; *p != '\0'; p++)
        lines += *p == '\n';
    out->rows = calloc(lines + 1, sizeof(plot_row));
    out->count = 0;
    if (out->rows == NULL) {
        free(text);
        return ENOMEM;
    }

    char *save = NULL;
    bool header = true;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *fields[CSV_FIELDS];
        size_t count = split_csv(line, fields, CSV_FIELDS);
        if (header || count != CSV_FIELDS) {
            header = false;
            continue;
        }

        plot_row *row = &out->rows[out->count++];
        snprintf(row->workload, sizeof row->workload, "%s: %s", fields[CSV_SUITE],
                 fields[CSV_WORKLOAD]);
        size_t name_offset = strlen(fields[CSV_SUITE]) + 2;
        if (name_offset >= sizeof row->workload)
            name_offset = sizeof row->workload - 1;
        row->name = row->workload + name_offset;
        snprintf(row->system, sizeof row->system, "%s", fields[CSV_SYSTEM]);
        row->workers = (unsigned)strtoul(fields[CSV_WORKERS], NULL, 10);
        row->median_ns = strtod(fields[CSV_MEDIAN_NS], NULL);
        row->speedup = fields[CSV_SPEEDUP][0] != '\0' ? strtod(fields[CSV_SPEEDUP], NULL) : 0.0;
    }
    free(text);
    return 0;
}

/* Writes text as a gnuplot single-quoted string, in which only a quote needs escaping. */
static void put_quoted(FILE *out, const char *text)
{
    fputc('\'', out);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\'')
            fputc('\'', out);
        fputc(*p, out);
    }
    fputc('\'', out);
}

/* Returns true when an earlier row with a speedup has the same workload and system. */
static bool series_seen(const plot_rows *rows, size_t index)
{
    for (size_t i = 0; i < index; i++)
        if (rows->rows[i].speedup > 0 &&
            strcmp(rows->rows[i].workload, rows->rows[index].workload) == 0 &&
            strcmp(rows->rows[i].system, rows->rows[index].system) == 0)
            return true;
    return false;
}

/*
 * Writes one data block per workload and system that has a speedup, with
 * the point (1, 1) first, and the plot clause of each block to plot.
 * Returns the number of blocks.
 */
static size_t write_speedup(const plot_rows *rows, FILE *data, const char *data_path,
                            FILE *plot)
{
    size_t blocks = 0;

    for (size_t i = 0; i < rows->count; i++) {
        const plot_row *first = &rows->rows[i];
        if (first->speedup <= 0 || series_seen(rows, i))
            continue;

        fprintf(data, "%s1 1\n", blocks == 0 ? "" : "\n\n");
        for (size_t j = i; j < rows->count; j++) {
            const plot_row *row = &rows->rows[j];
            if (row->speedup <= 0 || strcmp(row->workload, first->workload) != 0 ||
                strcmp(row->system, first->system) != 0)
                continue;
            fprintf(data, "%u %.6g\n", row->workers, row->speedup);
        }

        char title[176];
        snprintf(title, sizeof title, "%s, %s", first->name, first->system);
        fprintf(plot, "%s", blocks == 0 ? "plot " : ", \\\n     ");
        put_quoted(plot, data_path);
        fprintf(plot, " index %zu using 1:2 with linespoints title ", blocks);
        put_quoted(plot, title);
        blocks++;
    }
    return blocks;
}

/* A category of the ratio panel: one stealpool row. */
static void category_label(const plot_row *row, char *label, size_t size)
{
    char workers[24] = "";
    if (row->workers > 0)
        snprintf(workers, sizeof workers, ", %u worker%s", row->workers,
                 row->workers == 1 ? "" : "s");
    /* "stealpool sp_sem" shows as "sp_sem", and plain "stealpool" not at all. */
    const char *system = row->system;
    if (strncmp(system, "stealpool", strlen("stealpool")) == 0)
        system += strlen("stealpool");
    if (*system == ' ')
        system++;

    if (*system == '\0')
        snprintf(label, size, "%s%s", row->name, workers);
    else
        snprintf(label, size, "%s, %s%s", row->name, system, workers);
}

/* Returns true when the reference row compares with the stealpool row. */
static bool pairs_with(const plot_row *ours, const plot_row *reference)
{
    return strcmp(ours->workload, reference->workload) == 0 &&
           (reference->workers == 0 || reference->workers == ours->workers) &&
           ours->median_ns > 0 && reference->median_ns > 0;
}

/* Returns true when the reference system has no earlier row. */
static bool first_of_reference(const plot_rows *rows, size_t index)
{
    for (size_t i = 0; i < index; i++)
        if (strcmp(rows->rows[i].system, rows->rows[index].system) == 0)
            return false;
    return true;
}

/*
 * Numbers the stealpool rows that pair with a reference as categories 0, 1,
 * ... (stored in category[], -1 for the others), writes the xtics command,
 * and returns the category count.
 */
static size_t write_categories(const plot_rows *rows, long *category, FILE *plot)
{
    size_t count = 0;
    for (size_t i = 0; i < rows->count; i++) {
        category[i] = -1;
        if (is_reference(rows->rows[i].system))
            continue;
        for (size_t j = 0; j < rows->count; j++) {
            if (is_reference(rows->rows[j].system) && pairs_with(&rows->rows[i], &rows->rows[j])) {
                category[i] = (long)count++;
                break;
            }
        }
    }

    fputs("set xtics rotate by -35 left font ',9' (", plot);
    for (size_t i = 0, written = 0; i < rows->count; i++) {
        if (category[i] < 0)
            continue;
        char label[192];
        category_label(&rows->rows[i], label, sizeof label);
        fputs(written++ == 0 ? "" : ", ", plot);
        put_quoted(plot, label);
        fprintf(plot, " %ld", category[i]);
    }
    fputs(")\n", plot);
    return count;
}

/* Writes one data block per reference system: category, reference time / stealpool time. */
static size_t write_ratios(const plot_rows *rows, const long *category, FILE *data,
                           const char *data_path, FILE *plot)
{
    size_t blocks = 0;
    for (size_t r = 0; r < rows->count; r++) {
        const plot_row *reference = &rows->rows[r];
        if (!is_reference(reference->system) || !first_of_reference(rows, r))
            continue;

        size_t points = 0;
        for (size_t i = 0; i < rows->count; i++) {
            if (category[i] < 0)
                continue;
            for (size_t j = 0; j < rows->count; j++) {
                const plot_row *other = &rows->rows[j];
                if (strcmp(other->system, reference->system) != 0 ||
                    !pairs_with(&rows->rows[i], other))
                    continue;
                fprintf(data, "%s%ld %.6g\n", blocks > 0 && points == 0 ? "\n\n" : "",
                        category[i], other->median_ns / rows->rows[i].median_ns);
                points++;
            }
        }
        if (points == 0)
            continue;

        fprintf(plot, "%s", blocks == 0 ? "plot " : ", \\\n     ");
        put_quoted(plot, data_path);
        fprintf(plot, " index %zu using 1:2 with points pointsize 1.3 title ", blocks);
        put_quoted(plot, reference->system);
        blocks++;
    }
    return blocks;
}

/* Draws an empty panel with the reason in its middle. */
static void write_empty_panel(FILE *plot, const char *reason)
{
    fputs("set xrange [0:1]\nset yrange [0:1]\nunset xtics\nunset ytics\nset label 1 ", plot);
    put_quoted(plot, reason);
    fputs(" at graph 0.5, 0.5 center\nplot -1 notitle\nunset label 1\n", plot);
}

typedef struct plot_files {
    char dir[64];
    char script[96];
    char speedup[96];
    char ratio[96];
} plot_files;

static int write_script(const plot_rows *rows, const plot_files *files, const char *svg_path)
{
    FILE *plot = fopen(files->script, "w");
    FILE *speedup = fopen(files->speedup, "w");
    FILE *ratio = fopen(files->ratio, "w");
    long *category = calloc(rows->count + 1, sizeof *category);
    int rc = plot == NULL || speedup == NULL || ratio == NULL ? errno : 0;
    if (rc == 0 && category == NULL)
        rc = ENOMEM;

    if (rc == 0) {
        fputs("set terminal svg size 1500,1700 noenhanced font 'sans,11' background 'white'\n"
              "set output ",
              plot);
        put_quoted(plot, svg_path);
        fputs("\nset datafile separator whitespace\n"
              "set multiplot title 'stealpool-bench'\n"
              "set origin 0, 0.56\nset size 1, 0.41\n"
              "set grid\nset key outside right top font ',9'\n"
              "set title 'Speedup against 1 worker (1-worker time / time, same system)'\n"
              "set xlabel 'workers'\nset ylabel 'speedup'\n",
              plot);

        fputs("set xtics 1\nset autoscale xfix\nset offsets 0.1, 0.1, 0, 0\n", plot);
        size_t blocks = write_speedup(rows, speedup, files->speedup, plot);
        if (blocks > 0) {
            fprintf(plot, ", \\\n     x with lines dashtype 2 linecolor 'gray' title 'ideal'\n");
        } else {
            write_empty_panel(plot, "no workload ran with several worker counts");
        }

        fputs("set origin 0, 0\nset size 1, 0.56\n"
              "set autoscale\nset offsets 0, 0, 0, 0\nset xtics\nset ytics\nset logscale y\n"
              "set title 'Reference time / stealpool time (above 1: stealpool is faster)'\n"
              "set xlabel ''\nset ylabel 'reference time / stealpool time'\n"
              "set bmargin 24\n",
              plot);
        size_t categories = write_categories(rows, category, plot);
        fprintf(plot, "set xrange [-0.5:%zu.5]\n", categories == 0 ? 0 : categories - 1);
        blocks = categories > 0 ? write_ratios(rows, category, ratio, files->ratio, plot) : 0;
        if (blocks > 0) {
            fputs(", \\\n     1 with lines dashtype 2 linecolor 'gray' notitle\n", plot);
        } else {
            fputs("unset logscale y\n", plot);
            write_empty_panel(plot, "no stealpool row has a reference row to compare with");
        }
        fputs("unset multiplot\nset output\n", plot);
    }

    free(category);
    if (ratio != NULL && fclose(ratio) != 0 && rc == 0)
        rc = errno;
    if (speedup != NULL && fclose(speedup) != 0 && rc == 0)
        rc = errno;
    if (plot != NULL && fclose(plot) != 0 && rc == 0)
        rc = errno;
    return rc;
}

/* Prints one line on stderr with the reason the SVG file at path was not drawn. */
static void report_not_drawn(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report_not_drawn(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "stealpool-bench: --plot '%s' not drawn: ", path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/*
 * Runs gnuplot on the script, which writes svg_path. Returns 0, ENOENT when
 * gnuplot is not installed, or EIO when it failed.
 */
static int run_gnuplot(const char *script, const char *svg_path)
{
    char *argv[] = {"gnuplot", (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    if (rc == ENOENT) {
        report_not_drawn(svg_path, "gnuplot not found in PATH; install it (Debian and Ubuntu: "
                                   "apt-get install gnuplot-nox) or leave out --plot");
        return ENOENT;
    }
    if (rc != 0) {
        report_not_drawn(svg_path, "starting gnuplot failed: %s", strerror(rc));
        return rc;
    }

    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            rc = errno;
            report_not_drawn(svg_path, "waiting for gnuplot failed: %s", strerror(rc));
            return rc;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        report_not_drawn(svg_path, "gnuplot could not be run (exit status 127); install it "
                                   "(Debian and Ubuntu: apt-get install gnuplot-nox) or leave "
                                   "out --plot");
        return ENOENT;
    }
    if (WIFSIGNALED(status)) {
        report_not_drawn(svg_path, "gnuplot was killed by signal %d", WTERMSIG(status));
        return EIO;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        report_not_drawn(svg_path, "gnuplot failed with exit status %d; see its messages above",
                         WEXITSTATUS(status));
        return EIO;
    }
    return 0;
}

static void remove_files(const plot_files *files)
{
    unlink(files->script);
    unlink(files->speedup);
    unlink(files->ratio);
    rmdir(files->dir);
}

int sb_plot(const sb_report *report, const char *path)
{
    plot_rows rows = {NULL, 0};
    int rc = load_rows(report, &rows);
    if (rc != 0) {
        report_not_drawn(path, "reading the results failed: %s", strerror(rc));
        return rc;
    }

    plot_files files;
    const char *tmp = getenv("TMPDIR");
    snprintf(files.dir, sizeof files.dir, "%s/stealpool-bench-plot.XXXXXX",
             tmp != NULL && tmp[0] != '\0' && strlen(tmp) < 32 ? tmp : "/tmp");
    if (mkdtemp(files.dir) == NULL) {
        rc = errno;
        report_not_drawn(path, "creating the directory %s failed: %s", files.dir,
                         strerror(rc));
        free(rows.rows);
        return rc;
    }
    snprintf(files.script, sizeof files.script, "%s/plot.gp", files.dir);
    snprintf(files.speedup, sizeof files.speedup, "%s/speedup.dat", files.dir);
    snprintf(files.ratio, sizeof files.ratio, "%s/ratio.dat", files.dir);

    rc = write_script(&rows, &files, path);
    if (rc != 0)
        report_not_drawn(path, "writing the gnuplot script in %s failed: %s", files.dir,
                         strerror(rc));
    else
        rc = run_gnuplot(files.script, path);

    remove_files(&files);
    free(rows.rows);
    if (rc == 0)
        sb_progress("plot written to %s", path);
    return rc;
}
