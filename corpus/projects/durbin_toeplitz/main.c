/* Levinson-Durbin recursion for a symmetric Toeplitz system: the order k
 * grows one step at a time (serial), each step runs three loops over the
 * current solution.  A direct residual check follows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef N
#define N 7000
#endif

static void durbin(int n, const double *r, double *y, double *z)
{
    int i, k;
    double alpha, beta, sum;

    y[0] = -r[0];
    beta = 1.0;
    alpha = -r[0];
    for (k = 1; k < n; k++) {
        beta = (1.0 - alpha * alpha) * beta;
        sum = 0.0;
        for (i = 0; i < k; i++)
            sum += r[k - i - 1] * y[i];
        alpha = -(r[k] + sum) / beta;
        for (i = 0; i < k; i++)
            z[i] = y[i] + alpha * y[k - i - 1];
        for (i = 0; i < k; i++)
            y[i] = z[i];
        y[k] = alpha;
    }
}

/* max |T y + r| with T the Toeplitz matrix of (1, r[0], r[1], ...) */
static double residual(int n, const double *r, const double *y)
{
    int i, j;
    double s, worst, t;

    worst = 0.0;
    for (i = 0; i < n; i++) {
        s = r[i];
        for (j = 0; j < n; j++) {
            t = (i == j) ? 1.0 : r[(i > j ? i - j : j - i) - 1];
            s += t * y[j];
        }
        if (fabs(s) > worst)
            worst = fabs(s);
    }
    return worst;
}

int main(int argc, char **argv)
{
    int scale, n, i;
    double *r, *y, *z;
    double ysum, res;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = N * scale;
    r = malloc(sizeof(double) * n);
    y = malloc(sizeof(double) * n);
    z = malloc(sizeof(double) * n);
    if (!r || !y || !z) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    /* autocorrelation 1/(k+1): convex and decreasing, so T is positive definite */
    for (i = 0; i < n; i++)
        r[i] = 1.0 / (double) (i + 2);

    durbin(n, r, y, z);
    res = residual(n, r, y);

    ysum = 0.0;
    for (i = 0; i < n; i++)
        ysum += y[i];
    printf("sum(y) = %.13e  y[0] = %.13e  y[n-1] = %.13e\n", ysum, y[0], y[n - 1]);
    printf("residual below 1e-8: %s\n", res < 1e-8 ? "yes" : "no");
    free(r);
    free(y);
    free(z);
    return 0;
}
