/*
 * Bounded multi-producer multi-consumer channel of fixed-size elements.
 *
 * A channel copies elem_size bytes per element in and out. Every element
 * whose send returned 0 is received exactly once, also when the channel is
 * closed afterwards: receivers drain what was sent before the close and
 * then get EPIPE.
 *
 * Capacity 0 makes an unbuffered (rendezvous) channel as in Go: a send
 * completes only when a receiver takes the element directly from it.
 * Element size 0 makes a channel of tokens that carry no data; elem may then
 * be NULL in every call.
 *
 * Blocking calls take a context: NULL (or the background context) waits
 * forever, a canceled context returns ECANCELED and a passed deadline
 * ETIMEDOUT, in both cases with nothing sent or received. The context is
 * consulted only when the call has to wait: an operation that can complete
 * at once completes even if the context has already ended. Signals never
 * interrupt a wait (no EINTR). On a pool worker a blocking call lets the
 * pool start a replacement worker while it sleeps, so tasks may block on
 * channels without starving the pool.
 *
 * All functions are thread-safe except sp_chan_destroy, which must not run
 * concurrently with any other call on the same channel.
 */
#ifndef STEALPOOL_CHAN_H
#define STEALPOOL_CHAN_H

#include <stdbool.h>
#include <stddef.h>

#include <stealpool/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_chan sp_chan;

/*
 * Creates a channel holding up to capacity elements of elem_size bytes.
 * Never blocks; callable from a worker. Returns 0 and stores the channel in
 * *out, EINVAL when out is NULL or capacity * elem_size does not fit in
 * memory (capacity is limited to 2^32 elements), or ENOMEM.
 */
int sp_chan_create(sp_chan **out, size_t elem_size, size_t capacity);

/*
 * Copies *elem into the channel, waiting while it is full (on an unbuffered
 * channel: until a receiver takes it). Blocks; callable from a worker.
 * Returns 0 once the element is in the channel, EPIPE when the channel is
 * or becomes closed before that (the element is not delivered), ECANCELED
 * or ETIMEDOUT when ctx ends first (nothing sent), EINVAL when ch is NULL
 * or elem is NULL with a non-zero element size.
 */
int sp_chan_send(sp_chan *ch, const void *elem, sp_ctx *ctx);

/*
 * Copies the oldest element into *elem, waiting while the channel is empty.
 * Blocks; callable from a worker. Returns 0 with an element, EPIPE when the
 * channel is closed and every element sent before the close has been
 * received (at once, without waiting), ECANCELED or ETIMEDOUT when ctx ends
 * first (nothing received), EINVAL when ch is NULL or elem is NULL with a
 * non-zero element size.
 */
int sp_chan_recv(sp_chan *ch, void *elem, sp_ctx *ctx);

/*
 * Sends *elem only if that needs no waiting: a free slot, or on an
 * unbuffered channel a receiver already blocked in sp_chan_recv. Never
 * blocks; callable from a worker. Returns true when sent, false when full,
 * closed or given invalid arguments.
 */
bool sp_chan_try_send(sp_chan *ch, const void *elem);

/*
 * Receives into *elem only if an element is ready (on an unbuffered
 * channel: a sender already blocked in sp_chan_send). Never blocks;
 * callable from a worker. Returns true with an element, false when empty,
 * closed and drained, or given invalid arguments. A send that is still
 * copying its element may be missed, so false does not prove that the
 * channel stayed empty.
 */
bool sp_chan_try_recv(sp_chan *ch, void *elem);

/*
 * Closes the channel: later sends return EPIPE at once, blocked senders
 * wake and return EPIPE without delivering their element, blocked receivers
 * wake, drain what was sent before the close, then return EPIPE. Never
 * blocks; callable from a worker. Returns 0, EPIPE when the channel was
 * already closed, EINVAL when ch is NULL.
 */
int sp_chan_close(sp_chan *ch);

/*
 * Frees the channel and any elements still in it. Callable from a worker.
 * No call on ch may start once destroy has begun. If threads are still
 * blocked in send or recv, destroy logs an error, closes the channel and
 * waits (briefly, by yielding) until they have returned EPIPE, then frees
 * it. NULL is ignored.
 */
void sp_chan_destroy(sp_chan *ch);

#ifdef __cplusplus
}
#endif

#endif
