/*
 * Runtime allocations: jemalloc's mallocx/sdallocx when the build enables
 * it, the C library otherwise. Sizes passed to sp__free must match the
 * allocation, so that jemalloc can skip its size lookup.
 */
#ifndef SP_ALLOC_H
#define SP_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#define SP_CACHE_LINE 64

/* Returns zeroed memory aligned to align (a power of two), or NULL. */
void *sp__alloc(size_t size, size_t align);
void  sp__free(void *ptr, size_t size, size_t align);

/* Returns "jemalloc" or "libc". */
const char *sp__allocator_name(void);

/*
 * Fault injection for tests, compiled into every build and inert until
 * armed. sp__alloc_fail_after(k) makes the allocation k positions ahead
 * fail: k = 0 fails the next sp__alloc call, k = 1 the one after it, and
 * so on. The failure fires once, then injection disarms itself. A negative
 * k disarms. Allocations of every thread count, so tests arm it while no
 * other thread allocates. An unarmed sp__alloc pays one relaxed atomic load.
 */
void sp__alloc_fail_after(long k);

/* Disarms injection. Returns true when the armed failure had not fired. */
bool sp__alloc_disarm(void);

#endif
