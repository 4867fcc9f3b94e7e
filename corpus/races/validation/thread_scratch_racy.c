#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 8000

static int values[N];

int main(void)
{
    for (int i = 0; i < N; i++)
        values[i] = (i * 13) % 29;
    int slots = 2;
    long *scratch = calloc((size_t)slots, sizeof *scratch);
    if (!scratch)
        return 1;
#pragma omp parallel
    {
        int me = omp_get_thread_num();
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++)
            scratch[me % slots] += values[i];
    }
    long total = 0;
    for (int t = 0; t < slots; t++)
        total += scratch[t];
    printf("total %ld\n", total);
    free(scratch);
    return 0;
}
