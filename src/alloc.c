#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#ifdef SP_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Allocations left before the injected failure; -1 when unarmed. */
static _Atomic long fail_countdown = -1;

void sp__alloc_fail_after(long k)
{
    /* seq_cst: arming is rare, and a test thread arms before the calls it
     * then makes, so no ordering subtlety is worth a weaker order here */
    atomic_store_explicit(&fail_countdown, k < 0 ? -1 : k, memory_order_seq_cst);
}

bool sp__alloc_disarm(void)
{
    /* seq_cst: as in sp__alloc_fail_after */
    return atomic_exchange_explicit(&fail_countdown, -1, memory_order_seq_cst) >= 0;
}

/* Counts one allocation against the armed countdown; true: fail this one. */
static __attribute__((noinline)) bool injected_failure_slow(long left)
{
    while (left >= 0) {
        long next = left == 0 ? -1 : left - 1;
        /* relaxed: the countdown carries no data; the CAS only keeps
         * concurrent allocations from consuming the same position */
        if (atomic_compare_exchange_weak_explicit(&fail_countdown, &left, next,
                                                  memory_order_relaxed, memory_order_relaxed))
            return left == 0;
    }
    return false;
}

static inline bool injected_failure(void)
{
    /* relaxed: the only cost of injection on a normal allocation; arming
     * happens before the allocations under test on the same thread */
    long left = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (__builtin_expect(left < 0, 1))
        return false;
    return injected_failure_slow(left);
}

#ifdef SP_USE_JEMALLOC

void *sp__alloc(size_t size, size_t align)
{
    if (injected_failure())
        return NULL;
    if (size == 0)
        size = 1;
    return mallocx(size, MALLOCX_ALIGN(align) | MALLOCX_ZERO);
}

void sp__free(void *ptr, size_t size, size_t align)
{
    if (ptr == NULL)
        return;
    if (size == 0)
        size = 1;
    sdallocx(ptr, size, MALLOCX_ALIGN(align));
}

const char *sp__allocator_name(void)
{
    return "jemalloc";
}

#else

void *sp__alloc(size_t size, size_t align)
{
    if (injected_failure())
        return NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    size_t rounded = (size + align - 1) & ~(align - 1);
    if (rounded < size)
        return NULL;
    if (rounded == 0)
        rounded = align;

    void *ptr = aligned_alloc(align, rounded);
    if (ptr != NULL)
        memset(ptr, 0, rounded);
    return ptr;
}

void sp__free(void *ptr, size_t size, size_t align)
{
    (void)size;
    (void)align;
    free(ptr);
}

const char *sp__allocator_name(void)
{
    return "libc";
}

#endif
