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

#define PROGRAM   "group_limit"
#define USAGE     "usage: group_limit [items [fail_at]]\n"
#define MAX_ITEMS 1000000000L /* upper bound on counts: 1e9 items take about 2 CPU minutes */

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

/* Parses the whole of text as a decimal count in 0..max, or prints the usage
 * line and exits with status 2. A leading digit is required because strtol
 * would also accept blanks and a sign. */
static long parse_count(const char *text, const char *name, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || value > max) {
        fprintf(stderr, "%s: invalid %s '%s' (expected 0..%ld)\n%s", PROGRAM, name, text, max,
                USAGE);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "%s: too many arguments\n%s", PROGRAM, USAGE);
        return 2;
    }

    long items = argc > 1 ? parse_count(argv[1], "items", MAX_ITEMS) : 100000;
    the_job.fail_at = argc > 2 ? parse_count(argv[2], "fail_at", MAX_ITEMS) : -1;

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
