#include <stdio.h>
#include <stdlib.h>
#include "alloc.h"

void *safe_malloc(size_t bytes, const char *file, int line)
{
    void *p = malloc(bytes);

    if (p == NULL) {
        fprintf(stderr, "%s:%d: cannot allocate %lu bytes\n", file, line, (unsigned long) bytes);
        exit(EXIT_FAILURE);
    }
    return p;
}
