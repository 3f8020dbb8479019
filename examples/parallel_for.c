/*
 * A data-parallel loop: sp_parallel_for splits the index range among the
 * pool's workers on demand, so items of uneven cost balance themselves and
 * no task is created per item. Each chunk sums into a local variable and
 * adds it to the total once.
 *
 * Usage: parallel_for [items], or --help for the range (default 1000000 items)
 *
 * Exit status: 0 on success, 1 when sp_parallel_for returns an error, 2
 * for invalid usage.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stealpool.h>

#include "example_cli.h"
#include "example_work.h"

#define MAX_ITEMS 1000000000L /* upper bound on counts: 1e9 items take about 2 CPU minutes */

static const example_cli cli = {
    .program = "parallel_for",
    .summary = "Processes items with sp_parallel_for, which splits the index range among\n"
               "the default pool's workers.\n",
    .exit_failure = "sp_parallel_for returns an error",
    .arg_count = 1,
    .args = {{"items", "number of items to process", MAX_ITEMS, 1000000, false}},
};

static void process_range(size_t lo, size_t hi, void *arg)
{
    _Atomic uint64_t *checksum = arg;
    uint64_t sum = 0;
    for (size_t i = lo; i < hi; i++)
        sum += example_process(i);

    /* relaxed: sp_parallel_for returns after every range is done */
    atomic_fetch_add_explicit(checksum, sum, memory_order_relaxed);
}

int main(int argc, char **argv)
{
    long values[EXAMPLE_MAX_ARGS];
    example_parse_args(&cli, argc, argv, values);
    size_t items = (size_t)values[0];
    _Atomic uint64_t checksum = 0;

    /* NULL pool: the default pool; grain 0: chosen by the library. */
    int rc = sp_parallel_for(NULL, 0, items, 0, process_range, &checksum);
    if (rc != 0) {
        fprintf(stderr, "parallel_for: %s\n", strerror(rc));
        return 1;
    }
    printf("processed %zu items, checksum %016llx\n", items,
           (unsigned long long)atomic_load_explicit(&checksum, memory_order_relaxed));
    return 0;
}
