/* A lagged update a[i + 4] from a[i]: the simd pragma promises that 8
 * consecutive iterations may run together, but iterations 4 apart depend on
 * each other. */
#include <stdio.h>

#define N 1024
#define LAG 4

static void lagged(float *a, int n)
{
    int i;

#pragma omp simd safelen(8)
    for (i = 0; i < n - LAG; i++)
        a[i + LAG] = a[i] * 0.5f + 1.0f;
}

int main(void)
{
    static float a[N];
    double sum = 0.0;
    int i;

#pragma omp parallel for
    for (i = 0; i < N; i++)
        a[i] = (float)(i % 5);
    lagged(a, N);
    for (i = 0; i < N; i++)
        sum += a[i];
    printf("sum %.4f\n", sum);
    return 0;
}
