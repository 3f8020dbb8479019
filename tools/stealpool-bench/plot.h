/* --plot: charts of a finished report, drawn by gnuplot. */
#ifndef SP_TOOLS_BENCH_PLOT_H
#define SP_TOOLS_BENCH_PLOT_H

#include "report.h"

/*
 * Draws the report into one SVG file at path, in two panels. The top
 * panel shows the speedup of every system against its own 1-worker time,
 * per workload and worker count. The bottom one shows reference time /
 * stealpool time, on a log scale, for every pair of a stealpool row and a
 * reference row of the same workload with the same worker count or a
 * single-threaded reference. Runs the gnuplot
 * program found in PATH on a script and data files in a temporary
 * directory, which it removes. Blocks until gnuplot exits. Returns 0, or a
 * positive errno value after printing the reason on stderr (ENOENT when
 * gnuplot is not installed, EIO when it failed).
 */
int sb_plot(const sb_report *report, const char *path);

#endif
