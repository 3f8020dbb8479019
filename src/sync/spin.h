/*
 * Bounded spinning before a blocking call sleeps.
 *
 * A waiter whose condition is likely to turn true within microseconds
 * (a slot or unit freed by a short task, an element sent by a busy
 * producer) polls for a while first, because a futex sleep and wake cost
 * two context switches, tens of microseconds on a virtual machine. Every
 * SP_SPIN_CLOCK_TRIES pauses it reads the clock and yields the CPU: when
 * the thread it waits for shares its CPU, spinning alone would keep that
 * thread off the CPU for a whole time slice.
 *
 *     sp__spin spin;
 *     sp__spin_start(&spin, SP_SPIN_DEFAULT_NS);
 *     while (!condition())
 *         if (!sp__spin_pause(&spin))
 *             break;   // time is up: sleep
 */
#ifndef SP_SYNC_SPIN_H
#define SP_SYNC_SPIN_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include <ck_pr.h>

#include <stealpool/ctx.h>

/* The default spin, equal to the pool's default idle spin (SP_SPIN_US). */
#define SP_SPIN_DEFAULT_NS 50000
#define SP_SPIN_CLOCK_TRIES 64u

typedef struct sp__spin {
    int64_t  end_ns;
    unsigned tries;
} sp__spin;

static inline void sp__spin_start(sp__spin *spin, int64_t duration_ns)
{
    spin->end_ns = sp_now_ns() + duration_ns;
    spin->tries = 0;
}

/* Pauses once. Returns false once the spin time is over. */
static inline bool sp__spin_pause(sp__spin *spin)
{
    ck_pr_stall();
    if (++spin->tries % SP_SPIN_CLOCK_TRIES != 0)
        return true;
    if (sp_now_ns() >= spin->end_ns)
        return false;
    sched_yield();
    return true;
}

#endif
