/*
 * Rate limiter: the generic cell rate algorithm (GCRA) on one atomic word.
 *
 * State word (state), by mode:
 *   MODE_GCRA  the theoretical arrival time (TAT) in CLOCK_MONOTONIC ns:
 *              the time at which the bucket would be full again. At time
 *              now the bucket holds burst - (max(TAT, now) - now) / I tokens,
 *              where I = 1e9 / rate ns per token. Taking n tokens moves the
 *              TAT to max(TAT, now) + n * I; an allow is admitted when the
 *              new TAT is at most now + tau (tau = burst * I), and a
 *              reservation may act at new TAT - tau. TAT_FULL means "full
 *              long ago".
 *   MODE_ZERO  rate 0 (or below one token per SPAN_MAX): tokens used so far,
 *              0 .. burst; nothing refills.
 *   MODE_INF   unused; everything is admitted.
 * STATE_LOCKED marks a rate or burst change in progress; readers retry.
 *
 * Parameters (mode, rate, burst, tau, cost of one token) change only under
 * write_lock and are published with a sequence lock (gen, odd while a
 * change is in progress). A reader loads state first, then reads the
 * parameters under gen, and commits with a CAS on state. A change swaps
 * state for STATE_LOCKED, converts the tokens available now to the new
 * parameters and stores the converted state, so a reader whose state value
 * predates the change fails its CAS.
 * NOTE: if a change converts the state to exactly the value a reader
 * loaded before it (same nanosecond), that reader's request is applied with
 * the parameters from before the change: an error of at most that one
 * request.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool/ctx.h>
#include <stealpool/limiter.h>

#include "alloc.h"
#include "log.h"
#include "sync/wait.h"

/* Longest span the arithmetic represents: 2^60 ns, about 36.5 years. Times
 * stay below 2^62 (146 years of uptime) and TATs below now + 2 * SPAN_MAX,
 * so no sum overflows; saturating adds guard against odd _at inputs. */
#define SPAN_MAX ((int64_t)1 << 60)

#define STATE_LOCKED INT64_MIN
#define TAT_FULL     (INT64_MIN + 1)

enum { MODE_GCRA, MODE_ZERO, MODE_INF };
enum { RESERVATION_NONE, RESERVATION_ACTIVE };

struct sp_limiter {
    _Alignas(SP_CACHE_LINE) _Atomic int64_t state;

    /* Parameters: written under write_lock inside a gen change, read under
     * gen (sequence lock). */
    _Alignas(SP_CACHE_LINE) _Atomic uint32_t gen;
    _Atomic int     mode;
    _Atomic double  rate;     /* tokens per second */
    _Atomic int64_t burst;
    _Atomic int64_t tau_ns;   /* burst * I, capped at SPAN_MAX */
    _Atomic int64_t cost_one; /* ns for one token */

    pthread_mutex_t write_lock;
};

typedef struct params {
    int      mode;
    double   rate;
    int64_t  burst;
    int64_t  tau_ns;
    int64_t  cost_one;
    uint32_t gen;
} params;

/* ---- Arithmetic ------------------------------------------------------------ */

static inline int64_t sat_add(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN + 2;
    return sum;
}

static inline int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Rounds a non-negative nanosecond count to the nearest integer, capped at
 * SPAN_MAX. */
static int64_t span_from_double(double ns)
{
    if (!(ns < (double)SPAN_MAX))
        return SPAN_MAX;
    return (int64_t)(ns + 0.5);
}

/* Nanoseconds that n tokens take to refill; at least 1 for n >= 1. */
static inline int64_t cost_ns(const params *p, int64_t n)
{
    if (n == 1)
        return p->cost_one;
    if (n == 0)
        return 0;

    int64_t cost = span_from_double((double)n * 1e9 / p->rate);
    return cost < 1 ? 1 : cost;
}

/* Tokens that refill in ns nanoseconds (ns may be negative). */
static double tokens_from_ns(const params *p, int64_t ns)
{
    return (double)ns * p->rate / 1e9;
}

/* ---- Parameters ------------------------------------------------------------ */

/* Fills the derived parameters for rate and burst. */
static void params_compute(params *p, double rate, int64_t burst)
{
    p->rate = rate;
    p->burst = burst;
    p->tau_ns = 0;
    p->cost_one = 0;

    if (isinf(rate)) {
        p->mode = MODE_INF;
        return;
    }
    if (rate == 0 || 1e9 / rate >= (double)SPAN_MAX) {
        p->mode = MODE_ZERO;
        return;
    }

    p->mode = MODE_GCRA;
    p->tau_ns = span_from_double((double)burst * 1e9 / rate);
    p->cost_one = span_from_double(1e9 / rate);
    if (p->cost_one < 1)
        p->cost_one = 1;
}

/* Returns a consistent snapshot of the parameters (sequence-lock read). */
static inline void params_read(sp_limiter *l, params *p)
{
    for (;;) {
        /* acquire: pairs with the release increment that ends a change in
         * params_publish, so the fields read below are at least that new */
        uint32_t before = atomic_load_explicit(&l->gen, memory_order_acquire);
        if (before & 1) {
            sched_yield();
            continue;
        }

        /* acquire: pairs with the release stores in params_store. A field
         * written by a change carries that change's odd gen with it, so the
         * recheck below cannot miss the change. The acquire also keeps the
         * recheck after these loads without a fence, which ThreadSanitizer
         * does not model. */
        p->mode = atomic_load_explicit(&l->mode, memory_order_acquire);
        p->rate = atomic_load_explicit(&l->rate, memory_order_acquire);
        p->burst = atomic_load_explicit(&l->burst, memory_order_acquire);
        p->tau_ns = atomic_load_explicit(&l->tau_ns, memory_order_acquire);
        p->cost_one = atomic_load_explicit(&l->cost_one, memory_order_acquire);

        uint32_t after = atomic_load_explicit(&l->gen, memory_order_relaxed);
        if (after == before) {
            p->gen = before;
            return;
        }
    }
}

/* Stores new parameters; called under write_lock with gen odd. */
static void params_store(sp_limiter *l, const params *p)
{
    /* release: pairs with the acquire loads in params_read, carrying the
     * odd gen stored before these */
    atomic_store_explicit(&l->mode, p->mode, memory_order_release);
    atomic_store_explicit(&l->rate, p->rate, memory_order_release);
    atomic_store_explicit(&l->burst, p->burst, memory_order_release);
    atomic_store_explicit(&l->tau_ns, p->tau_ns, memory_order_release);
    atomic_store_explicit(&l->cost_one, p->cost_one, memory_order_release);
}

/* Loads the state word, waiting out a rate or burst change. */
static inline int64_t state_load(sp_limiter *l)
{
    for (;;) {
        /* acquire: pairs with the release store that ends a change, and
         * orders the parameter reads after this load */
        int64_t s = atomic_load_explicit(&l->state, memory_order_acquire);
        if (s != STATE_LOCKED)
            return s;
        sched_yield();
    }
}

static inline bool state_cas(sp_limiter *l, int64_t expected, int64_t desired)
{
    /* acq_rel: a request is ordered after the one it replaces; pairs with
     * itself in other threads and with the exchange in a change */
    return atomic_compare_exchange_strong_explicit(&l->state, &expected, desired,
                                                   memory_order_acq_rel,
                                                   memory_order_relaxed);
}

/* Tokens available at now for a state s under parameters p. */
static double tokens_of(const params *p, int64_t s, int64_t now)
{
    switch (p->mode) {
    case MODE_INF:
        return (double)p->burst;
    case MODE_ZERO:
        return (double)(p->burst - s);
    default: {
        int64_t debt = sat_add(max64(s, now), -now);
        return tokens_from_ns(p, p->tau_ns - debt);
    }
    }
}

/* Encodes tokens available at now as a state word under parameters p. */
static int64_t state_of(const params *p, double tokens, int64_t now)
{
    if (tokens > (double)p->burst)
        tokens = (double)p->burst;

    switch (p->mode) {
    case MODE_INF:
        return 0;
    case MODE_ZERO: {
        double used = (double)p->burst - floor(tokens);
        if (used < 0)
            used = 0;
        return used > (double)p->burst ? p->burst : (int64_t)used;
    }
    default: {
        /* TAT = now + tau - tokens * I, never before now (the bucket is
         * full at most). */
        double debt_ns = (double)p->tau_ns - tokens * 1e9 / p->rate;
        return sat_add(now, span_from_double(debt_ns < 0 ? 0 : debt_ns));
    }
    }
}

/* ---- Requests -------------------------------------------------------------- */

typedef struct grant {
    int64_t delay_ns;
    int64_t act_at;
    int64_t cost;
    int64_t tat_after;
    uint32_t gen;
    bool     holds_tokens;
} grant;

static bool request_valid(const char *fn, sp_limiter *l, int64_t n, int64_t now)
{
    if (l == NULL) {
        sp__log("%s: limiter is NULL", fn);
        return false;
    }
    if (n < 0) {
        sp__log("%s: n %lld is negative", fn, (long long)n);
        return false;
    }
    if (now < 0) {
        sp__log("%s: time %lld ns is negative; pass a CLOCK_MONOTONIC time",
                fn, (long long)now);
        return false;
    }
    return true;
}

/*
 * Takes n tokens at now, acting no later than latest_act. Returns 0 with
 * g filled, EINVAL when n > burst with a finite rate, or ETIMEDOUT when the
 * tokens would come later than latest_act or never (then nothing changes).
 * latest_act == now is an allow. With never_ok, a request that can never
 * be met returns 0 with an infinite delay instead of ETIMEDOUT.
 */
static int take(sp_limiter *l, const char *fn, int64_t n, int64_t now, int64_t latest_act,
                bool never_ok, grant *g)
{
    for (;;) {
        int64_t s = state_load(l);
        params p;
        params_read(l, &p);

        *g = (grant){.act_at = now, .gen = p.gen};
        if (p.mode == MODE_INF)
            return 0;
        if (n > p.burst) {
            sp__log("%s: n %lld is above the burst %lld", fn, (long long)n,
                    (long long)p.burst);
            return EINVAL;
        }

        int64_t desired;
        if (p.mode == MODE_ZERO) {
            if (s + n > p.burst) {
                if (!never_ok)
                    return ETIMEDOUT;
                g->delay_ns = INT64_MAX;
                g->act_at = INT64_MAX;
                return 0;
            }
            desired = s + n;
            g->cost = n;
        } else {
            int64_t cost = cost_ns(&p, n);
            desired = sat_add(max64(s, now), cost);
            int64_t act = desired - p.tau_ns;
            if (act - now > SPAN_MAX) {
                if (!never_ok)
                    return ETIMEDOUT;
                g->delay_ns = INT64_MAX;
                g->act_at = INT64_MAX;
                return 0;
            }
            if (act > latest_act)
                return ETIMEDOUT;
            g->cost = cost;
            g->tat_after = desired;
            g->act_at = max64(act, now);
            g->delay_ns = g->act_at - now;
        }

        if (n == 0 || state_cas(l, s, desired)) {
            g->holds_tokens = n > 0;
            return 0;
        }
    }
}

/* Takes n tokens at now if available: the allow path, without the
 * reservation bookkeeping of take. */
static inline bool admit(sp_limiter *l, const char *fn, int64_t n, int64_t now)
{
    for (;;) {
        int64_t s = state_load(l);
        params p;
        params_read(l, &p);

        if (p.mode == MODE_INF)
            return true;
        if (n > p.burst) {
            sp__log("%s: n %lld is above the burst %lld", fn, (long long)n,
                    (long long)p.burst);
            return false;
        }

        int64_t desired;
        if (p.mode == MODE_ZERO) {
            if (s + n > p.burst)
                return false;
            desired = s + n;
        } else {
            desired = sat_add(max64(s, now), cost_ns(&p, n));
            if (desired - p.tau_ns > now)
                return false;
        }
        if (n == 0 || state_cas(l, s, desired))
            return true;
    }
}

static void grant_to_reservation(sp_limiter *l, const grant *g, sp_reservation *r)
{
    r->delay_ns = g->delay_ns;
    r->limiter_ = l;
    r->cost_ = g->cost;
    r->tat_after_ = g->tat_after;
    r->act_at_ns_ = g->act_at;
    r->gen_ = g->gen;
    r->state_ = g->holds_tokens ? RESERVATION_ACTIVE : RESERVATION_NONE;
}

/* ---- Public API -------------------------------------------------------------- */

static bool rate_valid(const char *fn, double rate)
{
    if (isnan(rate) || rate < 0) {
        sp__log("%s: rate %g is invalid; expected >= 0 or INFINITY", fn, rate);
        return false;
    }
    return true;
}

int sp_limiter_create(sp_limiter **out, double rate_per_sec, int64_t burst)
{
    if (out == NULL) {
        sp__log("sp_limiter_create: out is NULL");
        return EINVAL;
    }
    if (!rate_valid("sp_limiter_create", rate_per_sec))
        return EINVAL;
    if (burst < 0) {
        sp__log("sp_limiter_create: burst %lld is negative", (long long)burst);
        return EINVAL;
    }

    sp_limiter *l = sp__alloc(sizeof *l, SP_CACHE_LINE);
    if (l == NULL)
        return ENOMEM;

    params p;
    params_compute(&p, rate_per_sec, burst);
    atomic_init(&l->gen, 0);
    atomic_init(&l->state, p.mode == MODE_GCRA ? TAT_FULL : 0);
    atomic_init(&l->mode, p.mode);
    atomic_init(&l->rate, p.rate);
    atomic_init(&l->burst, p.burst);
    atomic_init(&l->tau_ns, p.tau_ns);
    atomic_init(&l->cost_one, p.cost_one);
    pthread_mutex_init(&l->write_lock, NULL);

    *out = l;
    return 0;
}

bool sp_limiter_allow_at(sp_limiter *l, int64_t n, int64_t now_ns)
{
    if (!request_valid("sp_limiter_allow_at", l, n, now_ns))
        return false;

    return admit(l, "sp_limiter_allow_at", n, now_ns);
}

bool sp_limiter_allow(sp_limiter *l, int64_t n)
{
    if (!request_valid("sp_limiter_allow", l, n, 0))
        return false;

    return admit(l, "sp_limiter_allow", n, sp_now_ns());
}

int sp_limiter_reserve_at(sp_limiter *l, int64_t n, int64_t now_ns, sp_reservation *r)
{
    if (!request_valid("sp_limiter_reserve_at", l, n, now_ns))
        return EINVAL;
    if (r == NULL) {
        sp__log("sp_limiter_reserve_at: reservation is NULL");
        return EINVAL;
    }

    grant g;
    int rc = take(l, "sp_limiter_reserve_at", n, now_ns, INT64_MAX, true, &g);
    if (rc == 0)
        grant_to_reservation(l, &g, r);
    return rc;
}

int sp_limiter_reserve(sp_limiter *l, int64_t n, sp_reservation *r)
{
    return sp_limiter_reserve_at(l, n, sp_now_ns(), r);
}

void sp_reservation_cancel_at(sp_reservation *r, int64_t now_ns)
{
    if (r == NULL || r->limiter_ == NULL || r->state_ != RESERVATION_ACTIVE)
        return;
    if (r->act_at_ns_ < now_ns)
        return; /* already acted on: the tokens were used */

    sp_limiter *l = r->limiter_;
    for (;;) {
        int64_t s = state_load(l);
        params p;
        params_read(l, &p);
        if (p.gen != r->gen_ || p.mode == MODE_INF)
            break;

        int64_t desired;
        if (p.mode == MODE_ZERO) {
            desired = max64(0, s - r->cost_);
        } else {
            /* Give back the cost minus what was reserved after r, never more
             * than r took. */
            int64_t reserved_after = sat_add(s, -r->tat_after_);
            int64_t restore = r->cost_ - max64(0, reserved_after);
            if (restore <= 0)
                break;
            desired = s - restore;
        }
        if (state_cas(l, s, desired))
            break;
    }
    r->state_ = RESERVATION_NONE;
}

void sp_reservation_cancel(sp_reservation *r)
{
    sp_reservation_cancel_at(r, sp_now_ns());
}

double sp_limiter_tokens_at(sp_limiter *l, int64_t now_ns)
{
    if (!request_valid("sp_limiter_tokens_at", l, 0, now_ns))
        return 0;

    int64_t s = state_load(l);
    params p;
    params_read(l, &p);
    return tokens_of(&p, s, now_ns);
}

/* Sleeps until r's time to act or until ctx ends; returns 0 or ctx's error. */
static int sleep_until_act(sp_reservation *r, sp_ctx *ctx)
{
    sp_ctx *timer;
    int rc = sp_ctx_with_deadline(ctx, r->act_at_ns_, &timer);
    if (rc != 0) {
        sp_reservation_cancel(r);
        return rc;
    }

    sp__waiter w;
    sp__waiter_init(&w);
    rc = sp__ctx_watch(timer, &w);
    while (rc == 0) {
        uint32_t seen = sp__waiter_seq(&w);
        rc = sp__waiter_sleep(&w, seen, timer);
    }
    sp__ctx_unwatch(timer, &w);
    sp_ctx_release(timer);

    int64_t now = sp_now_ns();
    if (now >= r->act_at_ns_)
        return 0;

    sp_reservation_cancel_at(r, now);
    int err = sp_ctx_err(ctx);
    return err != 0 ? err : rc;
}

int sp_limiter_wait(sp_limiter *l, int64_t n, sp_ctx *ctx)
{
    if (!request_valid("sp_limiter_wait", l, n, 0))
        return EINVAL;

    int err = sp_ctx_err(ctx);
    if (err != 0)
        return err;

    grant g;
    int64_t now = sp_now_ns();
    int rc = take(l, "sp_limiter_wait", n, now, sp_ctx_deadline(ctx), false, &g);
    if (rc != 0 || g.delay_ns == 0)
        return rc;

    sp_reservation r;
    grant_to_reservation(l, &g, &r);
    return sleep_until_act(&r, ctx);
}

/* Applies new parameters, keeping the tokens available now. */
static void change_params(sp_limiter *l, double rate, int64_t burst_or_negative)
{
    pthread_mutex_lock(&l->write_lock);

    params old;
    params_read(l, &old);
    int64_t burst = burst_or_negative >= 0 ? burst_or_negative : old.burst;
    if (isnan(rate))
        rate = old.rate;

    /* relaxed: the release stores of the fields in params_store publish it */
    atomic_store_explicit(&l->gen, old.gen + 1, memory_order_relaxed);

    /* acq_rel: takes the state from the last request and keeps readers out */
    int64_t s = atomic_exchange_explicit(&l->state, STATE_LOCKED, memory_order_acq_rel);
    int64_t now = sp_now_ns();
    double tokens = old.mode == MODE_INF ? INFINITY : tokens_of(&old, s, now);

    params p;
    params_compute(&p, rate, burst);
    params_store(l, &p);

    /* release: publishes the new parameters with the state */
    atomic_store_explicit(&l->state, state_of(&p, tokens, now), memory_order_release);
    /* release: pairs with the acquire load of gen in params_read */
    atomic_store_explicit(&l->gen, old.gen + 2, memory_order_release);

    pthread_mutex_unlock(&l->write_lock);
}

void sp_limiter_set_rate(sp_limiter *l, double rate_per_sec)
{
    if (l == NULL) {
        sp__log("sp_limiter_set_rate: limiter is NULL");
        return;
    }
    if (!rate_valid("sp_limiter_set_rate", rate_per_sec))
        return;

    change_params(l, rate_per_sec, -1);
}

void sp_limiter_set_burst(sp_limiter *l, int64_t burst)
{
    if (l == NULL) {
        sp__log("sp_limiter_set_burst: limiter is NULL");
        return;
    }
    if (burst < 0) {
        sp__log("sp_limiter_set_burst: burst %lld is negative", (long long)burst);
        return;
    }

    change_params(l, NAN, burst);
}

void sp_limiter_destroy(sp_limiter *l)
{
    if (l == NULL)
        return;

    pthread_mutex_destroy(&l->write_lock);
    sp__free(l, sizeof *l, SP_CACHE_LINE);
}
