#include <stdio.h>
#include <stdlib.h>
#include "support.h"

void *alloc_data(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (!p) {
        fprintf(stderr, "alloc_data: out of memory\n");
        exit(1);
    }
    return p;
}

void dump_sum(const char *name, const double *data, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += data[i];
    fprintf(stderr, "%s %.2f\n", name, sum);
}
