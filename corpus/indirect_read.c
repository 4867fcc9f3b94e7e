/* Gathers through an index array with repeated entries: y[i] = x[idx[i]]. */
#include <stdio.h>
#include <stdlib.h>

static void gather_add(double *y, const double *x, const int *idx, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += 0.5 * x[idx[i]];
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int m = 5000 * scale;
    int n = 150000 * scale;
    double *x = malloc((size_t)m * sizeof *x);
    int *idx = malloc((size_t)n * sizeof *idx);
    double *y = malloc((size_t)n * sizeof *y);
    if (!x || !idx || !y)
        return 1;

    for (int i = 0; i < m; i++)
        x[i] = 1.0 + (double)(i % 100) / 8.0;

    for (int i = 0; i < n; i++)
        idx[i] = (int)(((unsigned int)i * 40503u + 7u) % (unsigned int)m);

    for (int i = 0; i < n; i++)
        y[i] = x[idx[i]] * 2.0;

    gather_add(y, x, idx, n);

    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += y[i] * x[idx[n - 1 - i]];

    printf("y[0] = %.15g  y[n-1] = %.15g\n", y[0], y[n - 1]);
    printf("s = %.15e\n", s);
    free(x);
    free(idx);
    free(y);
    return 0;
}
