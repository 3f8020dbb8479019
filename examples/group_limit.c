/*
 * Bounded concurrency with an error group: at most 20 items are in flight
 * at once, however many there are, and the first item that fails cancels
 * the rest.
 *
 * Usage: group_limit [items [fail_at]]
 *   items    number of items to process (default 100000)
 *   fail_at  index of an item that fails with EIO (default none)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stealpool.h>

typedef struct job {
    long             fail_at;
    _Atomic uint64_t checksum;
} job;

/* A stand-in for real per-item work: 20 to 200 mixing steps. */
static uint64_t process(uint64_t item)
{
    uint64_t x = item * 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < 20 + item % 181; i++)
        x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
    return x;
}

static job the_job;

static int process_item(sp_ctx *ctx, void *arg)
{
    long item = (long)(intptr_t)arg;

    /* A long item would check the context between steps; a short one may
     * check once, so canceled items are skipped quickly. */
    if (sp_ctx_err(ctx) != 0)
        return ECANCELED;
    if (item == the_job.fail_at)
        return EIO;

    /* relaxed: sp_group_wait orders every task before the sum is read */
    atomic_fetch_add_explicit(&the_job.checksum, process((uint64_t)item), memory_order_relaxed);
    return 0;
}

int main(int argc, char **argv)
{
    long items = argc > 1 ? atol(argv[1]) : 100000;
    the_job.fail_at = argc > 2 ? atol(argv[2]) : -1;

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
    if (rc != 0) {
        fprintf(stderr, "group_limit: an item failed: %s\n", strerror(rc));
        return 1;
    }
    printf("processed %ld items, checksum %016llx\n", items,
           (unsigned long long)atomic_load_explicit(&the_job.checksum, memory_order_relaxed));
    return 0;
}
