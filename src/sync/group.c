/*
 * Error group.
 *
 * State word (sp_group.state, 64 bits):
 *
 *     bits 63..33  members: tasks from the start of their go call until
 *                  the task returns, or until the go call fails
 *     bits 32..2   admitted: members holding a slot of the limit (counted
 *                  only while a limit is set; always <= limit <= INT_MAX)
 *     bit  1       WAITERS: a wait call is registered in `waiters`
 *     bit  0       SLOT_WAITERS: the queue of go calls asleep for a slot
 *                  is non-empty
 *
 * Legal moves:
 *   - go, fast: one CAS adds a member and, under a limit, a slot, while
 *     admitted < limit and SLOT_WAITERS is clear. Without a limit the CAS
 *     only adds a member.
 *   - task end, fast: one CAS removes the member (and its slot) while
 *     SLOT_WAITERS is clear, and WAITERS is clear or other members remain.
 *     This CAS is the task's last access to the group.
 *   - everything else happens under `lock`: the flags are set and cleared
 *     only there, together with the lists they reflect. Fast paths may CAS
 *     the word at any time, so the lock holder changes it with atomic
 *     read-modify-write operations too.
 *
 * Slots are handed over, not released, while go calls sleep: a task that
 * ends with SLOT_WAITERS set keeps admitted unchanged and grants its slot to
 * the oldest sleeping go under the lock. Admission runs eagerly, so while
 * the queue is non-empty every slot is taken, and a go that leaves the
 * queue on cancel never strands a free slot.
 *
 * Lifetime. A member keeps the group alive. A task's fast-path CAS is its
 * last access; a slow-path leaver changes the word under the lock and its
 * unlock is its last access. Every waiter decides under the lock whether it
 * may return, and destroy takes the lock once before freeing, so no leaver
 * can still be inside the group when its memory goes. Lock order: the
 * group's lock before the context's (sp__ctx_watch is called under it).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>


#include <stealpool/group.h>

#include "alloc.h"
#include "log.h"
#include "sched/pool_internal.h"
#include "sync/spin.h"
#include "sync/wait.h"

#define GROUP_SLOT_WAITERS ((uint64_t)1)
#define GROUP_WAITERS ((uint64_t)2)
#define GROUP_FLAGS (GROUP_SLOT_WAITERS | GROUP_WAITERS)
#define GROUP_SLOT ((uint64_t)1 << 2)
#define GROUP_MEMBER ((uint64_t)1 << 33)
#define GROUP_FIELD_MAX ((uint64_t)INT_MAX)

/*
 * A go at the limit retries the fast CAS for the pool's idle spin time
 * (SP_SPIN_US) before it sleeps (see sync/spin.h). When items are short a
 * slot frees within microseconds, and a caller that sleeps instead leaves
 * the workers without new tasks until it has been woken. Measured on a
 * 2-vCPU VM with 1 worker, limit 20 and items of about 0.25 us: a spin of
 * 256 pauses cost about 660 context switches per 1000 items, the default
 * 50 us spin about 90.
 */

/* A go call asleep for a slot; on its caller's stack, queued under lock. */
typedef struct slot_waiter {
    struct slot_waiter *next; /* under lock */
    bool                granted; /* under lock: a slot was handed over */
    sp__waiter          wake;
} slot_waiter;

/* A wait call asleep until the last member leaves; on its caller's stack. */
typedef struct wait_waiter {
    struct wait_waiter *next;   /* under lock */
    bool                linked; /* under lock: still in `waiters` */
    sp__waiter          wake;
} wait_waiter;

struct sp_group {
    _Alignas(SP_CACHE_LINE) _Atomic uint64_t state; /* see the file comment */
    _Atomic int first_err; /* 0 until a task fails; set once */

    _Alignas(SP_CACHE_LINE) _Atomic int limit; /* < 0: none; changed only with no member */
    sp_pool        *pool; /* read-only after creation */
    sp_ctx         *ctx;  /* read-only after creation; the group owns a reference */
    pthread_mutex_t lock;
    slot_waiter    *slot_head; /* FIFO of sleeping go calls, under lock */
    slot_waiter    *slot_tail;
    wait_waiter    *waiters;   /* sleeping wait calls, under lock */
};

/* One submitted task: freed by the task before fn runs. */
typedef struct group_task {
    sp_group   *group;
    sp_group_fn fn;
    void       *arg;
    bool        holds_slot;
} group_task;

static inline uint64_t state_members(uint64_t state)
{
    return state >> 33;
}

static inline uint64_t state_admitted(uint64_t state)
{
    return (state >> 2) & GROUP_FIELD_MAX;
}

int sp_group_create(sp_group **out, sp_pool *pool, sp_ctx *parent)
{
    if (out == NULL) {
        sp__log("sp_group_create: out is NULL");
        return EINVAL;
    }

    if (pool == NULL) {
        pool = sp_default_pool();
        if (pool == NULL)
            return EAGAIN;
    }

    sp_group *g = sp__alloc(sizeof *g, SP_CACHE_LINE);
    if (g == NULL)
        return ENOMEM;

    int rc = sp_ctx_with_cancel(parent, &g->ctx);
    if (rc != 0) {
        sp__free(g, sizeof *g, SP_CACHE_LINE);
        return rc;
    }

    atomic_init(&g->state, 0);
    atomic_init(&g->first_err, 0);
    atomic_init(&g->limit, -1);
    g->pool = pool;
    pthread_mutex_init(&g->lock, NULL);

    *out = g;
    return 0;
}

int sp_group_set_limit(sp_group *g, int limit)
{
    if (g == NULL) {
        sp__log("sp_group_set_limit: g is NULL");
        return EINVAL;
    }
    if (limit == 0) {
        sp__log("sp_group_set_limit: limit 0 is invalid (no task could run; use a negative "
                "limit for none)");
        return EINVAL;
    }

    /* acquire: pairs with the release decrement of the last member */
    uint64_t state = atomic_load_explicit(&g->state, memory_order_acquire);
    if (state_members(state) != 0)
        return EBUSY;

    /* relaxed: no member exists, and a go on another thread is ordered
     * after this call by the caller's own synchronization */
    atomic_store_explicit(&g->limit, limit < 0 ? -1 : limit, memory_order_relaxed);
    return 0;
}

sp_ctx *sp_group_ctx(sp_group *g)
{
    if (g == NULL) {
        sp__log("sp_group_ctx: g is NULL");
        return NULL;
    }
    return g->ctx;
}

/* Records err as the group's error if it is the first, then cancels. */
static void group_record_error(sp_group *g, int err)
{
    int expected = 0;
    /* relaxed: wait reads first_err after the acquire load of state that
     * pairs with this task's release decrement; and the cancel below comes
     * after this CAS in program order, so a task that sees the cancel and
     * returns ECANCELED finds first_err already set */
    if (atomic_compare_exchange_strong_explicit(&g->first_err, &expected, err,
                                                memory_order_relaxed, memory_order_relaxed))
        sp_ctx_cancel(g->ctx);
}

/* Wakes every sleeping wait call; requires the lock. */
static void group_wake_waiters_locked(sp_group *g)
{
    wait_waiter *w = g->waiters;
    g->waiters = NULL;
    /* acq_rel: the flag is cleared together with the list, under the lock */
    atomic_fetch_and_explicit(&g->state, ~GROUP_WAITERS, memory_order_acq_rel);

    while (w != NULL) {
        wait_waiter *next = w->next;
        w->linked = false;
        sp__waiter_wake(&w->wake);
        w = next;
    }
}

/* Removes one member (and its slot when it holds one) under the lock. */
static void group_leave_locked(sp_group *g, bool holds_slot)
{
    uint64_t decrement = GROUP_MEMBER;
    slot_waiter *next = NULL;

    if (holds_slot && g->slot_head != NULL) {
        next = g->slot_head;
        g->slot_head = next->next;
        if (g->slot_head == NULL)
            g->slot_tail = NULL;
    } else if (holds_slot) {
        decrement += GROUP_SLOT;
    }

    /* release: pairs with the acquire loads of state in wait and in
     * set_limit, publishing what the task did */
    uint64_t state = atomic_fetch_sub_explicit(&g->state, decrement, memory_order_release) -
                     decrement;

    if (next != NULL) {
        if (g->slot_head == NULL)
            /* acq_rel: the flag is cleared together with the queue */
            atomic_fetch_and_explicit(&g->state, ~GROUP_SLOT_WAITERS, memory_order_acq_rel);
        next->granted = true;
        sp__waiter_wake(&next->wake);
    }

    if (state_members(state) == 0 && (state & GROUP_WAITERS) != 0)
        group_wake_waiters_locked(g);
}

/* Removes a member that ends while a flag is set. */
static void group_leave_slow(sp_group *g, bool holds_slot)
{
    pthread_mutex_lock(&g->lock);
    group_leave_locked(g, holds_slot);
    pthread_mutex_unlock(&g->lock);
}

/* Removes one member; the caller must not touch g afterwards. */
static inline void group_leave(sp_group *g, bool holds_slot)
{
    uint64_t decrement = GROUP_MEMBER + (holds_slot ? GROUP_SLOT : 0);

    /* relaxed: only a guess for the CAS below */
    uint64_t state = atomic_load_explicit(&g->state, memory_order_relaxed);
    for (;;) {
        bool slot_wanted = holds_slot && (state & GROUP_SLOT_WAITERS) != 0;
        bool last_wakes = (state & GROUP_WAITERS) != 0 && state_members(state) == 1;
        if (slot_wanted || last_wakes) {
            group_leave_slow(g, holds_slot);
            return;
        }
        /* release: pairs with the acquire loads of state in wait and in
         * set_limit, publishing what the task did */
        if (atomic_compare_exchange_weak_explicit(&g->state, &state, state - decrement,
                                                  memory_order_release, memory_order_relaxed))
            return;
    }
}

static void group_task_run(void *arg)
{
    group_task *task = arg;
    sp_group *g = task->group;
    sp_group_fn fn = task->fn;
    void *fn_arg = task->arg;
    bool holds_slot = task->holds_slot;
    sp__free(task, sizeof *task, alignof(group_task));

    int err = fn(g->ctx, fn_arg);
    if (err != 0)
        group_record_error(g, err);

    group_leave(g, holds_slot);
}

/* Result of trying to join the group without waiting. */
typedef enum { JOIN_ADMITTED, JOIN_FULL, JOIN_TOO_MANY } join_result;

/*
 * Adds a member, with a slot when limit >= 0, if that needs no waiting.
 * With slot_only the member is already counted and only a slot is taken.
 */
static inline join_result group_try_join(sp_group *g, int limit, bool slot_only)
{
    uint64_t increment = (slot_only ? 0 : GROUP_MEMBER) + (limit >= 0 ? GROUP_SLOT : 0);

    /* relaxed: only a guess for the CAS below */
    uint64_t state = atomic_load_explicit(&g->state, memory_order_relaxed);
    for (;;) {
        if (!slot_only && state_members(state) == GROUP_FIELD_MAX)
            return JOIN_TOO_MANY;
        if (limit >= 0 &&
            ((state & GROUP_SLOT_WAITERS) != 0 || state_admitted(state) >= (uint64_t)limit))
            return JOIN_FULL;
        /* acquire: pairs with the release decrement of the task whose slot
         * this takes, so the new task starts after the old one's writes */
        if (atomic_compare_exchange_weak_explicit(&g->state, &state, state + increment,
                                                  memory_order_acquire, memory_order_relaxed))
            return JOIN_ADMITTED;
    }
}

/* Adds a member without a slot. Returns false when there are too many. */
static bool group_add_member(sp_group *g)
{
    /* relaxed: only a guess for the CAS below */
    uint64_t state = atomic_load_explicit(&g->state, memory_order_relaxed);
    while (state_members(state) < GROUP_FIELD_MAX) {
        /* relaxed: counting a member publishes nothing; the task that
         * leaves later publishes with its release decrement */
        if (atomic_compare_exchange_weak_explicit(&g->state, &state, state + GROUP_MEMBER,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
    return false;
}

static void queue_append_locked(sp_group *g, slot_waiter *w)
{
    w->next = NULL;
    if (g->slot_tail != NULL)
        g->slot_tail->next = w;
    else
        g->slot_head = w;
    g->slot_tail = w;
}

static void queue_remove_locked(sp_group *g, slot_waiter *w)
{
    slot_waiter *prev = NULL;
    for (slot_waiter *it = g->slot_head; it != NULL; prev = it, it = it->next) {
        if (it != w)
            continue;
        if (prev != NULL)
            prev->next = w->next;
        else
            g->slot_head = w->next;
        if (g->slot_tail == w)
            g->slot_tail = prev;
        return;
    }
}

/*
 * Hands free slots to the queued go calls in order. Requires the lock and
 * SLOT_WAITERS set; clears it when the queue empties.
 */
static void group_admit_locked(sp_group *g, int limit)
{
    while (g->slot_head != NULL) {
        /* relaxed: only a guess for the CAS below */
        uint64_t state = atomic_load_explicit(&g->state, memory_order_relaxed);
        if (state_admitted(state) >= (uint64_t)limit)
            return;
        /* acquire: as in group_try_join */
        if (!atomic_compare_exchange_weak_explicit(&g->state, &state, state + GROUP_SLOT,
                                                   memory_order_acquire, memory_order_relaxed))
            continue;

        slot_waiter *w = g->slot_head;
        g->slot_head = w->next;
        if (g->slot_head == NULL)
            g->slot_tail = NULL;
        w->granted = true;
        sp__waiter_wake(&w->wake);
    }
    /* acq_rel: the flag is cleared together with the queue */
    atomic_fetch_and_explicit(&g->state, ~GROUP_SLOT_WAITERS, memory_order_acq_rel);
}

/*
 * Waits for a slot, the member already counted. Returns 0 holding a slot,
 * or the context's error holding nothing (the member is removed).
 */
static int group_wait_slot(sp_group *g, int limit)
{
    sp__spin spin;
    sp__spin_start(&spin, (int64_t)g->pool->spin_us * 1000);
    for (;;) {
        if (group_try_join(g, limit, true) == JOIN_ADMITTED)
            return 0;
        if (!sp__spin_pause(&spin))
            break;
    }

    slot_waiter self = {.next = NULL, .granted = false};
    sp__waiter_init(&self.wake);

    pthread_mutex_lock(&g->lock);
    queue_append_locked(g, &self);
    /* acq_rel: after this no task-end fast path returns a slot, so the
     * slots freed before it are taken over by the admission below */
    atomic_fetch_or_explicit(&g->state, GROUP_SLOT_WAITERS, memory_order_acq_rel);
    group_admit_locked(g, limit);

    int rc = self.granted ? 0 : sp__ctx_watch(g->ctx, &self.wake);
    while (!self.granted && rc == 0) {
        uint32_t seen = sp__waiter_seq(&self.wake);
        pthread_mutex_unlock(&g->lock);
        rc = sp__waiter_sleep(&self.wake, seen, g->ctx);
        pthread_mutex_lock(&g->lock);
    }

    if (!self.granted) {
        /* The context ended first: leave the queue, then the group. */
        queue_remove_locked(g, &self);
        if (g->slot_head == NULL)
            /* acq_rel: the flag is cleared together with the queue */
            atomic_fetch_and_explicit(&g->state, ~GROUP_SLOT_WAITERS, memory_order_acq_rel);
        group_leave_locked(g, false);
    }
    pthread_mutex_unlock(&g->lock);

    sp__ctx_unwatch(g->ctx, &self.wake);
    return self.granted ? 0 : rc;
}

/* Submits an admitted task; on failure it leaves the group again. */
static int group_submit(sp_group *g, group_task *task)
{
    sp_pool *pool = g->pool;
    bool holds_slot = task->holds_slot;

    /* The task may finish, and the group be freed, as soon as it is
     * submitted, so nothing below touches g on success. */
    int rc = sp_submit(pool, group_task_run, task);
    if (rc == 0)
        return 0;

    sp__free(task, sizeof *task, alignof(group_task));
    group_leave(g, holds_slot);
    return rc;
}

static group_task *group_task_new(sp_group *g, sp_group_fn fn, void *arg, int limit)
{
    group_task *task = sp__alloc(sizeof *task, alignof(group_task));
    if (task == NULL)
        return NULL;
    task->group = g;
    task->fn = fn;
    task->arg = arg;
    task->holds_slot = limit >= 0;
    return task;
}

static bool group_check_args(const char *function, sp_group *g, sp_group_fn fn)
{
    if (g != NULL && fn != NULL)
        return true;
    sp__log("%s: %s is NULL", function, g == NULL ? "g" : "fn");
    return false;
}

/* Counts the member, then waits for a slot. */
static int group_go_slow(sp_group *g, int limit)
{
    if (!group_add_member(g))
        return ENOMEM;
    return group_wait_slot(g, limit);
}

int sp_group_go(sp_group *g, sp_group_fn fn, void *arg)
{
    if (!group_check_args("sp_group_go", g, fn))
        return EINVAL;

    /* relaxed: set_limit runs only while the group has no member */
    int limit = atomic_load_explicit(&g->limit, memory_order_relaxed);
    group_task *task = group_task_new(g, fn, arg, limit);
    if (task == NULL)
        return ENOMEM;

    join_result joined = group_try_join(g, limit, false);
    int rc = 0;
    if (joined == JOIN_TOO_MANY)
        rc = ENOMEM;
    else if (joined == JOIN_FULL)
        rc = group_go_slow(g, limit);
    if (rc != 0) {
        sp__free(task, sizeof *task, alignof(group_task));
        return rc;
    }

    return group_submit(g, task);
}

bool sp_group_try_go(sp_group *g, sp_group_fn fn, void *arg)
{
    if (!group_check_args("sp_group_try_go", g, fn))
        return false;

    /* relaxed: as in sp_group_go */
    int limit = atomic_load_explicit(&g->limit, memory_order_relaxed);
    if (group_try_join(g, limit, false) != JOIN_ADMITTED)
        return false;

    group_task *task = group_task_new(g, fn, arg, limit);
    if (task == NULL) {
        group_leave(g, limit >= 0);
        return false;
    }
    return group_submit(g, task) == 0;
}

/* Sleeps until the member count reaches zero. */
static void group_wait_slow(sp_group *g)
{
    wait_waiter self = {.next = NULL, .linked = false};
    sp__waiter_init(&self.wake);

    pthread_mutex_lock(&g->lock);
    /* acq_rel: from here the member that leaves last takes the lock and
     * wakes us; acquire also pairs with the release decrements */
    uint64_t state = atomic_fetch_or_explicit(&g->state, GROUP_WAITERS, memory_order_acq_rel);
    if (state_members(state) != 0) {
        self.next = g->waiters;
        g->waiters = &self;
        self.linked = true;
    } else if (g->waiters == NULL) {
        /* acq_rel: no waiter is left to be woken */
        atomic_fetch_and_explicit(&g->state, ~GROUP_WAITERS, memory_order_acq_rel);
    }

    while (self.linked) {
        uint32_t seen = sp__waiter_seq(&self.wake);
        pthread_mutex_unlock(&g->lock);
        (void)sp__waiter_sleep(&self.wake, seen, NULL); /* a NULL context never ends */
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
}

/* Returns the member count (acquire: pairs with the release decrements). */
static inline uint64_t group_members(sp_group *g)
{
    return state_members(atomic_load_explicit(&g->state, memory_order_acquire));
}

int sp_group_wait(sp_group *g)
{
    if (g == NULL) {
        sp__log("sp_group_wait: g is NULL");
        return EINVAL;
    }

    if (group_members(g) != 0)
        group_wait_slow(g);

    sp_ctx_cancel(g->ctx);
    /* relaxed: ordered by the acquire load of state that saw no member */
    return atomic_load_explicit(&g->first_err, memory_order_relaxed);
}

void sp_group_destroy(sp_group *g)
{
    if (g == NULL)
        return;

    uint64_t members = group_members(g);
    if (members != 0) {
        sp__log("sp_group_destroy: group %p still has %llu members; waiting for them before "
                "freeing it (call sp_group_wait first)",
                (void *)g, (unsigned long long)members);
        group_wait_slow(g);
    }

    /* A member that left under the lock may still hold it; its unlock is
     * its last access to the group. */
    pthread_mutex_lock(&g->lock);
    pthread_mutex_unlock(&g->lock);

    pthread_mutex_destroy(&g->lock);
    sp_ctx_release(g->ctx);
    sp__free(g, sizeof *g, SP_CACHE_LINE);
}
