/* Rate limiter with the semantics of Go's golang.org/x/time/rate. */
#ifndef STEALPOOL_LIMITER_H
#define STEALPOOL_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include <stealpool/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_limiter sp_limiter;

typedef struct sp_reservation {
    int64_t delay_ns; /* how long the caller must wait before acting */
    /* Opaque to callers. */
    sp_limiter *limiter_;
    int64_t     tokens_;
    int64_t     act_at_ns_;
    int64_t     state_;
} sp_reservation;

int    sp_limiter_create(sp_limiter **out, double rate_per_sec, int64_t burst);
bool   sp_limiter_allow(sp_limiter *l, int64_t n);
int    sp_limiter_wait(sp_limiter *l, int64_t n, sp_ctx *ctx);
int    sp_limiter_reserve(sp_limiter *l, int64_t n, sp_reservation *r);
void   sp_reservation_cancel(sp_reservation *r);
bool   sp_limiter_allow_at(sp_limiter *l, int64_t n, int64_t now_ns);
int    sp_limiter_reserve_at(sp_limiter *l, int64_t n, int64_t now_ns, sp_reservation *r);
void   sp_reservation_cancel_at(sp_reservation *r, int64_t now_ns);
double sp_limiter_tokens_at(sp_limiter *l, int64_t now_ns);
void   sp_limiter_set_rate(sp_limiter *l, double rate_per_sec);
void   sp_limiter_set_burst(sp_limiter *l, int64_t burst);
void   sp_limiter_destroy(sp_limiter *l);

#ifdef __cplusplus
}
#endif

#endif
