/*
 * Bounded MPMC channel.
 *
 * Buffered channels use the bounded MPMC queue of Dmitry Vyukov (2010,
 * "Bounded MPMC queue", 1024cores.net): a ring of cells, each with its own
 * sequence number, and two position counters that only grow.
 *
 *   head   next position to receive from; any thread, atomic.
 *   tail   (next position to send to) << 1 | closed; any thread, atomic.
 *          The closed bit lives in the same word so that a send's claim
 *          (a CAS on tail) and close (a fetch_or on tail) are totally
 *          ordered: exactly the sends whose CAS came first are delivered.
 *   cell seq for position p: 2p = free for a send at p, 2p + 1 = holds the
 *          element sent at p. A receive at p frees the cell for the send at
 *          p + capacity by storing 2(p + capacity). Doubling keeps "full at
 *          p" and "free for p + 1" apart when the capacity is 1.
 *
 * A send claims position p with a CAS on tail once the cell shows 2p, copies
 * the element, then publishes it with a release store of 2p + 1; a receive
 * claims with a CAS on head once the cell shows 2p + 1, copies out, then
 * releases the cell. Between claim and publish a position is "in progress":
 * the other side sees it as not ready yet and yields until it is.
 *
 * Blocking. Waiters queue on one of two lists (blocked receivers, blocked
 * senders) under lock, each sleeping on its own futex word (sync/wait.h).
 * The counters recv_waiting and send_waiting mirror the list lengths so
 * that the fast path can skip the lock when nobody waits. A waiter first
 * increments its counter, then checks the positions; a sender first moves
 * tail, then reads recv_waiting (receivers: head, then send_waiting). All
 * four accesses are seq_cst, so either the waiter sees the new position or
 * the other side sees the waiter and wakes it. A woken waiter that leaves
 * without taking its turn (its context ended) passes the wake on.
 *
 * Wakers call sp__waiter_wake with lock held, and a waiter takes lock before
 * it returns, so a waiter's record on its stack outlives every wake aimed at
 * it.
 *
 * Unbuffered channels (capacity 0) do everything under lock: a sender hands
 * its element straight to a blocked receiver or queues with a pointer to
 * it, and a receiver takes from a queued sender or queues with a pointer to
 * its buffer.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stealpool/chan.h>

#include "alloc.h"
#include "log.h"
#include "sync/spin.h"
#include "sync/wait.h"

#define CHAN_MAX_CAPACITY ((size_t)1 << 32)

/* Internal results of one attempt, next to 0 and EPIPE. */
#define CHAN_WOULD_BLOCK EAGAIN
#define CHAN_IN_PROGRESS EINPROGRESS

enum waiter_state { WAITER_WAITING, WAITER_DONE, WAITER_CLOSED };

typedef struct chan_waiter {
    sp__waiter          base;
    struct chan_waiter *prev;     /* list links; under lock */
    struct chan_waiter *next;
    bool                linked;   /* on a list; under lock */
    bool                signaled; /* woken by a waker since it was linked; under lock */
    enum waiter_state   state;    /* unbuffered channels only; under lock */
    const void         *src;      /* unbuffered sender: its element */
    void               *dst;      /* unbuffered receiver: its buffer */
} chan_waiter;

typedef struct waiter_list {
    chan_waiter *first;
    chan_waiter *last;
} waiter_list;

struct sp_chan {
    _Alignas(SP_CACHE_LINE) _Atomic uint64_t tail; /* see the file comment */
    _Alignas(SP_CACHE_LINE) _Atomic uint64_t head;

    /* Read-only after creation. */
    _Alignas(SP_CACHE_LINE) size_t elem_size;
    size_t         capacity;
    size_t         stride;     /* bytes per cell: sequence number plus element */
    size_t         ring_bytes;
    uint64_t       index_mask; /* capacity - 1 when a power of two, else 0 */
    unsigned char *ring;

    _Alignas(SP_CACHE_LINE) _Atomic uint32_t recv_waiting;
    _Atomic uint32_t send_waiting;
    _Atomic uint32_t slow_callers; /* threads inside a slow path, for destroy */
    pthread_mutex_t  lock;
    waiter_list      receivers; /* under lock */
    waiter_list      senders;   /* under lock */
};

/* ---- Ring ---------------------------------------------------------------- */

static inline _Atomic uint64_t *cell_seq(sp_chan *ch, uint64_t pos)
{
    uint64_t index = ch->index_mask != 0 ? pos & ch->index_mask : pos % ch->capacity;
    return (_Atomic uint64_t *)(void *)(ch->ring + index * ch->stride);
}

static inline unsigned char *cell_data(_Atomic uint64_t *seq)
{
    return (unsigned char *)(void *)seq + sizeof(uint64_t);
}

/* One send attempt: 0, EPIPE, CHAN_WOULD_BLOCK (full) or CHAN_IN_PROGRESS. */
static inline int ring_push(sp_chan *ch, const void *elem)
{
    /* relaxed: only a starting guess, validated by the CAS below */
    uint64_t tail = atomic_load_explicit(&ch->tail, memory_order_relaxed);
    for (;;) {
        if (tail & 1)
            return EPIPE;

        uint64_t pos = tail >> 1;
        _Atomic uint64_t *seq = cell_seq(ch, pos);
        /* acquire: pairs with the release store in ring_pop, so the
         * receiver's copy out of this cell is finished before ours starts */
        uint64_t s = atomic_load_explicit(seq, memory_order_acquire);
        int64_t diff = (int64_t)(s - 2 * pos);

        if (diff == 0) {
            /* seq_cst: ordered before the load of recv_waiting in
             * notify_receivers (see the file comment) */
            if (atomic_compare_exchange_weak_explicit(&ch->tail, &tail, tail + 2,
                                                      memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                if (ch->elem_size != 0)
                    memcpy(cell_data(seq), elem, ch->elem_size);
                /* release: publishes the element to the acquire load in ring_pop */
                atomic_store_explicit(seq, 2 * pos + 1, memory_order_release);
                return 0;
            }
        } else if (diff < 0) {
            /* seq_cst: pairs with the head CAS in ring_pop and with the
             * increment of send_waiting in enlist */
            uint64_t head = atomic_load_explicit(&ch->head, memory_order_seq_cst);
            return pos - head >= ch->capacity ? CHAN_WOULD_BLOCK : CHAN_IN_PROGRESS;
        } else {
            /* relaxed: another send took this position; start again */
            tail = atomic_load_explicit(&ch->tail, memory_order_relaxed);
        }
    }
}

/* One receive attempt: 0, EPIPE (closed and drained), CHAN_WOULD_BLOCK
 * (empty) or CHAN_IN_PROGRESS. */
static inline int ring_pop(sp_chan *ch, void *elem)
{
    /* relaxed: only a starting guess, validated by the CAS below */
    uint64_t pos = atomic_load_explicit(&ch->head, memory_order_relaxed);
    for (;;) {
        _Atomic uint64_t *seq = cell_seq(ch, pos);
        /* acquire: pairs with the release store in ring_push */
        uint64_t s = atomic_load_explicit(seq, memory_order_acquire);
        int64_t diff = (int64_t)(s - (2 * pos + 1));

        if (diff == 0) {
            /* seq_cst: ordered before the load of send_waiting in
             * notify_senders (see the file comment) */
            if (atomic_compare_exchange_weak_explicit(&ch->head, &pos, pos + 1,
                                                      memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                if (ch->elem_size != 0)
                    memcpy(elem, cell_data(seq), ch->elem_size);
                /* release: our copy out is done before a send reuses the cell */
                atomic_store_explicit(seq, 2 * (pos + ch->capacity), memory_order_release);
                return 0;
            }
        } else if (diff < 0) {
            /* seq_cst: pairs with the tail CAS in ring_push and with the
             * increment of recv_waiting in enlist */
            uint64_t tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst);
            if ((tail >> 1) != pos)
                return CHAN_IN_PROGRESS;
            return (tail & 1) ? EPIPE : CHAN_WOULD_BLOCK;
        } else {
            /* relaxed: another receive took this position; start again */
            pos = atomic_load_explicit(&ch->head, memory_order_relaxed);
        }
    }
}

/* ---- Waiter lists (under lock) ------------------------------------------- */

static void list_append(waiter_list *list, chan_waiter *w)
{
    w->prev = list->last;
    w->next = NULL;
    if (list->last != NULL)
        list->last->next = w;
    else
        list->first = w;
    list->last = w;
    w->linked = true;
    w->signaled = false;
}

static void list_remove(waiter_list *list, chan_waiter *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        list->first = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        list->last = w->prev;
    w->prev = NULL;
    w->next = NULL;
    w->linked = false;
}

/* Wakes the first waiter of list, if any; called with lock held. */
static void wake_first_locked(waiter_list *list, _Atomic uint32_t *count)
{
    chan_waiter *w = list->first;
    if (w == NULL)
        return;

    list_remove(list, w);
    /* relaxed: count is only a hint for the fast path; the list is the
     * truth and is read under lock */
    atomic_fetch_sub_explicit(count, 1, memory_order_relaxed);
    w->signaled = true;
    sp__waiter_wake(&w->base);
}

static void wake_all_locked(waiter_list *list, _Atomic uint32_t *count)
{
    while (list->first != NULL)
        wake_first_locked(list, count);
}

static __attribute__((noinline)) void wake_one(sp_chan *ch, waiter_list *list,
                                               _Atomic uint32_t *count)
{
    pthread_mutex_lock(&ch->lock);
    wake_first_locked(list, count);
    pthread_mutex_unlock(&ch->lock);
}

static inline void notify_receivers(sp_chan *ch)
{
    /* seq_cst: pairs with the increment in enlist (see the file comment) */
    if (atomic_load_explicit(&ch->recv_waiting, memory_order_seq_cst) != 0)
        wake_one(ch, &ch->receivers, &ch->recv_waiting);
}

static inline void notify_senders(sp_chan *ch)
{
    /* seq_cst: pairs with the increment in enlist (see the file comment) */
    if (atomic_load_explicit(&ch->send_waiting, memory_order_seq_cst) != 0)
        wake_one(ch, &ch->senders, &ch->send_waiting);
}

/* ---- Buffered slow paths ------------------------------------------------- */

/* Repeats an attempt while the other side is in the middle of a copy, which
 * takes a few instructions unless that thread is preempted. */
static int push_settled(sp_chan *ch, const void *elem)
{
    int rc;
    while ((rc = ring_push(ch, elem)) == CHAN_IN_PROGRESS)
        sched_yield();
    return rc;
}

static int pop_settled(sp_chan *ch, void *elem)
{
    int rc;
    while ((rc = ring_pop(ch, elem)) == CHAN_IN_PROGRESS)
        sched_yield();
    return rc;
}

/* Links w on list and counts it, unless it is still linked from before. */
static void enlist(sp_chan *ch, waiter_list *list, _Atomic uint32_t *count, chan_waiter *w)
{
    pthread_mutex_lock(&ch->lock);
    if (!w->linked) {
        list_append(list, w);
        /* seq_cst: ordered before the position check that follows (see
         * the file comment) */
        atomic_fetch_add_explicit(count, 1, memory_order_seq_cst);
    }
    pthread_mutex_unlock(&ch->lock);
}

/* Unlinks w if a waker has not; returns whether a waker signaled it. */
static bool delist(sp_chan *ch, waiter_list *list, _Atomic uint32_t *count, chan_waiter *w)
{
    pthread_mutex_lock(&ch->lock);
    if (w->linked) {
        list_remove(list, w);
        /* relaxed: a hint only, as in wake_first_locked */
        atomic_fetch_sub_explicit(count, 1, memory_order_relaxed);
    }
    bool signaled = w->signaled;
    pthread_mutex_unlock(&ch->lock);
    return signaled;
}

static void waiter_init(chan_waiter *w)
{
    memset(w, 0, sizeof *w);
    sp__waiter_init(&w->base);
}

/* Wakes one waiter of the other side, after a push (sending) or a pop. */
static void notify_peers(sp_chan *ch, bool sending)
{
    if (sending)
        notify_receivers(ch);
    else
        notify_senders(ch);
}

/*
 * One send (src set) or receive (dst set) on a buffered channel once the
 * fast path failed: spins for a while, then queues and sleeps until the
 * ring has room (or an element), the channel closes or ctx ends.
 */
static __attribute__((noinline)) int buffered_slow(sp_chan *ch, bool sending, const void *src,
                                                   void *dst, sp_ctx *ctx)
{
    waiter_list *mine = sending ? &ch->senders : &ch->receivers;
    _Atomic uint32_t *waiting = sending ? &ch->send_waiting : &ch->recv_waiting;

    sp__spin spin;
    sp__spin_start(&spin, SP_SPIN_DEFAULT_NS);
    do {
        int rc = sending ? ring_push(ch, src) : ring_pop(ch, dst);
        if (rc == 0)
            notify_peers(ch, sending);
        if (rc == 0 || rc == EPIPE)
            return rc;
    } while (sp__spin_pause(&spin));

    chan_waiter w;
    waiter_init(&w);
    int result;
    int rc = sp__ctx_watch(ctx, &w.base);
    for (;;) {
        if (rc != 0) {
            result = rc;
            break;
        }

        /* Read the wake sequence before linking: a waker that unlinks us
         * after this point also bumps it, so the sleep below returns. */
        uint32_t seen = sp__waiter_seq(&w.base);
        enlist(ch, mine, waiting, &w);
        result = sending ? push_settled(ch, src) : pop_settled(ch, dst);
        if (result != CHAN_WOULD_BLOCK)
            break;

        rc = sp__waiter_sleep(&w.base, seen, ctx);
    }

    bool signaled = delist(ch, mine, waiting, &w);
    sp__ctx_unwatch(ctx, &w.base);

    if (result == 0)
        notify_peers(ch, sending);
    else if (signaled && result != EPIPE)
        notify_peers(ch, !sending); /* pass on the slot or element we were woken for */
    return result;
}

/* ---- Unbuffered channels ------------------------------------------------- */

static bool is_closed(sp_chan *ch)
{
    /* seq_cst: pairs with the fetch_or in sp_chan_close */
    return atomic_load_explicit(&ch->tail, memory_order_seq_cst) & 1;
}

/* Hands an element to or from the first waiter of theirs, if any; mine is
 * this caller's element (sending) or buffer (receiving). Called with lock
 * held. */
static bool handoff_locked(sp_chan *ch, waiter_list *theirs, bool sending, const void *src,
                           void *dst)
{
    chan_waiter *peer = theirs->first;
    if (peer == NULL)
        return false;

    list_remove(theirs, peer);
    if (ch->elem_size != 0) {
        if (sending)
            memcpy(peer->dst, src, ch->elem_size);
        else
            memcpy(dst, peer->src, ch->elem_size);
    }
    peer->state = WAITER_DONE;
    sp__waiter_wake(&peer->base);
    return true;
}

/*
 * One send (src set) or receive (dst set) on an unbuffered channel. With
 * block false it returns CHAN_WOULD_BLOCK instead of queueing.
 */
static int rendezvous(sp_chan *ch, bool sending, const void *src, void *dst, sp_ctx *ctx,
                      bool block)
{
    waiter_list *mine = sending ? &ch->senders : &ch->receivers;
    waiter_list *theirs = sending ? &ch->receivers : &ch->senders;

    pthread_mutex_lock(&ch->lock);
    if (is_closed(ch)) {
        pthread_mutex_unlock(&ch->lock);
        return EPIPE;
    }
    if (handoff_locked(ch, theirs, sending, src, dst)) {
        pthread_mutex_unlock(&ch->lock);
        return 0;
    }
    if (!block) {
        pthread_mutex_unlock(&ch->lock);
        return CHAN_WOULD_BLOCK;
    }

    chan_waiter w;
    waiter_init(&w);
    w.src = src;
    w.dst = dst;
    w.state = WAITER_WAITING;
    list_append(mine, &w);
    pthread_mutex_unlock(&ch->lock);

    int rc = sp__ctx_watch(ctx, &w.base);
    while (rc == 0) {
        uint32_t seen = sp__waiter_seq(&w.base);
        pthread_mutex_lock(&ch->lock);
        bool waiting = w.state == WAITER_WAITING;
        pthread_mutex_unlock(&ch->lock);
        if (!waiting)
            break;
        rc = sp__waiter_sleep(&w.base, seen, ctx);
    }

    pthread_mutex_lock(&ch->lock);
    int result;
    if (w.state == WAITER_WAITING) {
        list_remove(mine, &w);
        result = rc;
    } else {
        result = w.state == WAITER_DONE ? 0 : EPIPE;
    }
    pthread_mutex_unlock(&ch->lock);
    sp__ctx_unwatch(ctx, &w.base);
    return result;
}

/* ---- Public API ---------------------------------------------------------- */

int sp_chan_create(sp_chan **out, size_t elem_size, size_t capacity)
{
    if (out == NULL) {
        sp__log("sp_chan_create: out is NULL");
        return EINVAL;
    }
    if (capacity > CHAN_MAX_CAPACITY) {
        sp__log("sp_chan_create: capacity %zu is above the maximum %zu", capacity,
                CHAN_MAX_CAPACITY);
        return EINVAL;
    }

    /* Cells start with a uint64_t sequence number, so keep them 8-aligned. */
    size_t data_bytes = (elem_size + 7) & ~(size_t)7;
    if (data_bytes < elem_size || data_bytes > SIZE_MAX / 2 - sizeof(uint64_t)) {
        sp__log("sp_chan_create: elem_size %zu is too large", elem_size);
        return EINVAL;
    }
    size_t stride = sizeof(uint64_t) + data_bytes;
    if (capacity != 0 && stride > SIZE_MAX / capacity) {
        sp__log("sp_chan_create: capacity %zu times elem_size %zu does not fit in memory",
                capacity, elem_size);
        return EINVAL;
    }

    sp_chan *ch = sp__alloc(sizeof *ch, SP_CACHE_LINE);
    if (ch == NULL)
        return ENOMEM;

    ch->elem_size = elem_size;
    ch->capacity = capacity;
    ch->stride = stride;
    ch->ring_bytes = stride * capacity;
    ch->index_mask = capacity != 0 && (capacity & (capacity - 1)) == 0 ? capacity - 1 : 0;
    if (capacity > 0) {
        ch->ring = sp__alloc(ch->ring_bytes, SP_CACHE_LINE);
        if (ch->ring == NULL) {
            sp__free(ch, sizeof *ch, SP_CACHE_LINE);
            return ENOMEM;
        }
        for (uint64_t pos = 0; pos < capacity; pos++)
            atomic_init(cell_seq(ch, pos), 2 * pos);
    }
    atomic_init(&ch->tail, 0);
    atomic_init(&ch->head, 0);
    atomic_init(&ch->recv_waiting, 0);
    atomic_init(&ch->send_waiting, 0);
    atomic_init(&ch->slow_callers, 0);
    pthread_mutex_init(&ch->lock, NULL);

    *out = ch;
    return 0;
}

static bool args_valid(const char *fn, sp_chan *ch, const void *elem)
{
    if (ch == NULL) {
        sp__log("%s: channel is NULL", fn);
        return false;
    }
    if (elem == NULL && ch->elem_size != 0) {
        sp__log("%s: elem is NULL but the element size is %zu", fn, ch->elem_size);
        return false;
    }
    return true;
}

/* Counts a caller inside a slow path, so that destroy can tell it is there. */
static void slow_enter(sp_chan *ch)
{
    /* relaxed: destroy must not race with calls; this only detects the
     * misuse of destroying a channel that threads are blocked on */
    atomic_fetch_add_explicit(&ch->slow_callers, 1, memory_order_relaxed);
}

static void slow_leave(sp_chan *ch)
{
    /* release: the caller's last accesses to ch come before destroy's
     * acquire load sees the count drop */
    atomic_fetch_sub_explicit(&ch->slow_callers, 1, memory_order_release);
}

int sp_chan_send(sp_chan *ch, const void *elem, sp_ctx *ctx)
{
    if (!args_valid("sp_chan_send", ch, elem))
        return EINVAL;

    if (ch->capacity != 0) {
        int rc = ring_push(ch, elem);
        if (rc == 0) {
            notify_receivers(ch);
            return 0;
        }
        if (rc == EPIPE)
            return EPIPE;
    }

    slow_enter(ch);
    int rc = ch->capacity != 0 ? buffered_slow(ch, true, elem, NULL, ctx)
                               : rendezvous(ch, true, elem, NULL, ctx, true);
    slow_leave(ch);
    return rc;
}

int sp_chan_recv(sp_chan *ch, void *elem, sp_ctx *ctx)
{
    if (!args_valid("sp_chan_recv", ch, elem))
        return EINVAL;

    if (ch->capacity != 0) {
        int rc = ring_pop(ch, elem);
        if (rc == 0) {
            notify_senders(ch);
            return 0;
        }
        if (rc == EPIPE)
            return EPIPE;
    }

    slow_enter(ch);
    int rc = ch->capacity != 0 ? buffered_slow(ch, false, NULL, elem, ctx)
                               : rendezvous(ch, false, NULL, elem, ctx, true);
    slow_leave(ch);
    return rc;
}

bool sp_chan_try_send(sp_chan *ch, const void *elem)
{
    if (!args_valid("sp_chan_try_send", ch, elem))
        return false;

    int rc;
    if (ch->capacity != 0) {
        rc = push_settled(ch, elem);
        if (rc == 0)
            notify_receivers(ch);
    } else {
        slow_enter(ch);
        rc = rendezvous(ch, true, elem, NULL, NULL, false);
        slow_leave(ch);
    }
    return rc == 0;
}

bool sp_chan_try_recv(sp_chan *ch, void *elem)
{
    if (!args_valid("sp_chan_try_recv", ch, elem))
        return false;

    int rc;
    if (ch->capacity != 0) {
        rc = ring_pop(ch, elem);
        if (rc == 0)
            notify_senders(ch);
    } else {
        slow_enter(ch);
        rc = rendezvous(ch, false, NULL, elem, NULL, false);
        slow_leave(ch);
    }
    return rc == 0;
}

int sp_chan_close(sp_chan *ch)
{
    if (ch == NULL) {
        sp__log("sp_chan_close: channel is NULL");
        return EINVAL;
    }

    /* seq_cst: ordered against the tail CAS of every send (see the file
     * comment) and against the position checks of waiters */
    if (atomic_fetch_or_explicit(&ch->tail, 1, memory_order_seq_cst) & 1)
        return EPIPE;

    pthread_mutex_lock(&ch->lock);
    for (chan_waiter *w = ch->senders.first; w != NULL; w = w->next)
        w->state = WAITER_CLOSED;
    for (chan_waiter *w = ch->receivers.first; w != NULL; w = w->next)
        w->state = WAITER_CLOSED;
    wake_all_locked(&ch->senders, &ch->send_waiting);
    wake_all_locked(&ch->receivers, &ch->recv_waiting);
    pthread_mutex_unlock(&ch->lock);
    return 0;
}

void sp_chan_destroy(sp_chan *ch)
{
    if (ch == NULL)
        return;

    /* acquire: pairs with the release decrement in slow_leave */
    uint32_t blocked = atomic_load_explicit(&ch->slow_callers, memory_order_acquire);
    if (blocked != 0) {
        sp__log("sp_chan_destroy: %u thread(s) still blocked on the channel; closing it "
                "and waiting for them to return EPIPE",
                blocked);
        sp_chan_close(ch);
        /* acquire: as above; closed waiters leave within microseconds */
        while (atomic_load_explicit(&ch->slow_callers, memory_order_acquire) != 0)
            sched_yield();
    }

    pthread_mutex_destroy(&ch->lock);
    if (ch->ring != NULL)
        sp__free(ch->ring, ch->ring_bytes, SP_CACHE_LINE);
    sp__free(ch, sizeof *ch, SP_CACHE_LINE);
}
