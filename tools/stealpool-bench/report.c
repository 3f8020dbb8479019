/*
 * Collects rows and notes, derives the ratio, per-item and speedup columns,
 * and prints them as a table, CSV or JSON.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct stored_row {
    char suite[32];
    char workload[64];
    char system[48];
    char unit[8];
    char item[24];
    unsigned workers;
    unsigned runs;
    double median_ns;
    double items;
    bool baseline;
    sb_answer answer;
} stored_row;

typedef struct stored_note {
    char suite[32];
    char text[512];
} stored_note;

struct sb_report {
    char suite[32];
    stored_row *rows;
    size_t row_count;
    size_t row_capacity;
    stored_note *notes;
    size_t note_count;
    size_t note_capacity;
    bool lost;
};

/* Columns derived from the other rows of the same workload. */
typedef struct derived {
    double median;        /* in the row's unit */
    double ratio;         /* to the workload's baseline; NAN when there is none */
    double ns_per_item;   /* NAN without items */
    double speedup;       /* 1-worker time / this time, same system; NAN when absent */
} derived;

sb_report *sb_report_create(void)
{
    return calloc(1, sizeof(sb_report));
}

void sb_report_destroy(sb_report *report)
{
    if (report == NULL)
        return;
    free(report->rows);
    free(report->notes);
    free(report);
}

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

void sb_report_begin_suite(sb_report *report, const char *suite)
{
    copy_text(report->suite, sizeof report->suite, suite);
}

/* Makes room for one more element of an array; returns false when out of memory. */
static bool grow(void **array, size_t *capacity, size_t count, size_t element_size)
{
    if (count < *capacity)
        return true;

    size_t next = *capacity == 0 ? 16 : *capacity * 2;
    void *larger = realloc(*array, next * element_size);
    if (larger == NULL)
        return false;
    *array = larger;
    *capacity = next;
    return true;
}

void sb_report_row(sb_report *report, const sb_row *row)
{
    if (!grow((void **)&report->rows, &report->row_capacity, report->row_count,
              sizeof(stored_row))) {
        report->lost = true;
        return;
    }

    stored_row *dst = &report->rows[report->row_count++];
    copy_text(dst->suite, sizeof dst->suite, report->suite);
    copy_text(dst->workload, sizeof dst->workload, row->workload);
    copy_text(dst->system, sizeof dst->system, row->system);
    copy_text(dst->unit, sizeof dst->unit, row->unit != NULL ? row->unit : "ns");
    copy_text(dst->item, sizeof dst->item, row->item);
    dst->workers = row->workers;
    dst->runs = row->runs;
    dst->median_ns = row->median_ns;
    dst->items = row->items;
    dst->baseline = row->baseline;
    dst->answer = row->answer;
}

void sb_report_note(sb_report *report, const char *fmt, ...)
{
    if (!grow((void **)&report->notes, &report->note_capacity, report->note_count,
              sizeof(stored_note))) {
        report->lost = true;
        return;
    }

    stored_note *dst = &report->notes[report->note_count++];
    copy_text(dst->suite, sizeof dst->suite, report->suite);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst->text, sizeof dst->text, fmt, ap);
    va_end(ap);
}

bool sb_report_has_wrong_answer(const sb_report *report)
{
    for (size_t i = 0; i < report->row_count; i++)
        if (report->rows[i].answer == SB_ANSWER_WRONG)
            return true;
    return false;
}

bool sb_report_lost_rows(const sb_report *report)
{
    return report->lost;
}

static double unit_ns(const char *unit)
{
    if (strcmp(unit, "s") == 0)
        return 1e9;
    if (strcmp(unit, "ms") == 0)
        return 1e6;
    if (strcmp(unit, "us") == 0)
        return 1e3;
    return 1.0;
}

static bool same_workload(const stored_row *a, const stored_row *b)
{
    return strcmp(a->suite, b->suite) == 0 && strcmp(a->workload, b->workload) == 0;
}

static derived derive(const sb_report *report, const stored_row *row)
{
    derived d = {row->median_ns / unit_ns(row->unit), NAN, NAN, NAN};

    if (row->items > 0)
        d.ns_per_item = row->median_ns / row->items;

    for (size_t i = 0; i < report->row_count; i++) {
        const stored_row *other = &report->rows[i];
        if (!same_workload(row, other))
            continue;
        if (other->baseline && other->median_ns > 0)
            d.ratio = row->median_ns / other->median_ns;
        if (row->workers > 1 && other->workers == 1 &&
            strcmp(other->system, row->system) == 0 && row->median_ns > 0)
            d.speedup = other->median_ns / row->median_ns;
    }
    return d;
}

static const char *answer_text(sb_answer answer)
{
    switch (answer) {
    case SB_ANSWER_OK:
        return "yes";
    case SB_ANSWER_WRONG:
        return "WRONG";
    default:
        return "no";
    }
}

/* Formats a figure with 3 significant digits at least, or "-" for NAN. */
static void format_number(char *buf, size_t size, double value)
{
    if (isnan(value))
        snprintf(buf, size, "-");
    else if (fabs(value) >= 100)
        snprintf(buf, size, "%.1f", value);
    else if (fabs(value) >= 1)
        snprintf(buf, size, "%.2f", value);
    else
        snprintf(buf, size, "%.3f", value);
}

enum { TABLE_COLUMNS = 9 };

typedef char table_cell[64];

static void fill_table_row(const sb_report *report, const stored_row *row,
                           table_cell cells[TABLE_COLUMNS])
{
    derived d = derive(report, row);

    snprintf(cells[0], sizeof cells[0], "%s", row->workload);
    snprintf(cells[1], sizeof cells[1], "%s%s", row->system, row->baseline ? " *" : "");
    if (row->workers == 0)
        snprintf(cells[2], sizeof cells[2], "-");
    else
        snprintf(cells[2], sizeof cells[2], "%u", row->workers);
    format_number(cells[3], sizeof cells[3], d.median);
    snprintf(cells[4], sizeof cells[4], "%s", row->unit);
    format_number(cells[5], sizeof cells[5], d.ratio);
    format_number(cells[6], sizeof cells[6], d.ns_per_item);
    if (!isnan(d.ns_per_item))
        snprintf(cells[6] + strlen(cells[6]), sizeof cells[6] - strlen(cells[6]), "/%s",
                 row->item);
    format_number(cells[7], sizeof cells[7], d.speedup);
    snprintf(cells[8], sizeof cells[8], "%s", answer_text(row->answer));
}

static void print_table_suite(const sb_report *report, FILE *out, const char *suite)
{
    static const char *const headers[TABLE_COLUMNS] = {
        "workload", "system", "workers", "median", "unit", "ratio", "ns per item",
        "vs 1 worker", "answer checked"};
    static const bool right_aligned[TABLE_COLUMNS] = {false, false, true, true, false,
                                                      true,  true,  true, false};

    size_t widths[TABLE_COLUMNS];
    for (int c = 0; c < TABLE_COLUMNS; c++)
        widths[c] = strlen(headers[c]);

    for (size_t i = 0; i < report->row_count; i++) {
        if (strcmp(report->rows[i].suite, suite) != 0)
            continue;
        table_cell cells[TABLE_COLUMNS];
        fill_table_row(report, &report->rows[i], cells);
        for (int c = 0; c < TABLE_COLUMNS; c++)
            if (strlen(cells[c]) > widths[c])
                widths[c] = strlen(cells[c]);
    }

    fprintf(out, "suite %s\n", suite);
    for (int c = 0; c < TABLE_COLUMNS; c++)
        fprintf(out, "%s%-*s", c == 0 ? "" : "  ", c == TABLE_COLUMNS - 1 ? 0 : (int)widths[c],
                headers[c]);
    fputc('\n', out);

    const char *previous_workload = NULL;
    for (size_t i = 0; i < report->row_count; i++) {
        const stored_row *row = &report->rows[i];
        if (strcmp(row->suite, suite) != 0)
            continue;
        if (previous_workload != NULL && strcmp(previous_workload, row->workload) != 0)
            fputc('\n', out);
        previous_workload = row->workload;

        table_cell cells[TABLE_COLUMNS];
        fill_table_row(report, row, cells);
        for (int c = 0; c < TABLE_COLUMNS; c++) {
            int width = right_aligned[c] ? (int)widths[c] : -(int)widths[c];
            if (c == TABLE_COLUMNS - 1)
                width = 0; /* no trailing blanks */
            fprintf(out, "%s%*s", c == 0 ? "" : "  ", width, cells[c]);
        }
        fputc('\n', out);
    }

    for (size_t i = 0; i < report->note_count; i++)
        if (strcmp(report->notes[i].suite, suite) == 0)
            fprintf(out, "  %s\n", report->notes[i].text);
}

/* Returns true when a row or note before index `end` of the combined list names suite. */
static bool suite_seen_before(const sb_report *report, size_t end, const char *suite)
{
    for (size_t i = 0; i < end; i++) {
        const char *earlier = i < report->row_count ? report->rows[i].suite
                                                    : report->notes[i - report->row_count].suite;
        if (strcmp(earlier, suite) == 0)
            return true;
    }
    return false;
}

static void print_table(const sb_report *report, FILE *out)
{
    fprintf(out, "median: median time of one run; ratio: median / median of the row marked *; "
                 "vs 1 worker: 1-worker median / this median, same system\n");

    /* Rows first, then notes, so a suite that reported only notes still prints. */
    size_t total = report->row_count + report->note_count;
    for (size_t i = 0; i < total; i++) {
        const char *suite = i < report->row_count ? report->rows[i].suite
                                                  : report->notes[i - report->row_count].suite;
        if (suite_seen_before(report, i, suite))
            continue;
        fputc('\n', out);
        print_table_suite(report, out, suite);
    }
}

/* Writes a number for CSV or JSON: empty (CSV) or null (JSON) for NAN. */
static void print_number(FILE *out, double value, const char *missing)
{
    if (isnan(value))
        fputs(missing, out);
    else
        fprintf(out, "%.6g", value);
}

static void print_csv_text(FILE *out, const char *text)
{
    fputc('"', out);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void print_csv(const sb_report *report, FILE *out)
{
    fputs("suite,workload,system,workers,median,unit,runs,median_ns,ratio_to_baseline,baseline,"
          "ns_per_item,item,speedup_vs_1_worker,answer_checked\n",
          out);

    for (size_t i = 0; i < report->row_count; i++) {
        const stored_row *row = &report->rows[i];
        derived d = derive(report, row);

        print_csv_text(out, row->suite);
        fputc(',', out);
        print_csv_text(out, row->workload);
        fputc(',', out);
        print_csv_text(out, row->system);
        fprintf(out, ",%u,", row->workers);
        print_number(out, d.median, "");
        fprintf(out, ",%s,%u,%.0f,", row->unit, row->runs, row->median_ns);
        print_number(out, d.ratio, "");
        fprintf(out, ",%s,", row->baseline ? "yes" : "no");
        print_number(out, d.ns_per_item, "");
        fputc(',', out);
        print_csv_text(out, row->item);
        fputc(',', out);
        print_number(out, d.speedup, "");
        fprintf(out, ",%s\n", answer_text(row->answer));
    }
}

static void print_json_text(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void print_json(const sb_report *report, FILE *out)
{
    fputs("{\n  \"rows\": [", out);
    for (size_t i = 0; i < report->row_count; i++) {
        const stored_row *row = &report->rows[i];
        derived d = derive(report, row);

        fputs(i == 0 ? "\n    {" : ",\n    {", out);
        fputs("\"suite\": ", out);
        print_json_text(out, row->suite);
        fputs(", \"workload\": ", out);
        print_json_text(out, row->workload);
        fputs(", \"system\": ", out);
        print_json_text(out, row->system);
        fprintf(out, ", \"workers\": %u, \"median\": ", row->workers);
        print_number(out, d.median, "null");
        fprintf(out, ", \"unit\": \"%s\", \"runs\": %u, \"median_ns\": %.0f", row->unit,
                row->runs, row->median_ns);
        fputs(", \"ratio_to_baseline\": ", out);
        print_number(out, d.ratio, "null");
        fprintf(out, ", \"baseline\": %s, \"ns_per_item\": ", row->baseline ? "true" : "false");
        print_number(out, d.ns_per_item, "null");
        fputs(", \"item\": ", out);
        print_json_text(out, row->item);
        fputs(", \"speedup_vs_1_worker\": ", out);
        print_number(out, d.speedup, "null");
        fprintf(out, ", \"answer_checked\": \"%s\"}", answer_text(row->answer));
    }
    fputs("\n  ],\n  \"notes\": [", out);
    for (size_t i = 0; i < report->note_count; i++) {
        fputs(i == 0 ? "\n    {\"suite\": " : ",\n    {\"suite\": ", out);
        print_json_text(out, report->notes[i].suite);
        fputs(", \"text\": ", out);
        print_json_text(out, report->notes[i].text);
        fputc('}', out);
    }
    fputs("\n  ]\n}\n", out);
}

int sb_report_print(const sb_report *report, FILE *out, sb_format format)
{
    switch (format) {
    case SB_FORMAT_CSV:
        print_csv(report, out);
        break;
    case SB_FORMAT_JSON:
        print_json(report, out);
        break;
    default:
        print_table(report, out);
        break;
    }

    if (fflush(out) != 0 || ferror(out))
        return errno != 0 ? errno : EIO;
    return 0;
}
