/* Allocation helpers (a real arena would pool these; this one checks). */
#include <stdio.h>
#include <stdlib.h>
#include "arena.h"

void *arena_raw(size_t bytes)
{
    void *p;

    p = malloc(bytes);
    if (p == NULL) {
        fprintf(stderr, "arena: allocation failed\n");
        exit(3);
    }
    return p;
}

double *arena_doubles(size_t n)
{
    return (double *) arena_raw(n * sizeof(double));
}
