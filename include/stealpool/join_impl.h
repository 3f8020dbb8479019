/*
 * The inline fast path of sp_join. Not part of the API: every name here
 * starts with sp__ and may change in any release. It is in a public header
 * so that the compiler sees the two function pointers of a join as
 * constants and calls them directly, and so that the push and the pop of
 * the job cost no function call.
 *
 * The deque below is the owner's view of the Chase-Lev deque implemented in
 * the library (src/sched/deque.h documents the algorithm and its memory
 * orders). Only the common case is inline: a push into a non-empty deque
 * that has room, and a pop that finds the job still there with other items
 * below it. Everything else (growth, waking idle workers, racing a thief for
 * the last item, waiting for a stolen job) is out of line.
 */
#ifndef STEALPOOL_JOIN_IMPL_H
#define STEALPOOL_JOIN_IMPL_H

/* C only: C++ has no _Atomic before C++23, and C++ callers use the
 * out-of-line sp_join. */
#ifndef __cplusplus

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct sp_worker;

typedef struct sp__task {
    void (*execute)(struct sp__task *task, struct sp_worker *w);
    struct sp__task *next;
} sp__task;

typedef struct sp__deque_buffer {
    int64_t                  mask;    /* size - 1; size is a power of two */
    struct sp__deque_buffer *retired; /* older buffers, owner only */
    _Atomic(sp__task *)      slots[];
} sp__deque_buffer;

typedef struct sp__deque {
    alignas(64) _Atomic int64_t top;
    alignas(64) _Atomic int64_t bottom;
    _Atomic(sp__deque_buffer *) buffer;
} sp__deque;

typedef struct sp__join_job {
    sp__task task;
    void (*fn)(void *);
    void                        *arg;
    _Atomic(struct sp_worker *) thief;
    _Atomic uint32_t            state;
} sp__join_job;

/* The worker running on this thread; its jobs deque is its first member. */
extern _Thread_local struct sp_worker *sp__current_worker
    __attribute__((tls_model("initial-exec")));
extern bool sp__heavy_barrier_available;

void sp__job_execute(sp__task *task, struct sp_worker *w);
void sp__join_outside(void (*fa)(void *), void *a, void (*fb)(void *), void *b);
void sp__join_null(void (*fa)(void *), void *a, void (*fb)(void *), void *b);
bool sp__join_push_slow(struct sp_worker *w, sp__join_job *job);
bool sp__join_pop_slow(struct sp_worker *w, sp__join_job *job, int64_t bottom);

static inline __attribute__((always_inline)) void
sp__join_inline(void (*fa)(void *), void *a, void (*fb)(void *), void *b)
{
    /* Constant function pointers make this check free in the common case. */
    if (__builtin_expect(fa == NULL || fb == NULL, 0)) {
        sp__join_null(fa, a, fb, b);
        return;
    }

    struct sp_worker *w = sp__current_worker;
    if (__builtin_expect(w == NULL, 0)) {
        sp__join_outside(fa, a, fb, b);
        return;
    }
    sp__deque *dq = (sp__deque *)w;

    sp__join_job job;
    job.task.execute = sp__job_execute;
    job.fn = fb;
    job.arg = b;
    atomic_init(&job.thief, (struct sp_worker *)0);
    atomic_init(&job.state, 0);

    /* Push: the deque is written by this thread only, except top. */
    int64_t bottom = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    /* acquire: pairs with a thief's CAS of top (see the deque) */
    int64_t top = atomic_load_explicit(&dq->top, memory_order_acquire);
    sp__deque_buffer *buf = atomic_load_explicit(&dq->buffer, memory_order_relaxed);
    if (__builtin_expect(bottom == top || bottom - top > buf->mask, 0)) {
        if (!sp__join_push_slow(w, &job)) {
            fa(a);
            fb(b);
            return;
        }
    } else {
        atomic_store_explicit(&buf->slots[bottom & buf->mask], &job.task,
                              memory_order_relaxed);
        /* release: pairs with the acquire load of bottom in steal */
        atomic_store_explicit(&dq->bottom, bottom + 1, memory_order_release);
    }

    fa(a);

    /* Pop: take the job back unless a thief has it or may be racing for it. */
    bottom = atomic_load_explicit(&dq->bottom, memory_order_relaxed) - 1;
    atomic_store_explicit(&dq->bottom, bottom, memory_order_relaxed);
    /* seq_cst fence between the store of bottom and the load of top; with
     * membarrier the thieves' heavy barrier stands in for it */
    if (sp__heavy_barrier_available)
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);
    top = atomic_load_explicit(&dq->top, memory_order_relaxed);
    if (__builtin_expect(top < bottom, 1)) {
        fb(b);
        return;
    }
    if (sp__join_pop_slow(w, &job, bottom))
        fb(b);
}

#endif /* __cplusplus */

#endif
