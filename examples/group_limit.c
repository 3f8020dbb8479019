/*
 * Bounded concurrency with an error group: at most 20 items are in flight
 * at once, however many there are, and the first item that fails cancels
 * the rest.
 *
 * Usage: group_limit [items [fail_at]], or --help for the ranges
 *   items    number of items to process (default 100000)
 *   fail_at  index of an item that fails with EIO (default: none)
 *
 * Exit status: 0 on success, 1 when setup or an item fails, 2 for invalid
 * usage.
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
    .program = "group_limit",
    .summary = "Processes items through an error group with at most 20 in flight at once.\n"
               "The first item that fails cancels the rest.\n",
    .exit_failure = "setup fails or an item fails",
    .arg_count = 2,
    .args = {
        {"items", "number of items to process", MAX_ITEMS, 100000, false},
        {"fail_at", "index of an item that fails with EIO", MAX_ITEMS, -1, true},
    },
};

typedef struct job {
    long             fail_at;
    _Atomic long     failed_item; /* index of the first failed item, or -1 */
    _Atomic uint64_t checksum;
} job;

static job the_job;

static int process_item(sp_ctx *ctx, void *arg)
{
    long item = (long)(intptr_t)arg;

    /* A long item would check the context between steps; a short one may
     * check once, so canceled items are skipped quickly. */
    if (sp_ctx_err(ctx) != 0)
        return ECANCELED;
    if (item == the_job.fail_at) {
        /* relaxed: sp_group_wait orders every task before the index is read */
        long none = -1;
        atomic_compare_exchange_strong_explicit(&the_job.failed_item, &none, item,
                                                memory_order_relaxed, memory_order_relaxed);
        return EIO;
    }

    /* relaxed: sp_group_wait orders every task before the sum is read */
    atomic_fetch_add_explicit(&the_job.checksum, example_process((uint64_t)item),
                              memory_order_relaxed);
    return 0;
}

int main(int argc, char **argv)
{
    long values[EXAMPLE_MAX_ARGS];
    example_parse_args(&cli, argc, argv, values);
    long items = values[0];
    the_job.fail_at = values[1];
    atomic_init(&the_job.failed_item, -1);

    sp_group *group;
    int rc = sp_group_create(&group, NULL, NULL); /* default pool, no parent */
    if (rc != 0) {
        fprintf(stderr, "group_limit: creating the group failed: %s\n", strerror(rc));
        return 1;
    }
    sp_group_set_limit(group, 20);

    /* go blocks while 20 items are in flight, so memory stays flat. It
     * returns ECANCELED once an item has failed. */
    for (long i = 0; i < items; i++) {
        if (sp_group_go(group, process_item, (void *)(intptr_t)i) != 0)
            break;
    }

    rc = sp_group_wait(group);
    sp_group_destroy(group);
    /* relaxed: read after sp_group_wait, which orders every task before it */
    long failed_item = atomic_load_explicit(&the_job.failed_item, memory_order_relaxed);
    if (rc != 0) {
        if (failed_item >= 0)
            fprintf(stderr, "group_limit: item %ld failed: %s\n", failed_item, strerror(rc));
        else
            fprintf(stderr, "group_limit: processing failed: %s\n", strerror(rc));
        return 1;
    }
    printf("processed %ld items, checksum %016llx\n", items,
           (unsigned long long)atomic_load_explicit(&the_job.checksum, memory_order_relaxed));
    return 0;
}
