/* Clip values to a limit that the master thread computes; master has no
 * barrier, so other threads read the limit while it is being written. */
#include <stdio.h>

#define N 1200

static double limit;

static double percentile_guess(const double *v, int n)
{
    double hi = v[0];
    int k;
    for (k = 1; k < n; k++)
        if (v[k] > hi)
            hi = v[k];
    return 0.8 * hi;
}

static void clip(double *out, const double *v, int n)
{
    int i;
#pragma omp parallel
    {
#pragma omp master
        limit = percentile_guess(v, n);
#pragma omp for
        for (i = 0; i < n; i++)
            out[i] = v[i] > limit ? limit : v[i];
    }
}

int main(void)
{
    static double v[N], out[N];
    double sum = 0.0;
    int i;

    for (i = 0; i < N; i++)
        v[i] = (double)((i * 53) % 97);
    clip(out, v, N);
    for (i = 0; i < N; i++)
        sum += out[i];
    printf("clipped sum %.4f\n", sum);
    return 0;
}
