/* Loops whose temporaries are declared before the loop: they are written
 * before being read in every iteration, so each thread needs its own copy. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 150000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    int *z = malloc((size_t)n * sizeof *z);
    if (!x || !y || !z)
        return 1;

    for (int i = 0; i < n; i++)
        x[i] = 0.001 * (i % 5000) - 2.0;

    double t, u;
    for (int i = 0; i < n; i++) {
        t = x[i] * x[i];
        u = t + 1.0;
        y[i] = t / u;
    }

    int q, r;
    for (int i = 0; i < n; i++) {
        q = i / 7;
        r = i % 7;
        z[i] = (q % 1000) * 10 + r;
    }

    double ysum = 0.0;
    long zsum = 0;
    for (int i = 0; i < n; i++) {
        ysum += y[i];
        zsum += z[i];
    }

    printf("y[0] = %.15g  y[n-1] = %.15g  z[n-1] = %d\n", y[0], y[n - 1], z[n - 1]);
    printf("ysum = %.15e  zsum = %ld\n", ysum, zsum);
    free(x);
    free(y);
    free(z);
    return 0;
}
