/* Scalar reductions in separate functions: sum, product, dot product and
 * an integer count. */
#include <stdio.h>
#include <stdlib.h>

static double sum(const double *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}

static double product(const double *x, int n)
{
    double p = 1.0;
    for (int i = 0; i < n; i++)
        p *= 1.0 + x[i] * 1e-6;
    return p;
}

static double dot(const double *x, const double *y, int n)
{
    double d = 0.0;
    for (int i = 0; i < n; i++)
        d += x[i] * y[i];
    return d;
}

static long count_above(const double *x, int n, double threshold)
{
    long count = 0;
    for (int i = 0; i < n; i++)
        if (x[i] > threshold)
            count++;
    return count;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 120000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    if (!x || !y)
        return 1;

    for (int i = 0; i < n; i++) {
        x[i] = (double)((i * 37) % 1000) / 1000.0;
        y[i] = 1.0 + (double)(i % 13) / 13.0;
    }

    printf("sum = %.15e\n", sum(x, n));
    printf("product = %.15e\n", product(x, n));
    printf("dot = %.15e\n", dot(x, y, n));
    printf("count(x > 0.75) = %ld\n", count_above(x, n, 0.75));
    free(x);
    free(y);
    return 0;
}
