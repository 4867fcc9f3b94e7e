#include <stdio.h>
#include <stdlib.h>
#include "memory.h"

void *mem_checked(size_t bytes)
{
    void *p = malloc(bytes);

    if (p == NULL) {
        fprintf(stderr, "mem_checked: no memory for %lu bytes\n", (unsigned long) bytes);
        exit(EXIT_FAILURE);
    }
    return p;
}

void *mem_field(int rows, int cols)
{
    return mem_checked((size_t) rows * (size_t) cols * sizeof(double));
}
