/* Result collection and printing, used by main.c. */
#ifndef SP_TOOLS_BENCH_REPORT_H
#define SP_TOOLS_BENCH_REPORT_H

#include <stdio.h>

#include "bench.h"

/* Returns a new empty report, or NULL when out of memory. */
sb_report *sb_report_create(void);

void sb_report_destroy(sb_report *report);

/* Tags the rows and notes that follow with the suite's name. */
void sb_report_begin_suite(sb_report *report, const char *suite);

/* Returns true when a row failed its answer check. */
bool sb_report_has_wrong_answer(const sb_report *report);

/* Returns true when a row could not be stored (out of memory). */
bool sb_report_lost_rows(const sb_report *report);

/* Writes every row and note in the format. Returns 0 or errno of the write. */
int sb_report_print(const sb_report *report, FILE *out, sb_format format);

#endif
