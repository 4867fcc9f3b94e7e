#include <stdio.h>
#include <stdlib.h>
#include "util.h"

static void *checked(void *p, size_t bytes)
{
    if (p == NULL) {
        fprintf(stderr, "allocation of %lu bytes failed\n", (unsigned long) bytes);
        exit(1);
    }
    return p;
}

void *util_malloc(size_t n, size_t size)
{
    return checked(malloc(n * size), n * size);
}

void util_free(void *p)
{
    free(p);
}
