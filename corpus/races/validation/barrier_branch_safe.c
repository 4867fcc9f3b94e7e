#include <stdio.h>

#define N 2400

static double a[N], b[N];

static void two_phase(int n, int sync)
{
#pragma omp parallel
    {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < n; i++)
            a[i] = (double)(i % 13) * 0.5;
        if (sync > 0) {
#pragma omp barrier
        }
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++)
            b[i] = a[n - 1 - i] + 1.0;
    }
}

int main(void)
{
    two_phase(N, 1);
    double s = 0.0;
    for (int i = 0; i < N; i++)
        s += b[i] * (double)(i % 3);
    printf("sum %.12f\n", s);
    return 0;
}
