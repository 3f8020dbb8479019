/*
 * Cancellation contexts.
 *
 * Contexts form a tree. Each context has a mutex that guards its list of
 * children and its list of registered waiters. Lock order: a parent's lock
 * before a child's, never the other way.
 *
 * Lifetime. A context is freed when its reference count reaches zero. The
 * caller of a with_* function holds one reference, dropped by
 * sp_ctx_release; each child holds one on its parent for as long as the
 * child exists, so child->parent is never dangling and is immutable. A
 * child is unlinked from its parent's list either when the parent is
 * canceled (the parent no longer needs it) or when the child is released,
 * so a long-lived parent never accumulates finished children.
 *
 * Deadlines need no timer thread: a child's deadline is the earlier of its
 * own and its parent's, sp_ctx_err compares it with the clock, and waiters
 * pass it to the futex as their timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <stealpool/ctx.h>

#include "alloc.h"
#include "log.h"
#include "platform/futex.h"
#include "sched/blocking.h"
#include "sync/wait.h"

struct sp_ctx {
    _Atomic int      err;         /* 0, ECANCELED or ETIMEDOUT; set once */
    _Atomic uint32_t refs;        /* caller's reference plus one per child */
    int64_t          deadline_ns; /* effective deadline; read-only after creation */
    sp_ctx          *parent;      /* NULL under the background context; read-only */
    bool             linked;      /* in parent's children list; under parent->lock */
    pthread_mutex_t  lock;
    sp_ctx          *children;    /* under lock */
    sp_ctx          *sibling_prev; /* under parent->lock */
    sp_ctx          *sibling_next;
    sp__waiter      *waiters;     /* under lock */
};

static sp_ctx background_ctx = {
    .deadline_ns = INT64_MAX,
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static bool is_background(const sp_ctx *ctx)
{
    return ctx == NULL || ctx == &background_ctx;
}

sp_ctx *sp_ctx_background(void)
{
    return &background_ctx;
}

void sp__waiter_init(sp__waiter *w)
{
    atomic_init(&w->seq, 0);
    w->ctx_prev = NULL;
    w->ctx_next = NULL;
}

uint32_t sp__waiter_seq(sp__waiter *w)
{
    /* acquire: pairs with the release increment in sp__waiter_wake, so the
     * condition the waker changed is visible to the check that follows */
    return atomic_load_explicit(&w->seq, memory_order_acquire);
}

void sp__waiter_wake(sp__waiter *w)
{
    /* release: publishes the waker's change of the condition */
    atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
    sp__futex_wake(&w->seq, 1);
}

int sp__waiter_sleep(sp__waiter *w, uint32_t seen, sp_ctx *ctx)
{
    int err = sp_ctx_err(ctx);
    if (err != 0)
        return err;

    int64_t deadline = is_background(ctx) ? INT64_MAX : ctx->deadline_ns;

    sp__block_begin();
    sp__futex_wait(&w->seq, seen, deadline);
    sp__block_end();

    return sp_ctx_err(ctx);
}

static void ctx_unref(sp_ctx *ctx);

/* Creates a child of parent with the given own deadline; function names
 * the caller in log messages. */
static int ctx_create(const char *function, sp_ctx *parent, int64_t deadline_ns, sp_ctx **out)
{
    if (out == NULL) {
        sp__log("%s: out is NULL", function);
        return EINVAL;
    }

    sp_ctx *ctx = sp__alloc(sizeof *ctx, SP_CACHE_LINE);
    if (ctx == NULL)
        return ENOMEM;

    atomic_init(&ctx->err, 0);
    atomic_init(&ctx->refs, 1);
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->deadline_ns = deadline_ns;

    if (!is_background(parent)) {
        if (parent->deadline_ns < ctx->deadline_ns)
            ctx->deadline_ns = parent->deadline_ns;

        /* relaxed: the child's reference keeps the parent alive; no data
         * is published through the count */
        atomic_fetch_add_explicit(&parent->refs, 1, memory_order_relaxed);
        ctx->parent = parent;

        pthread_mutex_lock(&parent->lock);
        /* relaxed: err is read under the lock that cancel also holds */
        int parent_err = atomic_load_explicit(&parent->err, memory_order_relaxed);
        if (parent_err == 0) {
            ctx->sibling_next = parent->children;
            if (parent->children != NULL)
                parent->children->sibling_prev = ctx;
            parent->children = ctx;
            ctx->linked = true;
        } else {
            /* relaxed: the context is not yet visible to other threads */
            atomic_store_explicit(&ctx->err, parent_err, memory_order_relaxed);
        }
        pthread_mutex_unlock(&parent->lock);
    }

    *out = ctx;
    return 0;
}

int sp_ctx_with_cancel(sp_ctx *parent, sp_ctx **out)
{
    return ctx_create("sp_ctx_with_cancel", parent, INT64_MAX, out);
}

int sp_ctx_with_deadline(sp_ctx *parent, int64_t deadline_ns, sp_ctx **out)
{
    return ctx_create("sp_ctx_with_deadline", parent, deadline_ns, out);
}

int sp_ctx_with_timeout(sp_ctx *parent, int64_t timeout_ns, sp_ctx **out)
{
    int64_t now = sp_now_ns();
    int64_t deadline;
    if (timeout_ns <= 0)
        deadline = now;
    else if (timeout_ns > INT64_MAX - now)
        deadline = INT64_MAX;
    else
        deadline = now + timeout_ns;
    return ctx_create("sp_ctx_with_timeout", parent, deadline, out);
}

/* Sets err and wakes waiters and children; reason is the error to record. */
static void ctx_end(sp_ctx *ctx, int reason)
{
    int expected = 0;
    /* seq_cst: a waiter registers under the lock and then checks err; this
     * store and that check must not both miss each other */
    if (!atomic_compare_exchange_strong_explicit(&ctx->err, &expected, reason,
                                                 memory_order_seq_cst, memory_order_seq_cst))
        return;

    pthread_mutex_lock(&ctx->lock);
    for (sp__waiter *w = ctx->waiters; w != NULL; w = w->ctx_next)
        sp__waiter_wake(w);

    sp_ctx *child = ctx->children;
    ctx->children = NULL;
    while (child != NULL) {
        sp_ctx *next = child->sibling_next;
        child->linked = false;
        child->sibling_prev = NULL;
        child->sibling_next = NULL;
        ctx_end(child, reason);
        child = next;
    }
    pthread_mutex_unlock(&ctx->lock);
}

void sp_ctx_cancel(sp_ctx *ctx)
{
    if (is_background(ctx))
        return;

    int reason = ECANCELED;
    if (ctx->deadline_ns != INT64_MAX && sp_now_ns() >= ctx->deadline_ns)
        reason = ETIMEDOUT;
    ctx_end(ctx, reason);
}

int sp_ctx_err(const sp_ctx *ctx)
{
    if (is_background(ctx))
        return 0;

    /* acquire: pairs with the CAS in ctx_end */
    int err = atomic_load_explicit(&ctx->err, memory_order_acquire);
    if (err != 0)
        return err;
    if (ctx->deadline_ns != INT64_MAX && sp_now_ns() >= ctx->deadline_ns)
        return ETIMEDOUT;
    return 0;
}

int64_t sp_ctx_deadline(const sp_ctx *ctx)
{
    return is_background(ctx) ? INT64_MAX : ctx->deadline_ns;
}

static void ctx_unref(sp_ctx *ctx)
{
    while (ctx != NULL && !is_background(ctx)) {
        /* acq_rel: the last release must see every write made under the
         * other references before it frees the context */
        if (atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
            return;

        sp_ctx *parent = ctx->parent;
        pthread_mutex_destroy(&ctx->lock);
        sp__free(ctx, sizeof *ctx, SP_CACHE_LINE);
        ctx = parent;
    }
}

void sp_ctx_release(sp_ctx *ctx)
{
    if (is_background(ctx))
        return;

    sp_ctx_cancel(ctx);

    sp_ctx *parent = ctx->parent;
    if (parent != NULL) {
        pthread_mutex_lock(&parent->lock);
        if (ctx->linked) {
            if (ctx->sibling_prev != NULL)
                ctx->sibling_prev->sibling_next = ctx->sibling_next;
            else
                parent->children = ctx->sibling_next;
            if (ctx->sibling_next != NULL)
                ctx->sibling_next->sibling_prev = ctx->sibling_prev;
            ctx->linked = false;
        }
        pthread_mutex_unlock(&parent->lock);
    }

    ctx_unref(ctx);
}

int sp__ctx_watch(sp_ctx *ctx, sp__waiter *w)
{
    if (is_background(ctx))
        return 0;

    pthread_mutex_lock(&ctx->lock);
    /* seq_cst: pairs with the CAS in ctx_end (see there) */
    int err = atomic_load_explicit(&ctx->err, memory_order_seq_cst);
    if (err == 0) {
        w->ctx_prev = NULL;
        w->ctx_next = ctx->waiters;
        if (ctx->waiters != NULL)
            ctx->waiters->ctx_prev = w;
        ctx->waiters = w;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (err != 0)
        return err;

    /* The deadline may have passed without a cancel: leave no registration
     * behind, as the contract for an ended context promises. */
    err = sp_ctx_err(ctx);
    if (err != 0)
        sp__ctx_unwatch(ctx, w);
    return err;
}

void sp__ctx_unwatch(sp_ctx *ctx, sp__waiter *w)
{
    if (is_background(ctx))
        return;

    pthread_mutex_lock(&ctx->lock);
    bool registered = w->ctx_prev != NULL || ctx->waiters == w;
    if (registered) {
        if (w->ctx_prev != NULL)
            w->ctx_prev->ctx_next = w->ctx_next;
        else
            ctx->waiters = w->ctx_next;
        if (w->ctx_next != NULL)
            w->ctx_next->ctx_prev = w->ctx_prev;
    }
    w->ctx_prev = NULL;
    w->ctx_next = NULL;
    pthread_mutex_unlock(&ctx->lock);
}

unsigned sp__ctx_child_count(sp_ctx *ctx)
{
    if (is_background(ctx))
        return 0;

    unsigned count = 0;
    pthread_mutex_lock(&ctx->lock);
    for (sp_ctx *child = ctx->children; child != NULL; child = child->sibling_next)
        count++;
    pthread_mutex_unlock(&ctx->lock);
    return count;
}
