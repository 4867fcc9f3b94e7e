#include <stdio.h>
#include <stdlib.h>
#include "pool.h"

static void *raw_alloc(size_t bytes, const char *tag)
{
    void *p = malloc(bytes);

    if (p == NULL) {
        fprintf(stderr, "pool: cannot allocate %s\n", tag);
        exit(EXIT_FAILURE);
    }
    return p;
}

void *pool_alloc(size_t count, size_t size, const char *tag)
{
    return raw_alloc(count * size, tag);
}

void pool_free(void *p)
{
    free(p);
}
