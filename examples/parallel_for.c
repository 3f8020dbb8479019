/*
 * A data-parallel loop: sp_parallel_for splits the index range among the
 * pool's workers on demand, so items of uneven cost balance themselves and
 * no task is created per item. Each chunk sums into a local variable and
 * adds it to the total once.
 *
 * Usage: parallel_for [items]   (default 1000000)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stealpool.h>

#define PROGRAM   "parallel_for"
#define USAGE     "usage: parallel_for [items]\n"
#define MAX_ITEMS 1000000000L /* upper bound on counts: 1e9 items take about 2 CPU minutes */

/* A stand-in for real per-item work: 20 to 200 mixing steps. */
static uint64_t process(uint64_t item)
{
    uint64_t x = item * 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < 20 + item % 181; i++)
        x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
    return x;
}

static void process_range(size_t lo, size_t hi, void *arg)
{
    _Atomic uint64_t *checksum = arg;
    uint64_t sum = 0;
    for (size_t i = lo; i < hi; i++)
        sum += process(i);

    /* relaxed: sp_parallel_for returns after every range is done */
    atomic_fetch_add_explicit(checksum, sum, memory_order_relaxed);
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

    size_t items = argc > 1 ? (size_t)parse_count(argv[1], "items", MAX_ITEMS) : 1000000;
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
