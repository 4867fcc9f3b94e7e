#include <stdio.h>

#define N 4000

static double u[N], v[N], w[N];

static void smooth(int n)
{
#pragma omp parallel
    {
#pragma omp for schedule(static) nowait
        for (int i = 0; i < n; i++)
            v[i] = 0.5 * u[i] + 1.0;
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            int lo = i > 0 ? i - 1 : i;
            int hi = i < n - 1 ? i + 1 : i;
            w[i] = (u[lo] + v[i] + u[hi]) / 3.0;
        }
    }
}

int main(void)
{
    for (int i = 0; i < N; i++)
        u[i] = (double)(i % 17);
    smooth(N);
    double s = 0.0;
    for (int i = 0; i < N; i++)
        s += w[i];
    printf("sum %.12f\n", s);
    return 0;
}
