/*
 * Memory of a group is bounded by its limit, not by the number of items:
 * ten times more items through a group with limit 20 leaves the peak
 * resident set size (VmHWM) almost where it was.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <stealpool.h>

#include "check.h"

#define KIB_PER_MIB 1024L

/*
 * AddressSanitizer keeps freed blocks in a quarantine of 256 MiB by default,
 * so every freed task record would add to the resident set until the
 * quarantine fills. A small quarantine keeps the measurement about the
 * group; use-after-free detection still covers the most recent 8 MiB.
 */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=8:thread_local_quarantine_size_kb=256";
}
#endif

/* Returns a line of /proc/self/status such as "VmHWM:" in KiB, or -1. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long value = -1;
    size_t length = strlen(field);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, length) == 0 && sscanf(line + length, "%ld", &value) == 1)
            break;
    }
    fclose(f);
    return value;
}

/* Per-thread sums, so that no per-item memory exists outside the group. */
typedef struct checksum_slot {
    _Alignas(64) _Atomic uint64_t sum;
} checksum_slot;

static checksum_slot slots[64];

static int fold_item(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    uint64_t item = (uint64_t)(uintptr_t)arg;
    int index = sp_worker_index();
    /* relaxed: the group's wait orders every task before the sums are read */
    atomic_fetch_add_explicit(&slots[(unsigned)(index + 1) % 64].sum, item * 2654435761u,
                              memory_order_relaxed);
    return 0;
}

static uint64_t slots_take(void)
{
    uint64_t total = 0;
    for (int i = 0; i < 64; i++)
        total += atomic_exchange_explicit(&slots[i].sum, 0, memory_order_relaxed);
    return total;
}

/* Pushes items 0 .. count-1 through a group with limit 20. */
static void run_items(sp_pool *pool, long count)
{
    sp_group *g = NULL;
    CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
    CHECK_EQ(sp_group_set_limit(g, 20), 0);

    long failed = 0;
    for (long i = 0; i < count; i++)
        if (sp_group_go(g, fold_item, (void *)(uintptr_t)i) != 0)
            failed++;
    CHECK_EQ(sp_group_wait(g), 0);
    CHECK_EQ(failed, 0);

    uint64_t expected = 0;
    for (long i = 0; i < count; i++)
        expected += (uint64_t)i * 2654435761u;
    CHECK_EQ(slots_take(), expected);

    sp_group_destroy(g);
}

static void group_memory_flat_over_items(void)
{
    long small = 1000000 / sp_test_scale();
    long large = small * 10;

    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 2;
    cfg.pin = SP_PIN_NONE;
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);

    run_items(pool, small);
    long peak_small = status_kib("VmHWM:");
    run_items(pool, large);
    long peak_large = status_kib("VmHWM:");

    fprintf(stderr, "VmHWM after %ld items: %ld KiB; after %ld more: %ld KiB\n", small,
            peak_small, large, peak_large);
    CHECK_GT(peak_small, 0);
    CHECK_LT(peak_large - peak_small, 32 * KIB_PER_MIB);

    sp_pool_destroy(pool);
}

int main(void)
{
    RUN_TEST(group_memory_flat_over_items);
    return check_exit_code();
}
