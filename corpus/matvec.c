/* Dense matrix-vector products y = A x and yt = A^T x, with the
 * accumulators and inner counters declared at the top of the functions. */
#include <stdio.h>
#include <stdlib.h>

static void setup(int n, double *a, double *x)
{
    size_t p;
    int i;
    for (p = 0; p < (size_t)n * n; p++)
        a[p] = (double)((p * 7) % 11) - 5.0;
    for (i = 0; i < n; i++)
        x[i] = 1.0 / (i + 1);
}

static void matvec(int n, const double *a, const double *x, double *y)
{
    int i, j;
    double s;
    for (i = 0; i < n; i++) {
        s = 0.0;
        for (j = 0; j < n; j++)
            s += a[(size_t)i * n + j] * x[j];
        y[i] = s;
    }
}

static void matvec_t(int n, const double *a, const double *x, double *yt)
{
    int i, j;
    double s;
    for (j = 0; j < n; j++) {
        s = 0.0;
        for (i = 0; i < n; i++)
            s += a[(size_t)i * n + j] * x[i];
        yt[j] = s;
    }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 300 * scale;
    double *a = malloc((size_t)n * n * sizeof *a);
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    double *yt = malloc((size_t)n * sizeof *yt);
    if (!a || !x || !y || !yt)
        return 1;

    setup(n, a, x);
    matvec(n, a, x, y);
    matvec_t(n, a, x, yt);

    printf("y[0] = %.15e  y[n/2] = %.15e  y[n-1] = %.15e\n", y[0], y[n / 2], y[n - 1]);
    printf("yt[0] = %.15e  yt[n/2] = %.15e  yt[n-1] = %.15e\n", yt[0], yt[n / 2], yt[n - 1]);
    free(a);
    free(x);
    free(y);
    free(yt);
    return 0;
}
