/* Sum of two uniform variables: generate, find the range, histogram it. */
#include <stdio.h>
#include <stdlib.h>
#include "common.h"
#include "sample.h"

int main(int argc, char **argv)
{
    double *x;
    long *hist;
    double lo, hi, ms;
    long peak, total;
    int scale, n, b, peakbin;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = NSAMPLES * scale;

    x = (double *) ck_array((size_t) n, sizeof *x);
    hist = (long *) ck_array(NBINS, sizeof *hist);

    generate(n, 12345u, x);
    value_range(n, x, &lo, &hi);
    histogram(n, x, lo, hi, hist);
    ms = mean_square(n, x);

    peak = -1;
    peakbin = 0;
    total = 0;
    for (b = 0; b < NBINS; b++) {
        total += hist[b];
        if (hist[b] > peak) {
            peak = hist[b];
            peakbin = b;
        }
    }
    printf("range [%.12f, %.12f]  mean square %.12f\n", lo, hi, ms);
    printf("total %ld  peak bin %d holds %ld\n", total, peakbin, peak);
    printf("bins 0, %d, %d: %ld %ld %ld\n", NBINS / 4, NBINS - 1, hist[0], hist[NBINS / 4], hist[NBINS - 1]);

    free(x);
    free(hist);
    return 0;
}
