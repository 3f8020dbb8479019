/*
 * Futex wait and wake on a 32-bit word, private to the process.
 * Deadlines are absolute CLOCK_MONOTONIC nanoseconds; INT64_MAX waits
 * without a deadline.
 */
#ifndef SP_PLATFORM_FUTEX_H
#define SP_PLATFORM_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * Sleeps while *word == expected, until a wake or the deadline. Returns 0
 * when woken or when the word did not hold expected (the caller rechecks its
 * condition either way; spurious returns are possible), ETIMEDOUT once the
 * deadline has passed. EINTR and EAGAIN are retried or mapped to 0, never
 * returned.
 */
int sp__futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t deadline_ns);

/* Wakes up to count threads sleeping on word (INT32_MAX: all). */
void sp__futex_wake(_Atomic uint32_t *word, int count);

#endif
