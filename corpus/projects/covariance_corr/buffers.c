#include <stdio.h>
#include <stdlib.h>
#include "buffers.h"

void *buf_get(size_t bytes)
{
    void *p = calloc(1, bytes);

    if (p == NULL) {
        fprintf(stderr, "buf_get: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

double *buf_vector(size_t n)
{
    return (double *) buf_get(n * sizeof(double));
}

void buf_put(void *p)
{
    free(p);
}
