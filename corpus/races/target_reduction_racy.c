/* Dot product offloaded with target teams: the sum is mapped back but has
 * no reduction clause, so every thread adds into the one copy. */
#include <stdio.h>

#define N 4096

static double dot(const double *x, const double *y, int n)
{
    double sum = 0.0;
    int i;

#pragma omp target teams distribute parallel for map(to: x[0:n], y[0:n]) map(tofrom: sum)
    for (i = 0; i < n; i++)
        sum += x[i] * y[i];
    return sum;
}

int main(void)
{
    static double x[N], y[N];
    int i;

    for (i = 0; i < N; i++) {
        x[i] = (double)(i % 8);
        y[i] = (double)(i % 3);
    }
    printf("dot %.1f\n", dot(x, y, N));
    return 0;
}
