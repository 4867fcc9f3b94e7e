/* y = alpha*x + y with restrict-qualified kernels, repeated `scale` times. */
#include <stdio.h>
#include <stdlib.h>

#define N 100000

static void fill(int n, double *restrict x, double *restrict y)
{
    for (int i = 0; i < n; i++) {
        x[i] = 1.0 + (i % 17) * 0.125;
        y[i] = 2.0 - (i % 5) * 0.25;
    }
}

static void saxpy(int n, double alpha, const double *restrict x, double *restrict y)
{
    for (int i = 0; i < n; i++)
        y[i] = alpha * x[i] + y[i];
}

static double dot(int n, const double *restrict x, const double *restrict y)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 1;
    if (reps < 1)
        reps = 1;
    double *x = malloc(N * sizeof *x);
    double *y = malloc(N * sizeof *y);
    if (!x || !y)
        return 1;

    fill(N, x, y);
    for (int r = 0; r < 4 * reps; r++)
        saxpy(N, 0.5, x, y);

    printf("y[0] = %.15g  y[N-1] = %.15g\n", y[0], y[N - 1]);
    printf("x.y = %.15e\n", dot(N, x, y));
    free(x);
    free(y);
    return 0;
}
