/*
 * A fixed set of long-lived workers fed through a bounded channel: the main
 * thread sends item numbers, WORKERS tasks receive until the channel is
 * closed and drained, and each adds its partial sum once at the end. The
 * channel's capacity bounds the items waiting; the worker count bounds
 * the items in flight.
 *
 * The workers run as group tasks on the pool. While one waits in
 * sp_chan_recv the pool runs a spare thread in its place, so WORKERS may
 * exceed the pool's worker count.
 *
 * Usage: worker_pool_chan [items], or --help for the range (default 100000 items)
 *
 * Exit status: 0 on success, 1 when setup fails or a worker fails, 2 for
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
    .program = "worker_pool_chan",
    .summary = "Sends items to 8 long-lived worker tasks through a channel that holds\n"
               "at most 64 waiting items.\n",
    .exit_failure = "setup fails or a worker fails",
    .arg_count = 1,
    .args = {{"items", "number of items to process", MAX_ITEMS, 100000, false}},
};

#define WORKERS 8

static sp_chan *items_chan;
static _Atomic uint64_t checksum;

static int worker(sp_ctx *ctx, void *arg)
{
    (void)arg;
    uint64_t sum = 0;
    long item;
    int rc;

    /* ctx ends when another worker fails, which stops this one too. */
    while ((rc = sp_chan_recv(items_chan, &item, ctx)) == 0)
        sum += example_process((uint64_t)item);

    /* relaxed: sp_group_wait orders every task before the sum is read */
    atomic_fetch_add_explicit(&checksum, sum, memory_order_relaxed);
    return rc == EPIPE ? 0 : rc; /* EPIPE: closed and drained, the normal end */
}

int main(int argc, char **argv)
{
    long values[EXAMPLE_MAX_ARGS];
    example_parse_args(&cli, argc, argv, values);
    long items = values[0];

    sp_group *group;
    int rc = sp_chan_create(&items_chan, sizeof(long), 64);
    if (rc == 0)
        rc = sp_group_create(&group, NULL, NULL);
    if (rc != 0) {
        fprintf(stderr, "worker_pool_chan: setup failed: %s\n", strerror(rc));
        return 1;
    }

    for (int w = 0; w < WORKERS && rc == 0; w++)
        rc = sp_group_go(group, worker, NULL);
    for (long i = 0; i < items && rc == 0; i++)
        rc = sp_chan_send(items_chan, &i, sp_group_ctx(group));
    sp_chan_close(items_chan);

    int wait_rc = sp_group_wait(group);
    sp_group_destroy(group);
    sp_chan_destroy(items_chan);
    if (rc == 0)
        rc = wait_rc;
    if (rc != 0) {
        fprintf(stderr, "worker_pool_chan: processing failed: %s\n", strerror(rc));
        return 1;
    }
    printf("processed %ld items, checksum %016llx\n", items,
           (unsigned long long)atomic_load_explicit(&checksum, memory_order_relaxed));
    return 0;
}
