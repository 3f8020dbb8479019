#include "platform/barrier.h"

#include <linux/membarrier.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

bool sp__heavy_barrier_available;

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

/*
 * Registration runs as a constructor so that the choice is made before any
 * pool exists: owner and thieves of one deque must agree on it for the
 * whole life of the process. ThreadSanitizer does not model membarrier, so
 * its builds always use plain fences.
 */
__attribute__((constructor)) static void heavy_barrier_init(void)
{
#ifndef SP_TSAN
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
