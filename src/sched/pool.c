/* Pool lifetime, task submission, the injection queue and the default pool. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stealpool/ctx.h>

#include "config.h"
#include "log.h"
#include "platform/barrier.h"
#include "platform/futex.h"
#include "sched/blocking.h"
#include "sched/pool_internal.h"

/* A task submitted with sp_submit: heap record freed before fn runs. */
typedef struct submitted_task {
    sp_task task;
    void (*fn)(void *);
    void   *arg;
} submitted_task;

/* A task of sp_pool_run: lives on the waiting caller's stack. */
typedef struct run_task {
    sp_task task;
    void (*fn)(void *);
    void            *arg;
    _Atomic uint32_t done;
} run_task;

void sp__task_finished(sp_pool *pool)
{
    /* acq_rel: the destroyer that reads 0 must see everything the tasks did */
    if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) != 1)
        return;
    /* seq_cst: pairs with the store of closing in sp_pool_destroy */
    if (atomic_load_explicit(&pool->closing, memory_order_seq_cst))
        sp__futex_wake(&pool->pending, INT_MAX);
}

static void submitted_execute(sp_task *task, sp_worker *w)
{
    submitted_task *st = (submitted_task *)task;
    void (*fn)(void *) = st->fn;
    void *arg = st->arg;
    sp__free(st, sizeof *st, alignof(submitted_task));

    fn(arg);

    SP_COUNT(w, tasks_run);
    sp__task_finished(w->pool);
}

static void run_execute(sp_task *task, sp_worker *w)
{
    run_task *rt = (run_task *)task;
    rt->fn(rt->arg);

    SP_COUNT(w, tasks_run);
    sp__task_finished(w->pool);

    /* release: pairs with the acquire load in sp_pool_run; the record may
     * vanish as soon as the caller sees it */
    atomic_store_explicit(&rt->done, 1, memory_order_release);
    sp__futex_wake(&rt->done, 1);
}

void sp__inject(sp_pool *pool, sp_task *task)
{
    task->next = NULL;

    pthread_mutex_lock(&pool->inject_lock);
    if (pool->inject_tail != NULL)
        pool->inject_tail->next = task;
    else
        pool->inject_head = task;
    pool->inject_tail = task;
    /* relaxed: a hint for workers; the lock orders the list itself */
    atomic_fetch_add_explicit(&pool->inject_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&pool->inject_lock);

    sp__pool_notify(pool);
}

sp_task *sp__inject_take(sp_pool *pool)
{
    /* relaxed: a hint; the list is read under the lock */
    if (atomic_load_explicit(&pool->inject_count, memory_order_relaxed) == 0)
        return NULL;

    pthread_mutex_lock(&pool->inject_lock);
    sp_task *task = pool->inject_head;
    if (task != NULL) {
        pool->inject_head = task->next;
        if (pool->inject_head == NULL)
            pool->inject_tail = NULL;
        atomic_fetch_sub_explicit(&pool->inject_count, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&pool->inject_lock);
    return task;
}

/* Accounts for one more accepted task. Outside the pool this fails with
 * EPIPE once destroy has begun; the increment comes first so that destroy
 * either sees it or the submitter sees closing. */
static int accept_task(sp_pool *pool, bool from_own_worker)
{
    /* seq_cst: pairs with the store of closing and load of pending in
     * sp_pool_destroy */
    atomic_fetch_add_explicit(&pool->pending, 1, memory_order_seq_cst);
    if (from_own_worker)
        return 0;
    if (!atomic_load_explicit(&pool->closing, memory_order_seq_cst))
        return 0;

    sp__task_finished(pool);
    return EPIPE;
}

int sp_submit(sp_pool *pool, void (*fn)(void *), void *arg)
{
    if (pool == NULL || fn == NULL) {
        sp__log("sp_submit: %s is NULL", pool == NULL ? "pool" : "fn");
        return EINVAL;
    }

    sp_worker *w = sp__current_worker;
    bool own = w != NULL && w->pool == pool;
    int rc = accept_task(pool, own);
    if (rc != 0)
        return rc;

    submitted_task *st = sp__alloc(sizeof *st, alignof(submitted_task));
    if (st == NULL) {
        sp__task_finished(pool);
        return ENOMEM;
    }
    st->task.execute = submitted_execute;
    st->fn = fn;
    st->arg = arg;

    if (own) {
        if (sp__deque_push(&w->tasks, &st->task) < 0) {
            sp__free(st, sizeof *st, alignof(submitted_task));
            sp__task_finished(pool);
            return ENOMEM;
        }
        SP_COUNT(w, spawned);
        sp__pool_notify(pool);
        return 0;
    }

    sp__inject(pool, &st->task);
    return 0;
}

int sp_pool_run(sp_pool *pool, void (*fn)(void *), void *arg)
{
    if (pool == NULL || fn == NULL) {
        sp__log("sp_pool_run: %s is NULL", pool == NULL ? "pool" : "fn");
        return EINVAL;
    }

    sp_worker *w = sp__current_worker;
    if (w != NULL && w->pool == pool) {
        fn(arg);
        return 0;
    }

    int rc = accept_task(pool, false);
    if (rc != 0)
        return rc;

    run_task rt = {.task.execute = run_execute, .fn = fn, .arg = arg};
    atomic_init(&rt.done, 0);
    sp__inject(pool, &rt.task);

    sp__block_begin();
    /* acquire: pairs with the release store in run_execute */
    while (atomic_load_explicit(&rt.done, memory_order_acquire) == 0)
        sp__futex_wait(&rt.done, 0, INT64_MAX);
    sp__block_end();
    return 0;
}

static void worker_free(sp_worker *w)
{
    sp__deque_destroy(&w->jobs);
    sp__deque_destroy(&w->tasks);
    sp__free(w, sizeof *w, SP_CACHE_LINE);
}

/* Creates slot index and starts its thread. Spares are called under
 * spare_lock; the initial workers before any thread can read the slots. */
int sp__worker_start(sp_pool *pool, unsigned index, bool spare)
{
    sp_worker *w = sp__alloc(sizeof *w, SP_CACHE_LINE);
    if (w == NULL)
        return ENOMEM;
    if (sp__deque_init(&w->jobs, pool->deque_capacity) != 0) {
        sp__free(w, sizeof *w, SP_CACHE_LINE);
        return ENOMEM;
    }
    if (sp__deque_init(&w->tasks, pool->deque_capacity) != 0) {
        sp__deque_destroy(&w->jobs);
        sp__free(w, sizeof *w, SP_CACHE_LINE);
        return ENOMEM;
    }

    w->pool = pool;
    w->index = index;
    w->spare = spare;
    w->cpu = spare ? -1 : pool->cpus[index];
    w->rng = 0x9E3779B97F4A7C15ULL * (index + 1);

    pool->slots[index] = w;
    /* release: publishes the slot to the acquire loads of nslots */
    atomic_store_explicit(&pool->nslots, index + 1, memory_order_release);

    int rc = pthread_create(&w->thread, NULL, sp__worker_main, w);
    if (rc != 0) {
        atomic_store_explicit(&pool->nslots, index, memory_order_release);
        pool->slots[index] = NULL;
        worker_free(w);
        return rc;
    }
    return 0;
}

static void pool_free(sp_pool *pool)
{
    /* relaxed: every worker thread has been joined */
    unsigned count = atomic_load_explicit(&pool->nslots, memory_order_relaxed);
    for (unsigned i = 0; i < count; i++)
        worker_free(pool->slots[i]);

    sp__free(pool->slots, (pool->workers + SP_SPARE_MAX) * sizeof *pool->slots,
             alignof(sp_worker *));
    sp__free(pool->cpus, SP_WORKERS_MAX * sizeof *pool->cpus, alignof(int));
    pthread_mutex_destroy(&pool->inject_lock);
    pthread_mutex_destroy(&pool->spare_lock);
    sp__free(pool, sizeof *pool, SP_CACHE_LINE);
}

/* Stops and joins every thread; the pool must have no pending tasks. */
static void pool_stop(sp_pool *pool)
{
    /* release: pairs with the acquire loads in is_stopping */
    atomic_store_explicit(&pool->stopping, true, memory_order_release);
    sp__pool_wake_all(pool);

    pthread_mutex_lock(&pool->spare_lock);
    /* relaxed: no spare can start once stopping is set, under this lock */
    unsigned count = atomic_load_explicit(&pool->nslots, memory_order_relaxed);
    pthread_mutex_unlock(&pool->spare_lock);

    for (unsigned i = 0; i < count; i++)
        pthread_join(pool->slots[i]->thread, NULL);
}

int sp_pool_create(sp_pool **out, const sp_config *cfg)
{
    if (out == NULL) {
        sp__log("sp_pool_create: out is NULL");
        return EINVAL;
    }

    sp_config env_cfg;
    if (cfg == NULL) {
        sp_config_init(&env_cfg);
        sp__config_apply_env(&env_cfg, true);
        cfg = &env_cfg;
    }

    size_t cpus_size = SP_WORKERS_MAX * sizeof(int);
    int *cpus = sp__alloc(cpus_size, alignof(int));
    if (cpus == NULL)
        return ENOMEM;
    sp_plan plan;
    int rc = sp__config_resolve_plan("sp_pool_create", cfg, &plan, cpus);
    unsigned workers = plan.workers;
    if (rc != 0) {
        sp__free(cpus, cpus_size, alignof(int));
        return rc;
    }

    sp_pool *pool = sp__alloc(sizeof *pool, SP_CACHE_LINE);
    size_t slots_size = (workers + SP_SPARE_MAX) * sizeof(sp_worker *);
    sp_worker **slots = sp__alloc(slots_size, alignof(sp_worker *));
    if (pool == NULL || slots == NULL) {
        sp__free(cpus, cpus_size, alignof(int));
        sp__free(slots, slots_size, alignof(sp_worker *));
        sp__free(pool, sizeof *pool, SP_CACHE_LINE);
        return ENOMEM;
    }

    pool->workers = workers;
    pool->spin_us = cfg->spin_us;
    pool->max_searching = workers / 2 > 0 ? workers / 2 : 1;
    pool->deque_capacity = cfg->deque_capacity;
    pool->print_stats = cfg->print_stats;
    pool->workers_source = plan.workers_source;
    pool->cpus = cpus;
    pool->slots = slots;
    pthread_mutex_init(&pool->inject_lock, NULL);
    pthread_mutex_init(&pool->spare_lock, NULL);
    atomic_init(&pool->active, (int)workers);

    for (unsigned i = 0; i < workers; i++) {
        rc = sp__worker_start(pool, i, false);
        if (rc != 0) {
            sp__log("sp_pool_create: starting worker %u of %u failed (error %d)", i, workers,
                    rc);
            pool_stop(pool);
            pool_free(pool);
            return rc == ENOMEM ? ENOMEM : EAGAIN;
        }
    }

    *out = pool;
    return 0;
}

/* The default pool: created on first use under default_lock, retried on
 * the next call when creation fails. */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(sp_pool *) default_pool;

/* The default pool is never destroyed, so SP_STATS=1 logs its table when
 * the process exits instead. */
static void default_pool_print_stats(void)
{
    /* acquire: pairs with the release store in sp_default_pool */
    sp_pool *pool = atomic_load_explicit(&default_pool, memory_order_acquire);
    if (pool != NULL)
        sp__pool_print_stats(pool);
}

sp_pool *sp_default_pool(void)
{
    /* acquire: pairs with the release store below, publishing the pool */
    sp_pool *pool = atomic_load_explicit(&default_pool, memory_order_acquire);
    if (pool != NULL)
        return pool;

    pthread_mutex_lock(&default_lock);
    /* relaxed: under the lock that every store holds */
    pool = atomic_load_explicit(&default_pool, memory_order_relaxed);
    if (pool == NULL) {
        int rc = sp_pool_create(&pool, NULL);
        if (rc == 0) {
            atomic_store_explicit(&default_pool, pool, memory_order_release);
            /* Once per process: a child of fork() inherits the handler,
             * which then logs the child's own default pool. */
            static bool stats_at_exit;
            if (pool->print_stats && !stats_at_exit)
                stats_at_exit = atexit(default_pool_print_stats) == 0;
        } else
            sp__log("the default pool could not be created (error %d); the next call retries",
                    rc);
    }
    pthread_mutex_unlock(&default_lock);
    return pool;
}

/*
 * fork() child: only the forking thread exists in the child, so no pool of
 * the parent has workers there. The child forgets the default pool, so that
 * sp_default_pool() creates a fresh one on first use; the old pool's memory
 * is leaked on purpose, because its locks and queues may be in any state.
 * The lock is initialised again, because another parent thread may have
 * held it at the moment of the fork. If the forking thread was a worker, it
 * is an ordinary thread in the child.
 */
static void pool_atfork_child(void)
{
    pthread_mutex_init(&default_lock, NULL);
    atomic_store_explicit(&default_pool, NULL, memory_order_relaxed);
    sp__current_worker = NULL;
}

__attribute__((constructor)) static void pool_register_atfork(void)
{
    pthread_atfork(NULL, NULL, pool_atfork_child);
}

int sp_pool_destroy(sp_pool *pool)
{
    if (pool == NULL) {
        sp__log("sp_pool_destroy: pool is NULL");
        return EINVAL;
    }
    /* relaxed: comparing the pointer needs no ordering */
    if (pool == atomic_load_explicit(&default_pool, memory_order_relaxed)) {
        sp__log("sp_pool_destroy: the default pool lives until the process exits");
        return EINVAL;
    }
    sp_worker *w = sp__current_worker;
    if (w != NULL && w->pool == pool) {
        sp__log("sp_pool_destroy: called from a worker of the same pool");
        return EBUSY;
    }

    /* Drain: no new outside tasks, wait for every accepted one. */
    /* seq_cst: pairs with the increment of pending in accept_task */
    atomic_store_explicit(&pool->closing, true, memory_order_seq_cst);
    for (;;) {
        uint32_t pending = atomic_load_explicit(&pool->pending, memory_order_seq_cst);
        if (pending == 0)
            break;
        sp__futex_wait(&pool->pending, pending, INT64_MAX);
    }

    pool_stop(pool);
    if (pool->print_stats)
        sp__pool_print_stats(pool);
    pool_free(pool);
    return 0;
}

unsigned sp_pool_workers(const sp_pool *pool)
{
    return pool == NULL ? 0 : pool->workers;
}

int sp_worker_index(void)
{
    sp_worker *w = sp__current_worker;
    return w == NULL ? -1 : (int)w->index;
}

const char *sp_version(void)
{
    return SP_VERSION_STRING;
}

static char build_info[160];
static pthread_once_t build_info_once = PTHREAD_ONCE_INIT;

static void build_info_format(void)
{
    const char *sanitizer = SP_SANITIZE_STRING[0] != '\0' ? SP_SANITIZE_STRING : "none";
    snprintf(build_info, sizeof build_info,
             "version=%s allocator=%s sanitizer=%s steal_barrier=%s", SP_VERSION_STRING,
             sp__allocator_name(), sanitizer,
             sp__heavy_barrier_available ? "membarrier" : "fence");
}

const char *sp_build_info(void)
{
    pthread_once(&build_info_once, build_info_format);
    return build_info;
}
