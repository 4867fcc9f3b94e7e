/* The project's allocation layer: every buffer goes through xmalloc. */
#include <stdio.h>
#include <stdlib.h>
#include "alloc.h"

void *xmalloc(size_t bytes)
{
    void *p;

    if (bytes == 0)
        bytes = 1;
    p = malloc(bytes);
    if (p == NULL) {
        fprintf(stderr, "xmalloc: cannot allocate %lu bytes\n", (unsigned long) bytes);
        exit(EXIT_FAILURE);
    }
    return p;
}

void *alloc_matrix(size_t rows, size_t cols)
{
    return xmalloc(rows * cols * sizeof(double));
}

void free_matrix(void *m)
{
    free(m);
}
