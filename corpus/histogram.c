/* Histogram hist[key[i]]++ and a weighted histogram into fixed-size global
 * arrays. */
#include <stdio.h>
#include <stdlib.h>

#define NBINS 32

static int hist[NBINS];
static double whist[NBINS];

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 200000 * scale;
    unsigned char *key = malloc((size_t)n);
    if (!key)
        return 1;

    for (int i = 0; i < n; i++)
        key[i] = (unsigned char)(((unsigned int)i * 2654435761u >> 11) % NBINS);

    for (int i = 0; i < n; i++)
        hist[key[i]]++;

    for (int i = 0; i < n; i++)
        whist[key[i]] += 1.0 / (1.0 + (i % 50));

    int total = 0;
    for (int b = 0; b < NBINS; b++)
        total += hist[b];

    printf("total = %d\n", total);
    for (int b = 0; b < NBINS; b++)
        printf("%6d%c", hist[b], b % 8 == 7 ? '\n' : ' ');
    printf("whist[0] = %.15e  whist[NBINS-1] = %.15e\n", whist[0], whist[NBINS - 1]);
    free(key);
    return 0;
}
