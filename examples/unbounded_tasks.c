/*
 * One task per item with no limit: the simplest fan-out, right when the
 * number of items is known and modest. Every queued task costs a small
 * heap record until it runs, so for large or unbounded inputs prefer a
 * limit (group_limit.c) or a worker pool (worker_pool_chan.c).
 *
 * Usage: unbounded_tasks [items]   (default 10000)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stealpool.h>

#define PROGRAM   "unbounded_tasks"
#define USAGE     "usage: unbounded_tasks [items]\n"
#define MAX_ITEMS 1000000000L /* upper bound on counts: 1e9 items take about 2 CPU minutes */

static _Atomic uint64_t checksum;

/* A stand-in for real per-item work: 20 to 200 mixing steps. */
static uint64_t process(uint64_t item)
{
    uint64_t x = item * 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < 20 + item % 181; i++)
        x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
    return x;
}

static int process_item(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    /* relaxed: sp_group_wait orders every task before the sum is read */
    atomic_fetch_add_explicit(&checksum, process((uint64_t)(uintptr_t)arg),
                              memory_order_relaxed);
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
    if (argc > 2) {
        fprintf(stderr, "%s: too many arguments\n%s", PROGRAM, USAGE);
        return 2;
    }

    long items = argc > 1 ? parse_count(argv[1], "items", MAX_ITEMS) : 10000;

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
