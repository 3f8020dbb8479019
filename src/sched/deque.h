/*
 * Chase-Lev work-stealing deque of task pointers.
 *
 * Algorithm: D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque"
 * (SPAA 2005), with the C11 memory orders of N. M. Le, A. Pop, A. Cohen and
 * F. Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory
 * Models" (PPoPP 2013).
 *
 * State. top and bottom are signed 64-bit indices that only grow, so they
 * never wrap and a stale top can never match again. The live items are the
 * slots [top, bottom) of the current buffer, indexed modulo its size.
 *   - bottom: written by the owner only; read by thieves.
 *   - top: advanced by a CAS, by thieves and by the owner when it takes the
 *     last item.
 *   - buffer: replaced by the owner only, when it grows.
 * top and bottom sit on separate cache lines so that thieves polling top do
 * not slow the owner's stores to bottom.
 *
 * Reclamation. When the deque grows, the old buffer is retired, not freed:
 * a thief that loaded the old pointer may still read a slot of it (its CAS
 * on top then decides whether that value is used). Retired buffers are
 * freed by sp__deque_destroy. Buffers double, so the retired ones together
 * are smaller than the live one: the bound is at most twice the largest
 * size the deque ever reached.
 */
#ifndef SP_SCHED_DEQUE_H
#define SP_SCHED_DEQUE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "platform/barrier.h"
#include "sched/task.h"

/* The layout is shared with the inline join in <stealpool/join_impl.h>. */
typedef sp__deque_buffer sp_deque_buffer;
typedef sp__deque sp_deque;

/* Result of a steal that lost a race; distinct from NULL (empty). */
#define SP_DEQUE_ABORT ((sp_task *)1)

/* Allocates the first buffer with capacity slots (a power of two). */
int  sp__deque_init(sp_deque *dq, int64_t capacity);
void sp__deque_destroy(sp_deque *dq);

/* Owner: copies the live items into a buffer twice the size and retires
 * the old one. Returns the new buffer, or NULL when out of memory. */
sp_deque_buffer *sp__deque_grow(sp_deque *dq, sp_deque_buffer *old, int64_t top,
                                int64_t bottom);

/* Owner: pushes task at the bottom, growing when full. Returns the number of
 * items that were in the deque before the push, or -1 when growth failed
 * (ENOMEM: the task was not pushed). Inline because sp_join calls it on
 * every fork. */
static inline int64_t sp__deque_push(sp_deque *dq, sp_task *task)
{
    /* relaxed: bottom is written only by this thread */
    int64_t bottom = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    /* acquire: pairs with the CAS of a thief, so its read of the slot we may
     * overwrite happened before */
    int64_t top = atomic_load_explicit(&dq->top, memory_order_acquire);
    /* relaxed: buffer is written only by this thread */
    sp_deque_buffer *buf = atomic_load_explicit(&dq->buffer, memory_order_relaxed);

    if (bottom - top > buf->mask) {
        buf = sp__deque_grow(dq, buf, top, bottom);
        if (buf == NULL)
            return -1;
    }

    /* relaxed: published by the release store of bottom below */
    atomic_store_explicit(&buf->slots[bottom & buf->mask], task, memory_order_relaxed);
    /* release: pairs with the acquire load of bottom in steal, publishing the
     * slot and the task's fields */
    atomic_store_explicit(&dq->bottom, bottom + 1, memory_order_release);
    return bottom - top;
}

/* Owner: pops the most recently pushed task, or NULL when empty. */
static inline sp_task *sp__deque_pop(sp_deque *dq)
{
    /* relaxed: bottom and buffer are written only by this thread */
    int64_t bottom = atomic_load_explicit(&dq->bottom, memory_order_relaxed) - 1;
    sp_deque_buffer *buf = atomic_load_explicit(&dq->buffer, memory_order_relaxed);
    atomic_store_explicit(&dq->bottom, bottom, memory_order_relaxed);

    /* seq_cst fence: orders the store of bottom above before the load of top
     * below (StoreLoad), against the fence in steal between its loads of
     * top and bottom. Without it the owner and a thief could both take the
     * last item. With membarrier, the thief's heavy barrier stands in for
     * this fence and the owner keeps only a compiler barrier. */
    if (sp__heavy_barrier_available)
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);

    /* relaxed: ordered by the fence above */
    int64_t top = atomic_load_explicit(&dq->top, memory_order_relaxed);
    if (top > bottom) {
        /* Empty: restore bottom. */
        atomic_store_explicit(&dq->bottom, bottom + 1, memory_order_relaxed);
        return NULL;
    }

    /* relaxed: this thread wrote the slot */
    sp_task *task = atomic_load_explicit(&buf->slots[bottom & buf->mask], memory_order_relaxed);
    if (top == bottom) {
        /* The last item: race the thieves for it through top. */
        if (!atomic_compare_exchange_strong_explicit(&dq->top, &top, top + 1,
                                                     memory_order_seq_cst,
                                                     memory_order_relaxed))
            task = NULL;
        atomic_store_explicit(&dq->bottom, bottom + 1, memory_order_relaxed);
    }
    return task;
}


/* Any thread: takes the oldest task; NULL when empty, SP_DEQUE_ABORT when
 * another thread won the race for it. */
sp_task *sp__deque_steal(sp_deque *dq);

/* Any thread: true when the deque looked non-empty (a hint, may be stale). */
static inline bool sp__deque_nonempty(sp_deque *dq)
{
    /* relaxed: a hint only; callers that act on it go through steal */
    int64_t top = atomic_load_explicit(&dq->top, memory_order_relaxed);
    int64_t bottom = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    return bottom > top;
}

#endif
