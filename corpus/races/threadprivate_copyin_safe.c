/* A per-thread call counter: threadprivate gives every thread its own copy,
 * copyin starts each copy from the master's value. */
#include <stdio.h>

static int calls;
#pragma omp threadprivate(calls)

static double step(int k)
{
    calls++;
    return (double)(k % 9) * 0.5;
}

int main(void)
{
    double acc = 0.0;
    int counted = 0;
    int i;

    calls = 1000;
#pragma omp parallel copyin(calls)
    {
#pragma omp for reduction(+: acc)
        for (i = 0; i < 900; i++)
            acc += step(i);
#pragma omp atomic
        counted += calls - 1000;
    }
    printf("acc %.3f calls %d\n", acc, counted);
    return 0;
}
