/*
 * Token-bucket rate limiter with the semantics of Go's
 * golang.org/x/time/rate (Allow, Wait, Reserve, Reservation.Cancel).
 *
 * Tokens refill at rate per second and at most burst are stored; a request
 * for n tokens is admitted when n tokens are available. The limiter is the
 * generic cell rate algorithm (GCRA): one atomic 64-bit theoretical arrival
 * time (TAT) in nanoseconds, moved with one CAS per admitted request, so
 * allow, reserve and wait are lock-free.
 *
 * Exact and approximate:
 * - Time is integer nanoseconds of CLOCK_MONOTONIC (sp_now_ns); the plain
 *   calls read nothing else, so wall-clock steps change nothing.
 * - A request for n tokens costs n / rate seconds rounded to the nearest
 *   nanosecond, and at least 1 ns. Rates above 1e9/s are therefore reached
 *   only by requests of several tokens (a request of 1 token at 1e12/s
 *   costs 1 ns), and the long-run rate is exact within half a nanosecond
 *   per request.
 * - tokens_at converts to double and is exact to double rounding.
 * - Spans are capped at 2^60 ns (about 36.5 years). A bucket whose refill
 *   from empty to burst would take longer stores only that span's worth.
 *   A rate below one token per 2^60 ns (about 8.7e-10/s) is treated as
 *   rate 0, so the bucket never refills.
 * - A timestamp older than one already used never creates tokens: an older
 *   time sees at most the tokens of a newer one, and the TAT only moves
 *   back through a reservation cancel or a rate or burst change.
 *
 * Special rates: INFINITY admits everything at once and ignores burst.
 * Rate 0 never refills: the first burst tokens are admitted, then nothing.
 *
 * A refused call changes nothing. All functions are thread-safe and never
 * block unless stated; sp_limiter_destroy must not run concurrently with
 * other calls on the same limiter, and a reservation belongs to one thread
 * at a time.
 */
#ifndef STEALPOOL_LIMITER_H
#define STEALPOOL_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include <stealpool/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_limiter sp_limiter;

/*
 * A granted reservation. delay_ns is how long the caller must wait before
 * acting: 0 to act at once, INT64_MAX when the tokens can never be
 * available (the reservation then took nothing). The other fields are
 * private to the limiter.
 */
typedef struct sp_reservation {
    int64_t delay_ns;
    /* Private. */
    sp_limiter *limiter_;
    int64_t     cost_;      /* nanoseconds of TAT, or tokens at rate 0 */
    int64_t     tat_after_; /* the TAT this reservation left behind */
    int64_t     act_at_ns_; /* when the caller may act */
    uint32_t    gen_;       /* rate/burst generation it was made under */
    int32_t     state_;     /* active, or nothing left to cancel */
} sp_reservation;

/*
 * Creates a limiter that refills rate_per_sec tokens per second (INFINITY
 * and 0 allowed) up to burst (>= 0) tokens, starting full. Never blocks.
 * Returns 0, EINVAL for a NULL out, a negative or NaN rate or a negative
 * burst, or ENOMEM.
 */
int sp_limiter_create(sp_limiter **out, double rate_per_sec, int64_t burst);

/*
 * Takes n tokens now if they are available. Never blocks; callable from a
 * worker. Returns true when admitted, false when not (nothing taken), when
 * n > burst with a finite rate, or for invalid arguments (n < 0, NULL).
 * n == 0 returns whether the limiter is not in debt.
 */
bool sp_limiter_allow(sp_limiter *l, int64_t n);

/* sp_limiter_allow at the CLOCK_MONOTONIC time now_ns (>= 0). */
bool sp_limiter_allow_at(sp_limiter *l, int64_t n, int64_t now_ns);

/*
 * Takes n tokens, sleeping until they are available. Blocks; callable from
 * a worker (the pool starts a replacement worker while it sleeps).
 * Returns 0 once admitted; ECANCELED at once without taking anything when
 * ctx is already canceled; ETIMEDOUT at once without taking anything when
 * ctx's deadline has passed or the tokens would become available only
 * after it (at rate 0 with too few tokens: always); ECANCELED or ETIMEDOUT
 * when ctx ends during the sleep, with the tokens given back as
 * sp_reservation_cancel does; EINVAL for n < 0, n > burst with a finite
 * rate, or a NULL limiter; ENOMEM when the sleep cannot be set up. ctx NULL
 * waits as long as needed.
 */
int sp_limiter_wait(sp_limiter *l, int64_t n, sp_ctx *ctx);

/*
 * Takes n tokens now or from the future and stores in r how long the
 * caller must wait before acting (r->delay_ns). Never blocks. Returns 0
 * with r filled (delay INT64_MAX: never, and nothing was taken), EINVAL for
 * n < 0, n > burst with a finite rate, or a NULL argument (r untouched).
 */
int sp_limiter_reserve(sp_limiter *l, int64_t n, sp_reservation *r);

/* sp_limiter_reserve at the CLOCK_MONOTONIC time now_ns (>= 0). */
int sp_limiter_reserve_at(sp_limiter *l, int64_t n, int64_t now_ns, sp_reservation *r);

/*
 * Gives back the tokens of a reservation whose time to act has not passed,
 * minus the tokens that later reservations were promised on top of it (the
 * rule of golang.org/x/time/rate), so later reservations keep their times
 * and no token is created from nothing. A reservation whose time to act is
 * before now, one made before a rate or burst change, and one already
 * canceled are left alone. Never blocks. NULL is ignored.
 */
void sp_reservation_cancel(sp_reservation *r);

/* sp_reservation_cancel at the CLOCK_MONOTONIC time now_ns. */
void sp_reservation_cancel_at(sp_reservation *r, int64_t now_ns);

/*
 * Returns the tokens available at now_ns, negative while reservations are
 * outstanding; burst for an infinite rate. Never blocks; changes nothing.
 * Returns 0 for a NULL limiter or a negative time.
 */
double sp_limiter_tokens_at(sp_limiter *l, int64_t now_ns);

/*
 * Changes the rate (INFINITY and 0 allowed), keeping the tokens available
 * now. Changes of rate and burst serialize on a small internal lock and
 * make concurrent allow/reserve calls retry for that moment. Never blocks
 * for long. An invalid rate (negative, NaN) or NULL limiter is logged and
 * ignored.
 */
void sp_limiter_set_rate(sp_limiter *l, double rate_per_sec);

/*
 * Changes the burst (>= 0), keeping the tokens available now up to the new
 * burst. Same locking as sp_limiter_set_rate. An invalid burst or NULL
 * limiter is logged and ignored.
 */
void sp_limiter_set_burst(sp_limiter *l, int64_t burst);

/* Frees the limiter; no call on it may be running or start. NULL is ignored. */
void sp_limiter_destroy(sp_limiter *l);

#ifdef __cplusplus
}
#endif

#endif
