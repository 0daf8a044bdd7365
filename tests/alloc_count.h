/* A counting allocator for the tests of heap use (test_noalloc,
 * test_memory, test_infer_buffer): malloc, calloc, realloc and
 * aligned_alloc are replaced (glibc's __libc_* functions do the work) and
 * count calls and bytes while `counting` is 1. Included by one file of a
 * test program; not under the sanitizers, which replace malloc themselves. */
#ifndef NN_TESTS_ALLOC_COUNT_H
#define NN_TESTS_ALLOC_COUNT_H

#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

/* volatile: the compiler knows malloc as a builtin that touches no
 * variable of the program, and would otherwise not see these change */
static volatile int counting;
static volatile size_t allocated, allocations;

static void count_allocation(size_t bytes)
{
    if (counting) {
        allocated += bytes;
        allocations++;
    }
}

void *malloc(size_t size)
{
    count_allocation(size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count_allocation(n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count_allocation(size);
    return __libc_realloc(p, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    count_allocation(size);
    return __libc_memalign(alignment, size);
}

#endif /* NN_TESTS_ALLOC_COUNT_H */
