/* Allocation with error checks; mem_zeroed wraps mem_alloc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"

void *mem_alloc(size_t bytes, const char *what)
{
    void *p = malloc(bytes > 0 ? bytes : 1);

    if (!p) {
        fprintf(stderr, "out of memory allocating %s\n", what);
        abort();
    }
    return p;
}

void *mem_zeroed(size_t count, size_t size, const char *what)
{
    void *p = mem_alloc(count * size, what);

    memset(p, 0, count * size);
    return p;
}

void mem_release(void *p)
{
    free(p);
}
