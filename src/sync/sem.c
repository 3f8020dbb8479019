/*
 * Weighted FIFO semaphore.
 *
 * State word (sp_sem.state, 64 bits):
 *
 *     bits 63..1  available: units free and not handed to anyone,
 *                 0 .. capacity (capacity <= INT64_MAX fits in 63 bits)
 *     bit  0      QUEUED: the waiter queue is non-empty
 *
 * Legal moves:
 *   - fast acquire: while QUEUED is clear and available >= n, a CAS
 *     subtracts n. Because QUEUED lives in the same word, a CAS that read
 *     the word before a waiter queued fails, so the fast path never passes
 *     a queued waiter.
 *   - fast release: while QUEUED is clear and available + n <= capacity, a
 *     CAS adds n.
 *   - everything else happens under sp_sem.lock. QUEUED is set (fetch_or)
 *     and cleared only under the lock, together with the queue it reflects.
 *     While QUEUED is set no fast path writes the word, so the lock holder
 *     changes it with plain stores.
 *
 * Queue (under lock): a circular doubly linked FIFO of sem_waiter records,
 * reached through its head, whose prev is the tail. A thread in
 * sp_sem_acquire queues a record on its own stack; sp_sem_submit queues a
 * heap record. Admission walks from the head and hands units to each
 * record that fits, stopping at the first that does not, so a large request
 * at the head blocks everyone behind it.
 *
 * Before a thread queues, it polls the word for about 15 us
 * (sem_take_soon) and takes the units with the fast-path CAS if they come
 * back while the queue is still empty. It is not a waiter until it has
 * queued, so this passes no waiter, like a thread that still waits for
 * the lock of a mutex-based semaphore.
 *
 * Handing over to a thread. The admitter, under the lock, marks the
 * record granted and wakes the thread only if it announced that it sleeps
 * (see the status values below). The thread returns only once the status
 * reads GRANTED, which the admitter stores as its last access, so the
 * stack record is never freed under it. A thread whose context ends
 * decides under the lock: granted means it keeps the units and returns 0,
 * otherwise it leaves the queue and admission runs again for the records
 * behind it.
 *
 * Tasks. An admitted sp_sem_submit record is unlinked under the lock and
 * collected in a local list; the admitter submits the list to the pools
 * after unlocking (sem_dispatch).
 *
 * Task word (sp_sem.tasks): bits 62..0 count the task records from
 * sp_sem_submit until their task has released its units (or the record is
 * dropped); bit 63, TASKS_DESTROYED, is set by sp_sem_destroy. Whoever
 * makes the word exactly TASKS_DESTROYED frees the semaphore: destroy
 * itself when no task is left, else the last task as it finishes. So a
 * caller that saw the last task function return may destroy the semaphore
 * at once, and no task touches freed memory.
 *
 * Locks. No other lock of the library is taken while sp_sem.lock is held:
 * context registration, sp_submit and the log run outside it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ck_pr.h>

#include <stealpool/sem.h>

#include "alloc.h"
#include "log.h"
#include "sync/sem_internal.h"
#include "sync/spin.h"
#include "sync/wait.h"

enum { SEM_QUEUED = 1 };

#define TASKS_DESTROYED (UINT64_C(1) << 63)

/* Pause iterations in the short wait for an admitter's futex wake. */
enum { SEM_SPIN_ITERATIONS = 200 };

/* Polls of the word before a request queues, after 1, 2, 4 .. 64 pauses
 * each. From the 64-pause polls on, the thread also yields its CPU, which
 * a holder may be waiting for: 447 pauses and 6 yields, about 15 us here. */
enum { SEM_TAKE_POLLS = 12, SEM_TAKE_PAUSES_MAX = 64 };

/*
 * Status of a thread's record. The thread moves WAITING <-> SLEEPING; the
 * admitter, under the lock, moves WAITING -> GRANTED, or SLEEPING -> WAKING
 * -> GRANTED around the futex wake. After GRANTED the admitter never
 * touches the record again.
 */
enum {
    WAITER_WAITING,  /* queued; the thread runs or spins */
    WAITER_SLEEPING, /* queued; the thread sleeps or is about to */
    WAITER_WAKING,   /* units handed over; the admitter is still waking it */
    WAITER_GRANTED   /* units handed over; the record is unlinked */
};

typedef struct sem_waiter {
    struct sem_waiter *prev;   /* queue links, under lock */
    struct sem_waiter *next;
    int64_t            n;      /* units requested */
    bool               is_task; /* heap record from sp_sem_submit */

    /* Thread records only. */
    _Atomic int status;        /* WAITER_*, see above */
    sp__waiter  wake;

    /* Task records only; read-only after creation. */
    sp_sem  *sem;
    sp_pool *pool;
    void   (*fn)(void *);
    void    *arg;
} sem_waiter;

/*
 * The fields that a handoff touches share the first cache line: the word,
 * the capacity that the fast paths check, the queue head and the lock (all
 * of its 40 bytes on x86-64 glibc). A release that admits a waiter then
 * moves only this line and the waiter's record to another CPU.
 */
struct sp_sem {
    _Alignas(SP_CACHE_LINE) _Atomic uint64_t state; /* see the file comment */
    int64_t         capacity; /* read-only after creation */
    sem_waiter     *head;     /* under lock; NULL when the queue is empty */
    pthread_mutex_t lock;

    _Alignas(SP_CACHE_LINE) _Atomic uint64_t tasks; /* see the file comment */
};

static inline int64_t state_available(uint64_t state)
{
    return (int64_t)(state >> 1);
}

static inline uint64_t state_make(int64_t available, bool queued)
{
    return ((uint64_t)available << 1) | (queued ? SEM_QUEUED : 0);
}

static bool n_is_valid(const sp_sem *sem, int64_t n)
{
    return n >= 1 && n <= sem->capacity;
}

int sp_sem_create(sp_sem **out, int64_t capacity)
{
    if (out == NULL) {
        sp__log("sp_sem_create: out is NULL");
        return EINVAL;
    }
    if (capacity < 1) {
        sp__log("sp_sem_create: capacity %lld is invalid (must be at least 1)",
                (long long)capacity);
        return EINVAL;
    }

    sp_sem *sem = sp__alloc(sizeof *sem, SP_CACHE_LINE);
    if (sem == NULL)
        return ENOMEM;

    atomic_init(&sem->state, state_make(capacity, false));
    atomic_init(&sem->tasks, 0);
    sem->capacity = capacity;
    pthread_mutex_init(&sem->lock, NULL);

    *out = sem;
    return 0;
}

static void sem_free(sp_sem *sem)
{
    pthread_mutex_destroy(&sem->lock);
    sp__free(sem, sizeof *sem, SP_CACHE_LINE);
}

void sp_sem_destroy(sp_sem *sem)
{
    if (sem == NULL)
        return;

    pthread_mutex_lock(&sem->lock);
    bool queued = sem->head != NULL;
    pthread_mutex_unlock(&sem->lock);

    if (queued) {
        sp__log("sp_sem_destroy: semaphore %p still has queued requests; it is "
                "left intact and its memory is leaked", (void *)sem);
        return;
    }

    /* acq_rel: acquire pairs with the release decrement of the last task,
     * so its accesses come before the free; release orders the caller's
     * accesses before a free by a task */
    uint64_t old = atomic_fetch_or_explicit(&sem->tasks, TASKS_DESTROYED, memory_order_acq_rel);
    if (old == 0)
        sem_free(sem);
}

/* Ends a task record's accounting; frees the semaphore when it was the last
 * record and sp_sem_destroy has run. */
static void sem_task_done(sp_sem *sem)
{
    /* acq_rel: release pairs with the acquire in sp_sem_destroy; acquire
     * pairs with its release when this thread frees */
    uint64_t old = atomic_fetch_sub_explicit(&sem->tasks, 1, memory_order_acq_rel);
    if (old == (TASKS_DESTROYED | 1))
        sem_free(sem);
}

int64_t sp_sem_available(const sp_sem *sem)
{
    if (sem == NULL)
        return 0;

    /* relaxed: a snapshot for the caller; nothing is read through it */
    uint64_t state = atomic_load_explicit(&sem->state, memory_order_relaxed);
    return state_available(state);
}

/* Takes n units if the queue is empty and they are free. Lock-free. */
static inline bool sem_take_fast(sp_sem *sem, int64_t n)
{
    /* relaxed: only a guess for the CAS below, which orders the access */
    uint64_t state = atomic_load_explicit(&sem->state, memory_order_relaxed);
    while ((state & SEM_QUEUED) == 0 && state_available(state) >= n) {
        uint64_t next = state - ((uint64_t)n << 1);
        /* acquire: pairs with the release CAS or store of the releaser, so
         * the previous holder's writes are visible to the new one */
        if (atomic_compare_exchange_weak_explicit(&sem->state, &state, next,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    }
    return false;
}

/*
 * Adds n units if the queue is empty. Returns 0 when done, EINVAL when the
 * sum would pass the capacity, EAGAIN when QUEUED is set (the caller takes
 * the lock).
 */
static inline int sem_give_fast(sp_sem *sem, int64_t n)
{
    /* relaxed: only a guess for the CAS below */
    uint64_t state = atomic_load_explicit(&sem->state, memory_order_relaxed);
    while ((state & SEM_QUEUED) == 0) {
        if (n > sem->capacity - state_available(state))
            return EINVAL;
        uint64_t next = state + ((uint64_t)n << 1);
        /* release: pairs with the acquire CAS in sem_take_fast */
        if (atomic_compare_exchange_weak_explicit(&sem->state, &state, next,
                                                  memory_order_release,
                                                  memory_order_relaxed))
            return 0;
    }
    return EAGAIN;
}

static void queue_append(sp_sem *sem, sem_waiter *w)
{
    if (sem->head == NULL) {
        w->prev = w;
        w->next = w;
        sem->head = w;
        return;
    }

    sem_waiter *tail = sem->head->prev;
    w->prev = tail;
    w->next = sem->head;
    tail->next = w;
    sem->head->prev = w;
}

static void queue_remove(sp_sem *sem, sem_waiter *w)
{
    if (w->next == w) {
        sem->head = NULL;
    } else {
        w->prev->next = w->next;
        w->next->prev = w->prev;
        if (sem->head == w)
            sem->head = w->next;
    }
    w->prev = NULL;
    w->next = NULL;
}

/* Hands units to a thread's record and wakes the thread if it sleeps. */
static void waiter_grant_locked(sem_waiter *w)
{
    /* relaxed: only a guess for the CAS below */
    int status = atomic_load_explicit(&w->status, memory_order_relaxed);
    int next;
    do {
        next = status == WAITER_SLEEPING ? WAITER_WAKING : WAITER_GRANTED;
        /* acq_rel: pairs with the waiter's CAS to SLEEPING (see sem_wait),
         * so either the waiter sees the grant or this sees SLEEPING and
         * wakes it; release also publishes the units to the waiter */
    } while (!atomic_compare_exchange_weak_explicit(&w->status, &status, next,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (next == WAITER_GRANTED)
        return;

    sp__waiter_wake(&w->wake);
    /* release: pairs with the acquire loads in sem_wait_granted; this is
     * the admitter's last access to the record */
    atomic_store_explicit(&w->status, WAITER_GRANTED, memory_order_release);
}

/*
 * Admits the records at the head that fit into `available`, then stores
 * the word. Requires the lock and QUEUED set on entry. Admitted task
 * records are prepended to *tasks for sem_dispatch, in admission order
 * reversed; the order of submission to the pools carries no promise.
 */
static void sem_admit_locked(sp_sem *sem, int64_t available, sem_waiter **tasks)
{
    while (sem->head != NULL && sem->head->n <= available) {
        sem_waiter *w = sem->head;
        available -= w->n;
        queue_remove(sem, w);

        if (w->is_task) {
            w->next = *tasks;
            *tasks = w;
        } else {
            waiter_grant_locked(w);
        }
    }

    /* release: pairs with the acquire CAS in sem_take_fast once QUEUED is
     * clear, and publishes the admitted units; no fast path writes the word
     * while QUEUED is set, so a plain store loses nothing */
    atomic_store_explicit(&sem->state, state_make(available, sem->head != NULL),
                          memory_order_release);
}

/* Returns the available units; requires the lock and QUEUED set. */
static int64_t sem_available_locked(sp_sem *sem)
{
    /* relaxed: under the lock with QUEUED set only the lock holder writes */
    return state_available(atomic_load_explicit(&sem->state, memory_order_relaxed));
}

/*
 * Adds n units under the lock, admitting queued records. Returns EINVAL,
 * changing nothing, when the sum would pass the capacity.
 */
static int sem_give_locked(sp_sem *sem, int64_t n, sem_waiter **tasks)
{
    int rc = sem_give_fast(sem, n);
    if (rc != EAGAIN)
        return rc;

    int64_t available = sem_available_locked(sem);
    if (n > sem->capacity - available)
        return EINVAL;
    sem_admit_locked(sem, available + n, tasks);
    return 0;
}

static void sem_task_run(void *arg);

/*
 * Submits admitted task records to their pools. A record whose sp_submit
 * fails is dropped and its units given back, which may admit more records;
 * they join the list instead of recursing.
 */
static void sem_dispatch(sp_sem *sem, sem_waiter *tasks)
{
    while (tasks != NULL) {
        sem_waiter *w = tasks;
        tasks = w->next;

        int rc = sp_submit(w->pool, sem_task_run, w);
        if (rc == 0)
            continue;

        sp__log("sp_sem_submit: a queued task was admitted but sp_submit failed "
                "with error %d; the task is dropped and its %lld units released",
                rc, (long long)w->n);
        pthread_mutex_lock(&sem->lock);
        sem_give_locked(sem, w->n, &tasks);
        pthread_mutex_unlock(&sem->lock);

        sp__free(w, sizeof *w, SP_CACHE_LINE);
        sem_task_done(sem);
    }
}

/* Result of sem_enqueue_locked. */
typedef enum { ENQUEUE_TAKEN, ENQUEUE_ADMITTED, ENQUEUE_QUEUED } enqueue_result;

/*
 * Takes w's units at once when the queue is empty and they are free (TAKEN,
 * w not linked), else queues w and runs admission (ADMITTED when w was
 * admitted: a thread record is GRANTED, a task record is on *tasks).
 * Requires the lock.
 */
static enqueue_result sem_enqueue_locked(sp_sem *sem, sem_waiter *w, sem_waiter **tasks)
{
    if (sem_take_fast(sem, w->n))
        return ENQUEUE_TAKEN;

    queue_append(sem, w);
    /* acq_rel: the fetch_or makes every in-flight fast-path CAS fail; the
     * units a fast release added before it are taken over below */
    uint64_t old = atomic_fetch_or_explicit(&sem->state, SEM_QUEUED, memory_order_acq_rel);

    /* A release may have added units between the failed take and the
     * fetch_or, so admission runs here and not only on the next release. */
    sem_admit_locked(sem, state_available(old), tasks);

    bool admitted;
    if (w->is_task) {
        admitted = false;
        for (sem_waiter *t = *tasks; t != NULL; t = t->next)
            admitted = admitted || t == w;
    } else {
        /* relaxed: written only under the lock, which is held */
        admitted = atomic_load_explicit(&w->status, memory_order_relaxed) == WAITER_GRANTED;
    }
    return admitted ? ENQUEUE_ADMITTED : ENQUEUE_QUEUED;
}

/* Returns true when w's units were handed over (WAKING or GRANTED). */
static bool waiter_is_granted(int status)
{
    return status == WAITER_WAKING || status == WAITER_GRANTED;
}

/* Spins for a while (see sync/spin.h); returns true once w has been
 * granted. */
static bool sem_spin(sem_waiter *w)
{
    sp__spin spin;
    sp__spin_start(&spin, SP_SPIN_DEFAULT_NS);
    for (;;) {
        /* relaxed: sem_wait_granted orders the handover */
        if (waiter_is_granted(atomic_load_explicit(&w->status, memory_order_relaxed)))
            return true;
        if (!sp__spin_pause(&spin))
            return false;
    }
}

/* Waits out WAKING: the admitter is in the futex wake, under the lock, and
 * stores GRANTED right after it. */
static void sem_wait_granted(sem_waiter *w)
{
    /* acquire: pairs with the release CAS or store of GRANTED in
     * waiter_grant_locked, after which the admitter never touches w */
    for (unsigned i = 0;
         atomic_load_explicit(&w->status, memory_order_acquire) != WAITER_GRANTED; i++) {
        if (i < SEM_SPIN_ITERATIONS)
            ck_pr_stall();
        else
            sched_yield();
    }
}

/*
 * Waits until w is granted or ctx ends. Returns 0 when granted, else the
 * context's error (w may still have been granted meanwhile: sem_leave
 * decides).
 */
static int sem_wait(sem_waiter *w, sp_ctx *ctx)
{
    int rc = sp__ctx_watch(ctx, &w->wake);
    while (rc == 0) {
        uint32_t seen = sp__waiter_seq(&w->wake);
        if (sem_spin(w))
            break;

        int expected = WAITER_WAITING;
        /* acq_rel: pairs with the exchange in waiter_grant_locked; seen was
         * read before this, so a wake after it changes the futex word */
        if (!atomic_compare_exchange_strong_explicit(&w->status, &expected, WAITER_SLEEPING,
                                                     memory_order_acq_rel,
                                                     memory_order_acquire))
            break;

        rc = sp__waiter_sleep(&w->wake, seen, ctx);

        expected = WAITER_SLEEPING;
        /* acquire: on failure the units were handed over, see above */
        if (!atomic_compare_exchange_strong_explicit(&w->status, &expected, WAITER_WAITING,
                                                     memory_order_acquire,
                                                     memory_order_acquire))
            break;
    }
    sp__ctx_unwatch(ctx, &w->wake);
    return rc;
}

/*
 * Ends a thread's wait. Returns 0 when w was granted, whatever rc is;
 * else, deciding under the lock, removes w, lets the records behind it be
 * admitted, and returns rc.
 */
static int sem_leave(sp_sem *sem, sem_waiter *w, int rc)
{
    /* relaxed: sem_wait_granted orders the handover */
    if (waiter_is_granted(atomic_load_explicit(&w->status, memory_order_relaxed))) {
        sem_wait_granted(w);
        return 0;
    }

    sem_waiter *tasks = NULL;
    pthread_mutex_lock(&sem->lock);
    /* relaxed: the status changes to granted only under the lock, which is
     * held, and the admitter finished with w before it unlocked */
    bool granted = atomic_load_explicit(&w->status, memory_order_relaxed) == WAITER_GRANTED;
    if (!granted) {
        queue_remove(sem, w);
        sem_admit_locked(sem, sem_available_locked(sem), &tasks);
    }
    pthread_mutex_unlock(&sem->lock);

    sem_dispatch(sem, tasks);
    return granted ? 0 : rc;
}

/*
 * Polls the word, less and less often, before the caller queues. Returns
 * true once n units were taken, false when the polls are used up, a
 * waiter is queued or ctx has ended. Units held for a moment come back
 * within the polls, and one CAS then replaces the lock and a handoff.
 * Between polls the thread leaves the cache line alone, so the holder
 * works at full speed.
 */
static bool sem_take_soon(sp_sem *sem, int64_t n, sp_ctx *ctx)
{
    unsigned pauses = 1;
    for (unsigned i = 0; i < SEM_TAKE_POLLS; i++) {
        for (unsigned j = 0; j < pauses; j++)
            ck_pr_stall();
        if (pauses < SEM_TAKE_PAUSES_MAX)
            pauses *= 2;
        else
            sched_yield();

        if (sp_ctx_err(ctx) != 0)
            return false;

        /* relaxed: only a guess; sem_take_fast orders the access */
        uint64_t state = atomic_load_explicit(&sem->state, memory_order_relaxed);
        if ((state & SEM_QUEUED) != 0)
            return false;
        if (state_available(state) >= n && sem_take_fast(sem, n))
            return true;
    }
    return false;
}

__attribute__((noinline)) static int sem_acquire_slow(sp_sem *sem, int64_t n, sp_ctx *ctx)
{
    if (sem_take_soon(sem, n, ctx))
        return 0;

    sem_waiter self = {.n = n};
    atomic_init(&self.status, WAITER_WAITING);
    sp__waiter_init(&self.wake);
    sem_waiter *tasks = NULL;

    pthread_mutex_lock(&sem->lock);
    enqueue_result result = sem_enqueue_locked(sem, &self, &tasks);
    pthread_mutex_unlock(&sem->lock);

    sem_dispatch(sem, tasks);
    if (result != ENQUEUE_QUEUED)
        return 0;

    int rc = sem_wait(&self, ctx);
    return sem_leave(sem, &self, rc);
}

/* Reports why an acquire's arguments are invalid; returns EINVAL. */
__attribute__((noinline, cold)) static int acquire_invalid(const sp_sem *sem, int64_t n)
{
    if (sem == NULL)
        sp__log("sp_sem_acquire: sem is NULL");
    else
        sp__log("sp_sem_acquire: n = %lld is outside 1..%lld (the capacity)", (long long)n,
                (long long)sem->capacity);
    return EINVAL;
}

/* Acquires n units for a caller that passed a context. An ended context
 * fails even when units are free, so a caller that loops on acquire stops. */
__attribute__((noinline)) static int acquire_with_ctx(sp_sem *sem, int64_t n, sp_ctx *ctx)
{
    int err = sp_ctx_err(ctx);
    if (err != 0)
        return err;

    if (sem_take_fast(sem, n))
        return 0;
    return sem_acquire_slow(sem, n, ctx);
}

/* The common case makes no call and so saves no registers. The other cases
 * are tail calls. */
int sp_sem_acquire(sp_sem *sem, int64_t n, sp_ctx *ctx)
{
    if (__builtin_expect(sem == NULL || !n_is_valid(sem, n), 0))
        return acquire_invalid(sem, n);
    if (ctx != NULL)
        return acquire_with_ctx(sem, n, ctx);

    if (sem_take_fast(sem, n))
        return 0;
    return sem_acquire_slow(sem, n, NULL);
}

bool sp_sem_try_acquire(sp_sem *sem, int64_t n)
{
    if (sem == NULL) {
        sp__log("sp_sem_try_acquire: sem is NULL");
        return false;
    }
    if (!n_is_valid(sem, n)) {
        sp__log("sp_sem_try_acquire: n = %lld is outside 1..%lld (the capacity)",
                (long long)n, (long long)sem->capacity);
        return false;
    }

    return sem_take_fast(sem, n);
}

/* Reports an invalid release or an over-release; returns EINVAL. */
__attribute__((noinline, cold)) static int release_invalid(const sp_sem *sem, int64_t n)
{
    if (sem == NULL)
        sp__log("sp_sem_release: sem is NULL");
    else if (n < 1)
        sp__log("sp_sem_release: n = %lld is invalid (must be at least 1)", (long long)n);
    else
        sp__log("sp_sem_release: n = %lld would make more than the capacity %lld "
                "available (more released than held)",
                (long long)n, (long long)sem->capacity);
    return EINVAL;
}

/* Releases n units under the lock, for when waiters are queued, and starts
 * the tasks that the release admitted. */
__attribute__((noinline)) static int release_queued(sp_sem *sem, int64_t n)
{
    sem_waiter *tasks = NULL;

    pthread_mutex_lock(&sem->lock);
    int rc = sem_give_locked(sem, n, &tasks);
    pthread_mutex_unlock(&sem->lock);

    sem_dispatch(sem, tasks);
    if (rc == EINVAL)
        return release_invalid(sem, n);
    return rc;
}

/* As in acquire, the common case makes no call. */
int sp_sem_release(sp_sem *sem, int64_t n)
{
    if (__builtin_expect(sem == NULL || n < 1, 0))
        return release_invalid(sem, n);

    int rc = sem_give_fast(sem, n);
    if (__builtin_expect(rc == 0, 1))
        return 0;
    if (rc == EINVAL)
        return release_invalid(sem, n);
    return release_queued(sem, n);
}

/* Returns list with w unlinked from it (a singly linked list on next). */
static sem_waiter *list_without(sem_waiter *list, sem_waiter *w)
{
    sem_waiter **link = &list;
    while (*link != NULL && *link != w)
        link = &(*link)->next;
    if (*link == w)
        *link = w->next;
    return list;
}

/* Runs an admitted task, then releases its units. */
static void sem_task_run(void *arg)
{
    sem_waiter *w = arg;
    sp_sem *sem = w->sem;
    int64_t n = w->n;
    void (*fn)(void *) = w->fn;
    void *fn_arg = w->arg;
    sp__free(w, sizeof *w, SP_CACHE_LINE);

    fn(fn_arg);

    sp_sem_release(sem, n);
    sem_task_done(sem);
}

/*
 * Submits a task record admitted within sp_sem_submit. On failure gives
 * the units back, frees the record and returns sp_submit's error.
 */
static int sem_submit_admitted(sp_sem *sem, sem_waiter *w)
{
    int rc = sp_submit(w->pool, sem_task_run, w);
    if (rc == 0)
        return 0;

    sem_waiter *tasks = NULL;
    pthread_mutex_lock(&sem->lock);
    sem_give_locked(sem, w->n, &tasks);
    pthread_mutex_unlock(&sem->lock);
    sem_dispatch(sem, tasks);

    sp__free(w, sizeof *w, SP_CACHE_LINE);
    sem_task_done(sem);
    return rc;
}

int sp_sem_submit(sp_sem *sem, int64_t n, sp_pool *pool, void (*fn)(void *), void *arg)
{
    if (sem == NULL || pool == NULL || fn == NULL) {
        const char *missing = "fn";
        if (sem == NULL)
            missing = "sem";
        else if (pool == NULL)
            missing = "pool";
        sp__log("sp_sem_submit: %s is NULL", missing);
        return EINVAL;
    }
    if (!n_is_valid(sem, n)) {
        sp__log("sp_sem_submit: n = %lld is outside 1..%lld (the capacity)",
                (long long)n, (long long)sem->capacity);
        return EINVAL;
    }

    sem_waiter *w = sp__alloc(sizeof *w, SP_CACHE_LINE);
    if (w == NULL)
        return ENOMEM;
    w->n = n;
    w->is_task = true;
    w->sem = sem;
    w->pool = pool;
    w->fn = fn;
    w->arg = arg;
    /* relaxed: the record is not visible to anyone yet; sem_task_done's
     * acq_rel decrement orders the end of its use */
    atomic_fetch_add_explicit(&sem->tasks, 1, memory_order_relaxed);

    if (sem_take_fast(sem, n))
        return sem_submit_admitted(sem, w);

    sem_waiter *tasks = NULL;
    pthread_mutex_lock(&sem->lock);
    enqueue_result result = sem_enqueue_locked(sem, w, &tasks);
    pthread_mutex_unlock(&sem->lock);

    /* Admitted within this call: submit it here, so that its error reaches
     * the caller, and the other admitted records as usual. */
    if (result == ENQUEUE_ADMITTED)
        tasks = list_without(tasks, w);
    sem_dispatch(sem, tasks);
    if (result == ENQUEUE_QUEUED)
        return 0;
    return sem_submit_admitted(sem, w);
}

unsigned sp__sem_queued_count(sp_sem *sem, int64_t n)
{
    unsigned count = 0;
    pthread_mutex_lock(&sem->lock);
    sem_waiter *w = sem->head;
    if (w != NULL) {
        do {
            if (n == 0 || w->n == n)
                count++;
            w = w->next;
        } while (w != sem->head);
    }
    pthread_mutex_unlock(&sem->lock);
    return count;
}
