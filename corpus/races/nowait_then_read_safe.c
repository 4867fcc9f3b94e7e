/* Two passes over a vector in one parallel region: the first loop ends with
 * an implicit barrier, so the second loop may read what other threads wrote. */
#include <stdio.h>

#define N 1000

static void two_pass(double *scaled, double *mirrored, const double *x, int n)
{
    int i;

#pragma omp parallel
    {
#pragma omp for
        for (i = 0; i < n; i++)
            scaled[i] = 3.0 * x[i];
#pragma omp for
        for (i = 0; i < n; i++)
            mirrored[i] = scaled[n - 1 - i] + 1.0;
    }
}

int main(void)
{
    static double x[N], s[N], m[N];
    double check = 0.0;
    int i;

    for (i = 0; i < N; i++)
        x[i] = (i % 10) * 0.1;
    two_pass(s, m, x, N);
    for (i = 0; i < N; i++)
        check += m[i] * (i % 3);
    printf("check %.6f\n", check);
    return 0;
}
