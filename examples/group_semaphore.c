/*
 * Bounded concurrency with a semaphore in front of an error group, the
 * errgroup + semaphore.Weighted idiom from Go: the producer acquires a unit
 * before it starts an item, and the item releases it when done. Unlike a
 * group limit, the semaphore can be shared by several groups or weighted
 * by item size.
 *
 * Usage: group_semaphore [items], or --help for the range (default 100000 items)
 *
 * Exit status: 0 on success, 1 when setup fails or an item fails, 2 for
 * invalid usage.
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
    .program = "group_semaphore",
    .summary = "Processes items through an error group. A semaphore of 20 units bounds the\n"
               "items in flight, and each item releases its unit when done.\n",
    .exit_failure = "setup fails or an item fails",
    .arg_count = 1,
    .args = {{"items", "number of items to process", MAX_ITEMS, 100000, false}},
};

static sp_sem *in_flight;
static _Atomic uint64_t checksum;

static int process_item(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    /* relaxed: sp_group_wait orders every task before the sum is read */
    atomic_fetch_add_explicit(&checksum, example_process((uint64_t)(uintptr_t)arg),
                              memory_order_relaxed);
    return sp_sem_release(in_flight, 1);
}

int main(int argc, char **argv)
{
    long values[EXAMPLE_MAX_ARGS];
    example_parse_args(&cli, argc, argv, values);
    long items = values[0];

    sp_group *group;
    int rc = sp_sem_create(&in_flight, 20);
    if (rc == 0)
        rc = sp_group_create(&group, NULL, NULL);
    if (rc != 0) {
        fprintf(stderr, "group_semaphore: setup failed: %s\n", strerror(rc));
        return 1;
    }

    for (long i = 0; i < items && rc == 0; i++) {
        /* The group's context ends when an item fails: stop producing. */
        rc = sp_sem_acquire(in_flight, 1, sp_group_ctx(group));
        if (rc != 0)
            break;
        rc = sp_group_go(group, process_item, (void *)(intptr_t)i);
        if (rc != 0)
            sp_sem_release(in_flight, 1);
    }

    int wait_rc = sp_group_wait(group);
    sp_group_destroy(group);
    sp_sem_destroy(in_flight);
    if (rc == 0)
        rc = wait_rc;
    if (rc != 0) {
        fprintf(stderr, "group_semaphore: processing failed: %s\n", strerror(rc));
        return 1;
    }
    printf("processed %ld items, checksum %016llx\n", items,
           (unsigned long long)atomic_load_explicit(&checksum, memory_order_relaxed));
    return 0;
}
