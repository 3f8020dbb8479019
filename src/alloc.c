#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#ifdef SP_USE_JEMALLOC
#include <jemalloc/jemalloc.h>

void *sp__alloc(size_t size, size_t align)
{
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
