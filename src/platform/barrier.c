#include "platform/barrier.h"

#include <linux/membarrier.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

bool sp__heavy_barrier_available;

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

/*
 * The choice runs as a constructor so that it is made before any pool
 * exists: owner and thieves of one deque must agree on it for the whole
 * life of the process. Plain fences are the default because measured
 * membarrier calls take about 1 us, and sometimes milliseconds, on every
 * steal, while they save only a few percent on join-heavy code;
 * SP_STEAL_BARRIER=membarrier selects them. ThreadSanitizer does not model
 * membarrier, so its builds always use fences.
 */
__attribute__((constructor)) static void heavy_barrier_init(void)
{
#ifndef SP_TSAN
    const char *choice = getenv("SP_STEAL_BARRIER");
    if (choice == NULL || strcmp(choice, "membarrier") != 0)
        return;

    long commands = membarrier(MEMBARRIER_CMD_QUERY);
    if (commands < 0 || !(commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        return;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0)
        return;
    sp__heavy_barrier_available = true;
#endif
}

void sp__heavy_barrier(void)
{
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
        atomic_thread_fence(memory_order_seq_cst);
}
