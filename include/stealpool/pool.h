/*
 * stealpool work-stealing pool: creation, task submission, fork-join and
 * parallel loops.
 *
 * Every function returns 0 or a positive errno value unless stated
 * otherwise. Invalid arguments are rejected with EINVAL and one log line
 * (see sp_set_log); nothing here aborts on bad input.
 *
 * fork(). The child of a process that has pools contains only the thread
 * that called fork, so the parent's pools have no workers there. The child
 * may call exec or _exit, and may use the library afresh: sp_default_pool()
 * creates a new default pool in the child (the parent's one is forgotten
 * and its memory leaked there), and sp_pool_create works as usual. Pools
 * created by the parent must not be used or destroyed in the child; calls
 * on them may block forever. The parent's pools keep working in the parent.
 */
#ifndef STEALPOOL_POOL_H
#define STEALPOOL_POOL_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_pool sp_pool;

/* Worker placement on CPUs. */
typedef enum {
    SP_PIN_NONE,  /* the kernel places workers */
    SP_PIN_CORES, /* worker i on the i-th CPU of the affinity mask, wrapping */
    SP_PIN_LIST   /* worker i on the i-th CPU of cpu_list, wrapping */
} sp_pin_mode;

/* Pool settings. Start from sp_config_init, then override fields. */
typedef struct sp_config {
    unsigned    workers;        /* 0: one per usable CPU (affinity mask, then cgroup cpu.max) */
    sp_pin_mode pin;            /* default SP_PIN_CORES */
    const char *cpu_list;       /* "0-3,8" for SP_PIN_LIST; borrowed until sp_pool_create returns */
    unsigned    spin_us;        /* idle search time before parking, in microseconds */
    unsigned    deque_capacity; /* initial slots per worker deque, power of two, 16 .. 2^24 */
    bool        print_stats;    /* log the per-worker table on destroy */
} sp_config;

/* Log hook: receives one line without a trailing newline. */
typedef void (*sp_log_fn)(void *user, const char *line);

/*
 * Replaces the log hook; NULL restores the default, which writes the line to
 * stderr prefixed with "stealpool: ". Thread-safe; never blocks on the hook.
 */
void sp_set_log(sp_log_fn fn, void *user);

/* Fills cfg with the defaults (no environment). Never fails. */
void sp_config_init(sp_config *cfg);

/*
 * Overrides the fields of cfg named by the SP_* environment variables.
 * Returns EINVAL for NULL or for an invalid value, after logging one line
 * that names the variable, the value and the accepted range. Valid variables
 * are still applied, and the field of an invalid one keeps its previous
 * value. The cpu_list pointer it stores points into the environment.
 */
int sp_config_from_env(sp_config *cfg);

/* One SP_* environment variable, as sp_config_env_entries reports it. */
typedef struct sp_env_entry {
    const char *name;          /* "SP_WORKERS", ... */
    const char *value;         /* the environment's text; NULL when unset */
    bool        valid;         /* false when set to an invalid value */
    const char *default_value; /* the value used when unset or invalid */
    const char *accepted;      /* the accepted values, in words */
    const char *description;   /* what the variable sets, and its unit */
} sp_env_entry;

/*
 * Describes every SP_* variable as the environment sets it now, without
 * logging. Fills up to n entries of out (may be NULL) and returns the number
 * of variables. Strings are static or point into the environment.
 */
unsigned sp_config_env_entries(sp_env_entry *out, unsigned n);

/* Where the worker count of a configuration comes from. */
typedef struct sp_plan {
    unsigned    workers;         /* the number of workers a pool would start */
    /* "SP_WORKERS or sp_config.workers", "affinity mask" or "cgroup cpu.max quota" */
    const char *workers_source;
    unsigned    affinity_cpus;   /* CPUs in the process affinity mask */
    unsigned    quota_cpus;      /* ceil(quota / period) of the tightest cpu.max; 0: none */
    char        quota_path[256]; /* the cgroup directory whose cpu.max set quota_cpus */
} sp_plan;

/*
 * Resolves cfg into the plan a pool would get. cfg NULL means the defaults
 * plus the environment, with invalid variables replaced by their defaults
 * and not logged. Writes the CPU of each of the first n workers to cpus
 * (-1: not pinned), unless cpus is NULL. Returns 0, or EINVAL for an
 * invalid cfg field (logged) or a NULL plan.
 */
int sp_config_plan(const sp_config *cfg, sp_plan *plan, int *cpus, unsigned n);

/*
 * Returns how the library was built, as "key=value" words separated by
 * spaces: version, allocator (jemalloc or libc), sanitizer, and whether
 * steals use membarrier. Static string.
 */
const char *sp_build_info(void);

/*
 * Creates a pool and starts its workers. cfg NULL means the defaults plus
 * the environment, where an invalid variable is logged and replaced by its
 * default. Returns EINVAL for a bad field (named in the log), ENOMEM, or
 * EAGAIN when a worker thread cannot be started. *out is set only on success.
 */
int sp_pool_create(sp_pool **out, const sp_config *cfg);

/*
 * Stops accepting tasks from outside the pool, runs every accepted task (and
 * the tasks and joins they start), then joins the workers and frees the
 * pool. Blocks. Returns EBUSY, changing nothing, when called from one of the
 * pool's own workers; EINVAL for NULL or for the default pool.
 */
int sp_pool_destroy(sp_pool *pool);

/* Number of workers the pool was created with; 0 for NULL. */
unsigned sp_pool_workers(const sp_pool *pool);

/*
 * Queues fn(arg) to run once on the pool. Never blocks; any thread. From a
 * worker of this pool the task goes to that worker's local queue, otherwise
 * to the pool's injection queue. Returns EINVAL for NULL pool or fn, ENOMEM,
 * or EPIPE once sp_pool_destroy has begun (tasks submitted by the pool's own
 * workers are still accepted while it drains).
 */
int sp_submit(sp_pool *pool, void (*fn)(void *), void *arg);

/*
 * Runs fn(arg) on the pool and waits for it to return. Blocks. From a worker
 * of the same pool it calls fn directly; from a worker of another pool that
 * worker is replaced while it waits. Returns EINVAL, ENOMEM or EPIPE as
 * sp_submit does.
 */
int sp_pool_run(sp_pool *pool, void (*fn)(void *), void *arg);

/*
 * Runs fa(a) and fb(b), possibly in parallel, and returns when both are done.
 * Inside a worker it costs one deque push and pop when fb is not stolen, and
 * allocates nothing. While fb is stolen the caller helps only with work that
 * descends from fb. Outside a worker it runs through sp_default_pool() and
 * blocks; if that pool cannot be created both calls run on the caller.
 */
void sp_join(void (*fa)(void *), void *a, void (*fb)(void *), void *b);

/*
 * Calls body(lo, hi, arg) over disjoint ranges that cover [begin, end)
 * exactly once, splitting on demand when other workers are idle and never
 * into ranges shorter than grain (0: automatic). Blocks until every range is
 * done. Any thread; pool NULL means sp_default_pool(). An empty range returns
 * 0 at once. Returns EINVAL for begin > end or a NULL body.
 */
int sp_parallel_for(sp_pool *pool, size_t begin, size_t end, size_t grain,
                    void (*body)(size_t lo, size_t hi, void *arg), void *arg);

/*
 * Returns the process-wide pool, created on first use from the environment.
 * Thread-safe. Returns NULL only when creation failed (logged). The pool
 * lives until the process exits.
 */
sp_pool *sp_default_pool(void);

/*
 * Returns the calling worker's index in its pool, or -1 outside a worker.
 * Workers have indexes 0 .. sp_pool_workers() - 1. A spare thread that
 * stands in for a worker blocked in the library has an index from
 * sp_pool_workers() up to sp_pool_workers() + 255, so arrays indexed by
 * worker need that many entries when tasks block.
 */
int sp_worker_index(void);

/* Returns the library version as "major.minor.patch". */
const char *sp_version(void);

#ifdef __cplusplus
}
#endif

/* In C, calls of sp_join go through its inline fast path. Define
 * SP_NO_INLINE_JOIN to call the library function instead; (sp_join)(...)
 * and &sp_join always name the function. */
#if !defined(__cplusplus) && !defined(SP_NO_INLINE_JOIN)
#include <stealpool/join_impl.h>
#define sp_join(fa, a, fb, b) sp__join_inline((fa), (a), (fb), (b))
#endif

#endif
