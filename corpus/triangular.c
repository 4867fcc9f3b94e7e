/* Triangular loop nests (inner bound depends on the outer counter): a
 * lower-triangular matrix-vector product and a mirror of the lower triangle
 * into the upper one. */
#include <stdio.h>
#include <stdlib.h>

static void lower_matvec(int n, const double *l, const double *x, double *y)
{
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j <= i; j++)
            s += l[(size_t)i * n + j] * x[j];
        y[i] = s;
    }
}

static void symmetrize(int n, double *a)
{
    for (int i = 1; i < n; i++)
        for (int j = 0; j < i; j++)
            a[(size_t)j * n + i] = a[(size_t)i * n + j];
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 400 * scale;
    double *a = malloc((size_t)n * n * sizeof *a);
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    if (!a || !x || !y)
        return 1;

    for (int i = 0; i < n; i++) {
        x[i] = 1.0 + (i % 3);
        for (int j = 0; j < n; j++)
            a[(size_t)i * n + j] = (j <= i) ? 1.0 / (1 + i + j) : -1.0;
    }

    lower_matvec(n, a, x, y);
    symmetrize(n, a);

    printf("y[0] = %.15e  y[n-1] = %.15e\n", y[0], y[n - 1]);
    printf("a[0][n-1] = %.15g  a[n-1][0] = %.15g  a[1][2] = %.15g\n",
           a[n - 1], a[(size_t)(n - 1) * n], a[n + 2]);
    free(a);
    free(x);
    free(y);
    return 0;
}
