#include "platform/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <stealpool/ctx.h>

int sp__futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t deadline_ns)
{
    struct timespec ts;
    struct timespec *timeout = NULL;

    if (deadline_ns != INT64_MAX) {
        if (deadline_ns <= sp_now_ns())
            return ETIMEDOUT;
        ts.tv_sec = deadline_ns / 1000000000;
        ts.tv_nsec = deadline_ns % 1000000000;
        timeout = &ts;
    }

    /*
     * FUTEX_WAIT_BITSET takes an absolute deadline on CLOCK_MONOTONIC (the
     * default clock without FUTEX_CLOCK_REALTIME), so a retry after EINTR
     * keeps the original deadline and wall-clock steps change nothing.
     */
    for (;;) {
        long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET_PRIVATE,
                          expected, timeout, NULL, FUTEX_BITSET_MATCH_ANY);
        if (rc == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return 0;
        if (errno == ETIMEDOUT)
            return ETIMEDOUT;
        /* EFAULT or EINVAL would be a library bug; report it as a wake-up
         * so that the caller rechecks its condition rather than hangs. */
        return 0;
    }
}

void sp__futex_wake(_Atomic uint32_t *word, int count)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}
