/* Pseudo-random initialisation two ways: a sequential linear congruential
 * generator (each value needs the previous state) and a counter-based hash
 * of the index (independent per element). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t hash64(uint64_t z)
{
    z += 0x6a09e667f3bcc909ull;
    z = (z ^ (z >> 29)) * 0xbb67ae8584caa73bull;
    z = (z ^ (z >> 31)) * 0x3c6ef372fe94f82bull;
    return z ^ (z >> 27);
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 200000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    double *b = malloc((size_t)n * sizeof *b);
    if (!a || !b)
        return 1;

    uint64_t state = 2024u;
    for (int i = 0; i < n; i++) {
        state = state * 0x5851f42d4c957f2dull + 0x14057b7ef767814full;
        a[i] = (double)(state >> 11) / 9007199254740992.0;
    }

    for (int i = 0; i < n; i++)
        b[i] = (double)(hash64((uint64_t)i) >> 11) / 9007199254740992.0;

    double ma = 0.0, mb = 0.0;
    for (int i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }

    int below = 0;
    for (int i = 0; i < n; i++)
        below += (a[i] < 0.5) + (b[i] < 0.5);

    printf("a[0] = %.15g  b[0] = %.15g\n", a[0], b[0]);
    printf("mean a = %.12f  mean b = %.12f  below half = %d\n", ma / n, mb / n, below);
    free(a);
    free(b);
    return 0;
}
