/* sp_pool_stats and the SP_STATS=1 table. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sched/pool_internal.h"

static void read_counters(const sp_worker *w, sp_stats *out)
{
    /* relaxed: counters are statistics; a slightly stale value is fine */
#define SP_READ_FIELD(name) \
    out->name = atomic_load_explicit(&w->counters.name, memory_order_relaxed);
    SP_STATS_FIELDS(SP_READ_FIELD)
#undef SP_READ_FIELD
}

static void add_counters(sp_stats *sum, const sp_stats *part)
{
#define SP_ADD_FIELD(name) sum->name += part->name;
    SP_STATS_FIELDS(SP_ADD_FIELD)
#undef SP_ADD_FIELD
}

int sp_pool_stats(sp_pool *pool, sp_stats *total, sp_stats *per_worker, unsigned n)
{
    if (pool == NULL) {
        sp__log("sp_pool_stats: pool is NULL");
        return -EINVAL;
    }

    /* acquire: pairs with the release store in sp__worker_start */
    unsigned count = atomic_load_explicit(&pool->nslots, memory_order_acquire);
    if (total != NULL)
        memset(total, 0, sizeof *total);

    for (unsigned i = 0; i < count; i++) {
        sp_stats one;
        read_counters(pool->slots[i], &one);
        if (total != NULL)
            add_counters(total, &one);
        if (per_worker != NULL && i < n)
            per_worker[i] = one;
    }
    return (int)count;
}

/* Logs one line per thread and a total line. */
void sp__pool_print_stats(sp_pool *pool)
{
    char line[256];
    int len = snprintf(line, sizeof line, "%-8s", "worker");
#define SP_HEADER_FIELD(name) \
    len += snprintf(line + len, sizeof line - (size_t)len, " %14s", #name);
    SP_STATS_FIELDS(SP_HEADER_FIELD)
#undef SP_HEADER_FIELD
    sp__log("%s", line);

    sp_stats total;
    memset(&total, 0, sizeof total);
    unsigned count = atomic_load_explicit(&pool->nslots, memory_order_acquire);
    for (unsigned i = 0; i <= count; i++) {
        sp_stats one;
        if (i < count) {
            read_counters(pool->slots[i], &one);
            add_counters(&total, &one);
            len = snprintf(line, sizeof line, "%-8u", i);
        } else {
            one = total;
            len = snprintf(line, sizeof line, "%-8s", "total");
        }
#define SP_ROW_FIELD(name) \
        len += snprintf(line + len, sizeof line - (size_t)len, " %14" PRIu64, one.name);
        SP_STATS_FIELDS(SP_ROW_FIELD)
#undef SP_ROW_FIELD
        sp__log("%s", line);
    }
    sp__log("%u workers (source: %s), %u threads started (spares stand in for blocked "
            "workers)",
            pool->workers, pool->workers_source, count);
}
