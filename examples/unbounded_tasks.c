/*
 * One task per item with no limit: the simplest fan-out, right when the
 * number of items is known and modest. Every queued task costs a small
 * heap record until it runs, so for large or unbounded inputs prefer a
 * limit (group_limit.c) or a worker pool (worker_pool_chan.c).
 *
 * Usage: unbounded_tasks [items], or --help for the range (default 10000 items)
 *
 * Exit status: 0 on success, 1 when setup fails or a task cannot be
 * started, 2 for invalid usage.
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
    .program = "unbounded_tasks",
    .summary = "Starts one error-group task per item with no limit on the tasks queued.\n",
    .exit_failure = "setup fails or a task cannot be started",
    .arg_count = 1,
    .args = {{"items", "number of items to process", MAX_ITEMS, 10000, false}},
};

static _Atomic uint64_t checksum;

static int process_item(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    /* relaxed: sp_group_wait orders every task before the sum is read */
    atomic_fetch_add_explicit(&checksum, example_process((uint64_t)(uintptr_t)arg),
                              memory_order_relaxed);
    return 0;
}

int main(int argc, char **argv)
{
    long values[EXAMPLE_MAX_ARGS];
    example_parse_args(&cli, argc, argv, values);
    long items = values[0];

    sp_group *group;
    int rc = sp_group_create(&group, NULL, NULL); /* no limit by default */
    if (rc != 0) {
        fprintf(stderr, "unbounded_tasks: creating the group failed: %s\n", strerror(rc));
        return 1;
    }

    /* Without a limit, go never blocks. */
    for (long i = 0; i < items && rc == 0; i++)
        rc = sp_group_go(group, process_item, (void *)(intptr_t)i);

    int wait_rc = sp_group_wait(group);
    sp_group_destroy(group);
    if (rc == 0)
        rc = wait_rc;
    if (rc != 0) {
        fprintf(stderr, "unbounded_tasks: %s\n", strerror(rc));
        return 1;
    }
    printf("processed %ld items, checksum %016llx\n", items,
           (unsigned long long)atomic_load_explicit(&checksum, memory_order_relaxed));
    return 0;
}
