/*
 * Parking for every blocking call of the sync layer.
 *
 * A blocked thread owns one sp__waiter on its stack and sleeps on the
 * waiter's own futex word. Whoever changes the condition it waits for (a
 * release, a send, a close, a context ending) calls sp__waiter_wake, which
 * bumps the word before the futex wake. The sleeper reads the word before it
 * checks its condition and sleeps only while the word still holds that
 * value, so a wake that lands between the check and the sleep is not lost.
 *
 * Typical loop:
 *
 *     sp__waiter w;
 *     sp__waiter_init(&w);
 *     int rc = sp__ctx_watch(ctx, &w);            // 0, or the context's error
 *     while (rc == 0) {
 *         uint32_t seen = sp__waiter_seq(&w);
 *         if (condition holds) break;
 *         rc = sp__waiter_sleep(&w, seen, ctx);     // 0, or the context's error
 *     }
 *     sp__ctx_unwatch(ctx, &w);
 */
#ifndef SP_SYNC_WAIT_H
#define SP_SYNC_WAIT_H

#include <stdatomic.h>
#include <stdint.h>

#include <stealpool/ctx.h>

typedef struct sp__waiter {
    _Atomic uint32_t   seq;      /* bumped by every wake; the futex word */
    struct sp__waiter *ctx_prev; /* links in the watched context's list, under its lock */
    struct sp__waiter *ctx_next;
} sp__waiter;

void sp__waiter_init(sp__waiter *w);

/* Returns the wake sequence to pass to sp__waiter_sleep (acquire). */
uint32_t sp__waiter_seq(sp__waiter *w);

/* Wakes w: any thread, never blocks. */
void sp__waiter_wake(sp__waiter *w);

/*
 * Sleeps until w is woken after seen was read, or ctx ends (cancel or
 * deadline). Returns 0 after a wake (possibly spurious: recheck the
 * condition) or ctx's error once it has ended. ctx NULL never ends. On a
 * worker thread the pool starts a replacement worker for the time of the
 * sleep, so blocking never takes a worker away from the pool.
 */
int sp__waiter_sleep(sp__waiter *w, uint32_t seen, sp_ctx *ctx);

/*
 * Registers w so that canceling ctx (or an ancestor) wakes it. Returns 0, or
 * ctx's error without registering when it has already ended. ctx NULL or the
 * background context: nothing to register, returns 0.
 */
int sp__ctx_watch(sp_ctx *ctx, sp__waiter *w);

/* Removes w from ctx's list; harmless when it was not registered. */
void sp__ctx_unwatch(sp_ctx *ctx, sp__waiter *w);

/* Returns the number of children linked to ctx (for leak tests). */
unsigned sp__ctx_child_count(sp_ctx *ctx);

#endif
