/* An add kernel with plain (non-restrict) pointer parameters, called with
 * three distinct arrays. */
#include <stdio.h>
#include <stdlib.h>

void add(double *a, double *b, double *c, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = b[i] + c[i];
}

void init(double *v, int n, double base)
{
    for (int i = 0; i < n; i++)
        v[i] = base + (i % 100) * 0.01;
}

double total(const double *v, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 150000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    double *z = malloc((size_t)n * sizeof *z);
    if (!x || !y || !z)
        return 1;

    init(y, n, 1.0);
    init(z, n, 0.25);
    add(x, y, z, n);

    printf("x[7] = %.15g  x[n-1] = %.15g\n", x[7], x[n - 1]);
    printf("sum(x) = %.15e\n", total(x, n));
    free(x);
    free(y);
    free(z);
    return 0;
}
