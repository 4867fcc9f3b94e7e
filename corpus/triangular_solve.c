/* Forward substitution L z = b (outer loop carries a dependence through z)
 * and the residual r = b - L z (rows independent). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 500 * scale;
    double *L = malloc((size_t)n * n * sizeof *L);
    double *b = malloc((size_t)n * sizeof *b);
    double *z = malloc((size_t)n * sizeof *z);
    double *r = malloc((size_t)n * sizeof *r);
    if (!L || !b || !z || !r)
        return 1;

    for (int i = 0; i < n; i++) {
        b[i] = 1.0 + 0.01 * (i % 7);
        for (int j = 0; j <= i; j++)
            L[(size_t)i * n + j] = (i == j) ? 2.0 + i % 3 : 0.5 / (1 + i - j);
    }

    for (int i = 0; i < n; i++) {
        double acc = 0.0;
        for (int j = 0; j < i; j++)
            acc += L[(size_t)i * n + j] * z[j];
        z[i] = (b[i] - acc) / L[(size_t)i * n + i];
    }

    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        double acc = 0.0;
        for (int j = 0; j <= i; j++)
            acc += L[(size_t)i * n + j] * z[j];
        r[i] = b[i] - acc;
        worst = fmax(worst, fabs(r[i]));
    }

    printf("z[0] = %.15e  z[n-1] = %.15e\n", z[0], z[n - 1]);
    printf("max residual below 1e-12: %s\n", worst < 1e-12 ? "yes" : "no");
    free(L);
    free(b);
    free(z);
    free(r);
    return 0;
}
