/* Per-thread partial counts in an array indexed by the thread number; the
 * slot is the thread number, one slot per thread. */
#include <stdio.h>
#include <omp.h>

#define N 6000
#define MAX_SLOTS 64

int main(void)
{
    long partial[MAX_SLOTS] = {0};
    long total = 0;
    int t;

#pragma omp parallel
    {
        int slot = omp_get_thread_num() % MAX_SLOTS;
        int i;
#pragma omp for
        for (i = 0; i < N; i++)
            if (i % 3 == 0)
                partial[slot] += i % 10;
    }
    for (t = 0; t < MAX_SLOTS; t++)
        total += partial[t];
    printf("total %ld\n", total);
    return 0;
}
