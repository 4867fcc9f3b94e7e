#include <stdio.h>
#include <stdlib.h>
#include "sysalloc.h"

static size_t allocated_bytes;

void *sys_alloc(size_t bytes)
{
    void *p = malloc(bytes);

    if (!p) {
        fprintf(stderr, "sys_alloc: %lu bytes after %lu: out of memory\n",
                (unsigned long) bytes, (unsigned long) allocated_bytes);
        exit(EXIT_FAILURE);
    }
    allocated_bytes += bytes;
    return p;
}

double *sys_alloc_doubles(size_t n)
{
    return (double *) sys_alloc(n * sizeof(double));
}

void sys_free(void *p)
{
    free(p);
}
