/* Pseudo-random samples and their distribution. */
#include "common.h"
#include "sample.h"

/* the generator state flows from one sample to the next */
void generate(int n, unsigned int seed, double *x)
{
    int i;
    unsigned int state;
    double u, v;

    state = seed;
    for (i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        u = (double) (state >> 8) / 16777216.0;
        state = state * 1664525u + 1013904223u;
        v = (double) (state >> 8) / 16777216.0;
        x[i] = u + v;
    }
}

void value_range(int n, const double *x, double *lo, double *hi)
{
    int i;
    double mn, mx;

    mn = x[0];
    mx = x[0];
    for (i = 1; i < n; i++) {
        if (x[i] < mn)
            mn = x[i];
        if (x[i] > mx)
            mx = x[i];
    }
    *lo = mn;
    *hi = mx;
}

void histogram(int n, const double *x, double lo, double hi, long *out)
{
    long counts[NBINS];
    int i, b;
    double width;

    width = (hi - lo) / NBINS;
    for (b = 0; b < NBINS; b++)
        counts[b] = 0;
    for (i = 0; i < n; i++) {
        b = (int) ((x[i] - lo) / width);
        if (b >= NBINS)
            b = NBINS - 1;
        counts[b]++;
    }
    for (b = 0; b < NBINS; b++)
        out[b] = counts[b];
}

double mean_square(int n, const double *x)
{
    int i;
    double s;

    s = 0.0;
    for (i = 0; i < n; i++)
        s += x[i] * x[i];
    return s / n;
}
