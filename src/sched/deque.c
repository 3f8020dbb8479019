#include "sched/deque.h"

#include <errno.h>

#include "platform/barrier.h"

static sp_deque_buffer *buffer_create(int64_t capacity)
{
    size_t bytes = sizeof(sp_deque_buffer) + (size_t)capacity * sizeof(_Atomic(sp_task *));
    sp_deque_buffer *buf = sp__alloc(bytes, SP_CACHE_LINE);
    if (buf == NULL)
        return NULL;
    buf->mask = capacity - 1;
    buf->retired = NULL;
    return buf;
}

static void buffer_free(sp_deque_buffer *buf)
{
    size_t bytes = sizeof(sp_deque_buffer) + (size_t)(buf->mask + 1) * sizeof(_Atomic(sp_task *));
    sp__free(buf, bytes, SP_CACHE_LINE);
}

int sp__deque_init(sp_deque *dq, int64_t capacity)
{
    sp_deque_buffer *buf = buffer_create(capacity);
    if (buf == NULL)
        return ENOMEM;

    atomic_init(&dq->top, 0);
    atomic_init(&dq->bottom, 0);
    atomic_init(&dq->buffer, buf);
    return 0;
}

void sp__deque_destroy(sp_deque *dq)
{
    /* relaxed: destroy runs after every thief has been joined */
    sp_deque_buffer *buf = atomic_load_explicit(&dq->buffer, memory_order_relaxed);
    while (buf != NULL) {
        sp_deque_buffer *older = buf->retired;
        buffer_free(buf);
        buf = older;
    }
    atomic_store_explicit(&dq->buffer, NULL, memory_order_relaxed);
}

sp_deque_buffer *sp__deque_grow(sp_deque *dq, sp_deque_buffer *old, int64_t top,
                                int64_t bottom)
{
    sp_deque_buffer *buf = buffer_create((old->mask + 1) * 2);
    if (buf == NULL)
        return NULL;

    for (int64_t i = top; i < bottom; i++) {
        /* relaxed: only the owner writes slots, and it is this thread */
        sp_task *task = atomic_load_explicit(&old->slots[i & old->mask], memory_order_relaxed);
        atomic_store_explicit(&buf->slots[i & buf->mask], task, memory_order_relaxed);
    }
    buf->retired = old;

    /* release: pairs with the acquire load of buffer in steal, so a thief
     * that sees the new buffer also sees the copied slots */
    atomic_store_explicit(&dq->buffer, buf, memory_order_release);
    return buf;
}

sp_task *sp__deque_steal(sp_deque *dq)
{
    /* acquire: pairs with the CAS of other thieves and of the owner's pop */
    int64_t top = atomic_load_explicit(&dq->top, memory_order_acquire);

    /* seq_cst fence: orders the load of top before the load of bottom
     * (pairs with the fence in pop; see there). The heavy barrier costs a
     * few microseconds, so it runs only when the deque looks non-empty. */
    if (sp__heavy_barrier_available) {
        /* relaxed: a pre-check only; bottom is read again below */
        if (atomic_load_explicit(&dq->bottom, memory_order_relaxed) <= top)
            return NULL;
        sp__heavy_barrier();
    } else {
        atomic_thread_fence(memory_order_seq_cst);
    }

    /* acquire: pairs with the release store in push, publishing the slot */
    int64_t bottom = atomic_load_explicit(&dq->bottom, memory_order_acquire);
    if (top >= bottom)
        return NULL;

    /* acquire: pairs with the release store in deque_grow */
    sp_deque_buffer *buf = atomic_load_explicit(&dq->buffer, memory_order_acquire);
    /* relaxed: the value is used only if the CAS below succeeds, which
     * proves the owner had not reused the slot */
    sp_task *task = atomic_load_explicit(&buf->slots[top & buf->mask], memory_order_relaxed);

    if (!atomic_compare_exchange_strong_explicit(&dq->top, &top, top + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return SP_DEQUE_ABORT;
    return task;
}
