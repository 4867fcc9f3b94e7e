/* A lagged update a[i + 4] from a[i]: safelen(4) lets at most 4 consecutive
 * iterations run together, fewer than the distance 4 of the dependence. */
#include <stdio.h>

#define N 1024
#define LAG 4

static void lagged(float *a, int n)
{
    int i;

#pragma omp simd safelen(4)
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
