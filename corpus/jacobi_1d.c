/* 1-D three-point Jacobi smoothing with fixed ends; the two buffers are
 * swapped after every time step. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    int steps = 20;
    double *u = malloc((size_t)n * sizeof *u);
    double *v = malloc((size_t)n * sizeof *v);
    if (!u || !v)
        return 1;

    for (int i = 0; i < n; i++) {
        u[i] = (i % 100 == 0) ? 100.0 : 0.0;
        v[i] = u[i];
    }

    for (int t = 0; t < steps; t++) {
        for (int i = 1; i < n - 1; i++)
            v[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0;
        double *tmp = u;
        u = v;
        v = tmp;
    }

    double sum = 0.0, peak = 0.0;
    for (int i = 0; i < n; i++) {
        sum += u[i];
        if (u[i] > peak)
            peak = u[i];
    }

    printf("u[1] = %.15g  u[50] = %.15g  u[n/2] = %.15g\n", u[1], u[50], u[n / 2]);
    printf("sum = %.15e  peak = %.15e\n", sum, peak);
    free(u);
    free(v);
    return 0;
}
