/* Timing helpers and the interleaved measurement loop shared by the suites. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

int64_t sb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double sb_median(double *values, size_t count)
{
    if (count == 0)
        return 0.0;

    qsort(values, count, sizeof values[0], compare_doubles);
    if (count % 2 == 1)
        return values[count / 2];
    return (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

void sb_progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("stealpool-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Combines two answers so that one wrong run marks the whole case wrong. */
static sb_answer worse_answer(sb_answer a, sb_answer b)
{
    if (a == SB_ANSWER_WRONG || b == SB_ANSWER_WRONG)
        return SB_ANSWER_WRONG;
    if (a == SB_ANSWER_OK || b == SB_ANSWER_OK)
        return SB_ANSWER_OK;
    return SB_ANSWER_NOT_CHECKED;
}

static int warm_up(const sb_workload *workload, sb_case *cases, size_t count)
{
    for (size_t c = 0; c < count; c++) {
        sb_answer ignored = SB_ANSWER_NOT_CHECKED;
        int rc = cases[c].warmup != NULL ? cases[c].warmup(cases[c].context)
                                         : cases[c].run(cases[c].context, &ignored);
        if (rc != 0) {
            sb_progress("%s: %s warm-up failed: %s", workload->name, cases[c].system,
                        strerror(rc));
            return rc;
        }
        sleep_ms(workload->settle_ms);
    }
    return 0;
}

int sb_measure(sb_report *report, const sb_workload *workload, sb_case *cases, size_t count)
{
    unsigned reps = workload->reps > 0 ? workload->reps : 1;
    double *times = calloc(count * reps, sizeof(double));
    if (times == NULL)
        return ENOMEM;

    for (size_t c = 0; c < count; c++)
        cases[c].answer = SB_ANSWER_NOT_CHECKED;

    sb_progress("%s: warm-up", workload->name);
    int rc = warm_up(workload, cases, count);

    for (unsigned r = 0; r < reps && rc == 0; r++) {
        sb_progress("%s: round %u of %u", workload->name, r + 1, reps);
        for (size_t c = 0; c < count && rc == 0; c++) {
            sb_answer answer = SB_ANSWER_NOT_CHECKED;
            int64_t start = sb_now_ns();
            rc = cases[c].run(cases[c].context, &answer);
            times[c * reps + r] = (double)(sb_now_ns() - start);

            if (rc != 0)
                sb_progress("%s: %s on %u workers failed: %s", workload->name, cases[c].system,
                            cases[c].workers, strerror(rc));
            cases[c].answer = worse_answer(cases[c].answer, answer);
            sleep_ms(workload->settle_ms);
        }
    }

    for (size_t c = 0; c < count && rc == 0; c++) {
        cases[c].median_ns = sb_median(&times[c * reps], reps);
        sb_row row = {
            .workload = workload->name,
            .system = cases[c].system,
            .workers = cases[c].workers,
            .median_ns = cases[c].median_ns,
            .runs = reps,
            .unit = workload->unit,
            .items = workload->items,
            .item = workload->item,
            .baseline = cases[c].baseline,
            .answer = cases[c].answer,
        };
        sb_report_row(report, &row);
    }

    free(times);
    return rc;
}
