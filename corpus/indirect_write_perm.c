/* Scatter y[perm[i]] = x[i] through an index array that is a permutation
 * (so no two iterations write the same element), then a check. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 65536 * 2 * scale;
    unsigned int *perm = malloc((size_t)n * sizeof *perm);
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    if (!perm || !x || !y)
        return 1;

    /* an odd multiplier permutes the low 16 bits; n is a multiple of 65536 */
    for (int i = 0; i < n; i++) {
        unsigned int u = (unsigned int)i;
        perm[i] = (u & ~0xffffu) | ((u * 40503u) & 0xffffu);
    }

    for (int i = 0; i < n; i++)
        x[i] = (double)(i % 1000) * 0.001 + (i / 1000);

    for (int i = 0; i < n; i++)
        y[perm[i]] = x[i];

    long bad = 0;
    for (int i = 0; i < n; i++)
        if (y[perm[i]] != x[i])
            bad++;

    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += y[i] * (i % 3);

    printf("y[0] = %.15g  y[1] = %.15g  y[n-1] = %.15g\n", y[0], y[1], y[n - 1]);
    printf("bad = %ld  s = %.15e\n", bad, s);
    free(perm);
    free(x);
    free(y);
    return 0;
}
