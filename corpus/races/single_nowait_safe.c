/* Normalise a vector: one thread computes the scale in a single construct,
 * whose implicit barrier makes the others wait for it. */
#include <stdio.h>
#include <math.h>

#define N 800

static double norm2(const double *v, int n)
{
    double s = 0.0;
    int k;
    for (k = 0; k < n; k++)
        s += v[k] * v[k];
    return sqrt(s);
}

int main(void)
{
    static double v[N], w[N];
    double scale = 0.0;
    int i;

    for (i = 0; i < N; i++)
        v[i] = (double)(i % 7) - 3.0;
#pragma omp parallel
    {
#pragma omp single
        scale = 1.0 / norm2(v, N);
#pragma omp for
        for (i = 0; i < N; i++)
            w[i] = v[i] * scale;
    }
    printf("w[3] %.9f w[799] %.9f\n", w[3], w[N - 1]);
    return 0;
}
