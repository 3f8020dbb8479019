/*
 * sp_parallel_for with lazy binary splitting (Tzannes, Caragea, Barua and
 * Vishkin, PPoPP 2010): a worker runs its range grain by grain and splits
 * the rest in two only when its own jobs deque is empty, that is when no
 * work of its own is left for idle workers to steal. Ranges are therefore
 * split about as often as they are stolen, not down to the grain.
 */
#include <errno.h>
#include <stdint.h>

#include "log.h"
#include "sched/pool_internal.h"

typedef struct pfor_args {
    void (*body)(size_t lo, size_t hi, void *arg);
    void  *arg;
    size_t grain;
} pfor_args;

typedef struct pfor_range {
    const pfor_args *args;
    size_t           lo;
    size_t           hi;
} pfor_range;

static void pfor_run(void *p)
{
    pfor_range range = *(pfor_range *)p;
    const pfor_args *args = range.args;
    sp_worker *w = sp__current_worker;

    while (range.hi - range.lo > args->grain) {
        if (!sp__deque_nonempty(&w->jobs)) {
            size_t mid = range.lo + (range.hi - range.lo) / 2;
            pfor_range left = {args, range.lo, mid};
            pfor_range right = {args, mid, range.hi};
            sp_join(pfor_run, &left, pfor_run, &right);
            return;
        }
        args->body(range.lo, range.lo + args->grain, args->arg);
        range.lo += args->grain;
    }

    if (range.lo < range.hi)
        args->body(range.lo, range.hi, args->arg);
}

int sp_parallel_for(sp_pool *pool, size_t begin, size_t end, size_t grain,
                    void (*body)(size_t lo, size_t hi, void *arg), void *arg)
{
    if (body == NULL) {
        sp__log("sp_parallel_for: body is NULL");
        return EINVAL;
    }
    if (begin > end) {
        sp__log("sp_parallel_for: begin %zu is after end %zu", begin, end);
        return EINVAL;
    }
    if (begin == end)
        return 0;

    if (pool == NULL) {
        pool = sp_default_pool();
        if (pool == NULL)
            return ENOMEM;
    }

    size_t count = end - begin;
    if (grain == 0) {
        /* About 32 chunks per worker: enough for balance, few enough that
         * per-chunk overhead stays small. */
        grain = count / ((size_t)pool->workers * 32);
        if (grain == 0)
            grain = 1;
    }

    pfor_args args = {body, arg, grain};
    pfor_range range = {&args, begin, end};

    sp_worker *w = sp__current_worker;
    if (w != NULL && w->pool == pool) {
        pfor_run(&range);
        return 0;
    }
    return sp_pool_run(pool, pfor_run, &range);
}
