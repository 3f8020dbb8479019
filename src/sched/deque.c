#include "sched/deque.h"

#include <errno.h>

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

/* Owner: copies the live items into a buffer twice the size. */
static sp_deque_buffer *deque_grow(sp_deque *dq, sp_deque_buffer *old, int64_t top,
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

int64_t sp__deque_push(sp_deque *dq, sp_task *task)
{
    /* relaxed: bottom is written only by this thread */
    int64_t bottom = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    /* acquire: pairs with the CAS of a thief, so its read of the slot we may
     * overwrite happened before */
    int64_t top = atomic_load_explicit(&dq->top, memory_order_acquire);
    /* relaxed: buffer is written only by this thread */
    sp_deque_buffer *buf = atomic_load_explicit(&dq->buffer, memory_order_relaxed);

    if (bottom - top > buf->mask) {
        buf = deque_grow(dq, buf, top, bottom);
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

sp_task *sp__deque_pop(sp_deque *dq)
{
    /* relaxed: bottom and buffer are written only by this thread */
    int64_t bottom = atomic_load_explicit(&dq->bottom, memory_order_relaxed) - 1;
    sp_deque_buffer *buf = atomic_load_explicit(&dq->buffer, memory_order_relaxed);
    atomic_store_explicit(&dq->bottom, bottom, memory_order_relaxed);

    /* seq_cst fence: orders the store of bottom above before the load of top
     * below (StoreLoad), against the fence in steal between its loads of
     * top and bottom. Without it the owner and a thief could both take the
     * last item. */
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

sp_task *sp__deque_steal(sp_deque *dq)
{
    /* acquire: pairs with the CAS of other thieves and of the owner's pop */
    int64_t top = atomic_load_explicit(&dq->top, memory_order_acquire);

    /* seq_cst fence: orders the load of top before the load of bottom
     * (pairs with the fence in pop; see there) */
    atomic_thread_fence(memory_order_seq_cst);

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
