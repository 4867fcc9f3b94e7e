/* Explicit 3-D heat equation with a 7-point stencil on a cube of runtime
 * size; the boundary stays fixed. */
#include <stdio.h>
#include <stdlib.h>

#define IDX(i, j, k) (((size_t)(i) * n + (size_t)(j)) * n + (size_t)(k))

static void step(int n, const double *restrict u, double *restrict v, double c)
{
    for (int i = 1; i < n - 1; i++)
        for (int j = 1; j < n - 1; j++)
            for (int k = 1; k < n - 1; k++)
                v[IDX(i, j, k)] = u[IDX(i, j, k)] +
                    c * (u[IDX(i - 1, j, k)] + u[IDX(i + 1, j, k)] +
                         u[IDX(i, j - 1, k)] + u[IDX(i, j + 1, k)] +
                         u[IDX(i, j, k - 1)] + u[IDX(i, j, k + 1)] -
                         6.0 * u[IDX(i, j, k)]);
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 40 * scale;
    size_t total = (size_t)n * n * n;
    double *u = malloc(total * sizeof *u);
    double *v = malloc(total * sizeof *v);
    if (!u || !v)
        return 1;

    for (size_t p = 0; p < total; p++) {
        u[p] = (double)(p % 7) * 0.1;
        v[p] = u[p];
    }

    for (int t = 0; t < 8; t++) {
        step(n, u, v, 0.1);
        double *tmp = u;
        u = v;
        v = tmp;
    }

    double sum = 0.0;
    for (size_t p = 0; p < total; p++)
        sum += u[p];

    printf("u(1,1,1) = %.15g  u(c,c,c) = %.15g\n", u[IDX(1, 1, 1)], u[IDX(n / 2, n / 2, n / 2)]);
    printf("sum = %.15e\n", sum);
    free(u);
    free(v);
    return 0;
}
