#include <stdio.h>
#include <stdlib.h>
#include "common.h"

void *ck_malloc(size_t bytes)
{
    void *p = malloc(bytes);

    if (p == NULL && bytes != 0) {
        perror("malloc");
        exit(EXIT_FAILURE);
    }
    return p;
}

void *ck_array(size_t count, size_t size)
{
    if (size != 0 && count > (size_t) -1 / size) {
        fprintf(stderr, "ck_array: %lu * %lu overflows\n", (unsigned long) count, (unsigned long) size);
        exit(EXIT_FAILURE);
    }
    return ck_malloc(count * size);
}
