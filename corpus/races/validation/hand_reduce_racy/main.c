#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "partial.h"

#define N 9000

static int data[N];

int main(void)
{
    for (int i = 0; i < N; i++)
        data[i] = (i * 11) % 37;
    int slots = omp_get_max_threads();
    long *partial = calloc((size_t)slots, sizeof *partial);
    if (!partial)
        return 1;
    long total = 0;
#pragma omp parallel
    {
        int me = omp_get_thread_num();
#pragma omp for schedule(static) nowait
        for (int i = 0; i < N; i++)
            partial[me] += data[i];
#pragma omp single
        total = combine(partial, omp_get_num_threads());
    }
    printf("total %ld\n", total);
    free(partial);
    return 0;
}
