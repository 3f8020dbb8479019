/*
 * Cancellation contexts and the monotonic clock.
 *
 * A context carries a cancellation signal and an optional deadline down a
 * tree: canceling a context cancels all its descendants, and a child's
 * deadline is never later than its parent's. Every blocking call of the
 * library takes a context (NULL: never ends) and returns ECANCELED or
 * ETIMEDOUT promptly once it ends, woken through its futex rather than by
 * polling. Deadlines are absolute CLOCK_MONOTONIC times in nanoseconds
 * (see sp_now_ns), so wall-clock changes do not affect them.
 *
 * All functions are thread-safe and never block, except that canceling a
 * context with many descendants walks them all. Passing a context after
 * sp_ctx_release dropped the last reference to it is undefined, as is
 * releasing a context while a blocking call still uses it.
 */
#ifndef STEALPOOL_CTX_H
#define STEALPOOL_CTX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_ctx sp_ctx;

/* Returns the root context, which is never canceled and has no deadline.
 * It needs no release. */
sp_ctx *sp_ctx_background(void);

/*
 * Creates a child of parent (NULL: the background context) that ends when
 * sp_ctx_cancel is called on it or when parent ends. A child of an ended
 * parent is created already ended. Returns 0, EINVAL for a NULL out, or
 * ENOMEM. Release the child with sp_ctx_release.
 */
int sp_ctx_with_cancel(sp_ctx *parent, sp_ctx **out);

/*
 * Creates a child of parent that also ends, with ETIMEDOUT, at deadline_ns
 * (CLOCK_MONOTONIC nanoseconds) or at the parent's deadline if that is
 * earlier. A deadline already past gives a context that has ended. No timer
 * thread is used: waiters sleep until the deadline. Returns as
 * sp_ctx_with_cancel does.
 */
int sp_ctx_with_deadline(sp_ctx *parent, int64_t deadline_ns, sp_ctx **out);

/* Creates a child with the deadline sp_now_ns() + timeout_ns, saturating at
 * INT64_MAX; a timeout of zero or less gives a context that has ended. */
int sp_ctx_with_timeout(sp_ctx *parent, int64_t timeout_ns, sp_ctx **out);

/*
 * Ends ctx and all its descendants with ECANCELED (ETIMEDOUT when the
 * deadline has already passed) and wakes every call blocked on them.
 * Idempotent; does nothing for NULL or the background context.
 */
void sp_ctx_cancel(sp_ctx *ctx);

/* Returns 0 while ctx is live, ECANCELED after a cancel, ETIMEDOUT once
 * its deadline has passed. NULL and the background context return 0. */
int sp_ctx_err(const sp_ctx *ctx);

/* Returns the effective deadline of ctx, or INT64_MAX when it has none. */
int64_t sp_ctx_deadline(const sp_ctx *ctx);

/*
 * Cancels ctx and drops the caller's reference. The parent forgets the
 * child at once, so a long-lived parent does not accumulate finished
 * children. Memory is freed when no descendant still refers to ctx. Does
 * nothing for NULL or the background context.
 */
void sp_ctx_release(sp_ctx *ctx);

/* Returns CLOCK_MONOTONIC in nanoseconds, the clock of every deadline. */
int64_t sp_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
