#include <stdio.h>

#define N 4096

static int a[N];

int main(void)
{
    for (int i = 0; i < N; i++)
        a[i] = (i * 31) % 101;
    long sum = 0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp taskloop grainsize(64)
        for (int i = 0; i < N; i++)
#pragma omp atomic
            sum += a[i];
    }
    printf("sum %ld\n", sum);
    return 0;
}
