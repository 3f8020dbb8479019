/*
 * Runtime allocations: jemalloc's mallocx/sdallocx when the build enables
 * it, the C library otherwise. Sizes passed to sp__free must match the
 * allocation, so that jemalloc can skip its size lookup.
 */
#ifndef SP_ALLOC_H
#define SP_ALLOC_H

#include <stddef.h>

#define SP_CACHE_LINE 64

/* Returns zeroed memory aligned to align (a power of two), or NULL. */
void *sp__alloc(size_t size, size_t align);
void  sp__free(void *ptr, size_t size, size_t align);

/* Returns "jemalloc" or "libc". */
const char *sp__allocator_name(void);

#endif
