#include <stdio.h>
#include <stdlib.h>
#include "xalloc.h"

void *xalloc_bytes(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);

    if (p == NULL) {
        fputs("xalloc: out of memory\n", stderr);
        exit(EXIT_FAILURE);
    }
    return p;
}
