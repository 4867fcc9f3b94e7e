/* A small scratch array declared outside the loop is filled and then read
 * in every iteration (privatizable), plus a median-of-three filter using a
 * three-element window. */
#include <stdio.h>
#include <stdlib.h>

#define K 8

static double median3(const double *w)
{
    double a = w[0], b = w[1], c = w[2];
    if (a > b) {
        double s = a;
        a = b;
        b = s;
    }
    if (b > c)
        b = c;
    return a > b ? a : b;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 60000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    double *z = malloc((size_t)n * sizeof *z);
    if (!x || !y || !z)
        return 1;

    for (int i = 0; i < n; i++)
        x[i] = (double)((i * 31) % 97) / 97.0;

    double tmp[K];
    int k;
    for (int i = 0; i < n; i++) {
        for (k = 0; k < K; k++)
            tmp[k] = x[i] * (k + 1) + 0.5;
        double s = 0.0;
        for (k = 0; k < K; k++)
            s += tmp[k] * tmp[K - 1 - k];
        y[i] = s;
    }

    double w[3];
    z[0] = x[0];
    z[n - 1] = x[n - 1];
    for (int i = 1; i < n - 1; i++) {
        w[0] = x[i - 1];
        w[1] = x[i];
        w[2] = x[i + 1];
        z[i] = median3(w);
    }

    double ysum = 0.0, zsum = 0.0;
    for (int i = 0; i < n; i++) {
        ysum += y[i];
        zsum += z[i];
    }

    printf("y[1] = %.15g  z[1] = %.15g  z[2] = %.15g\n", y[1], z[1], z[2]);
    printf("ysum = %.15e  zsum = %.15e\n", ysum, zsum);
    free(x);
    free(y);
    free(z);
    return 0;
}
