#include <stdio.h>
#include <stdlib.h>
#include "alloc.h"

void *checked_alloc(size_t bytes)
{
    void *p = malloc(bytes);

    if (p == NULL) {
        fprintf(stderr, "checked_alloc: %lu bytes: out of memory\n", (unsigned long) bytes);
        exit(2);
    }
    return p;
}

double *alloc_doubles(size_t n)
{
    return (double *) checked_alloc(n * sizeof(double));
}
