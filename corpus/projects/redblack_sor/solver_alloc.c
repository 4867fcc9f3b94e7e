#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solver_alloc.h"

void *solver_alloc(size_t bytes)
{
    void *p = malloc(bytes);

    if (p == NULL) {
        fprintf(stderr, "solver_alloc: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

void *solver_alloc_zero(size_t bytes)
{
    return memset(solver_alloc(bytes), 0, bytes);
}
