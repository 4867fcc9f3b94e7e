/* One-dimensional filters. */
#include <math.h>
#include "filters.h"

void make_signal(int n, double *x)
{
    int i;

    for (i = 0; i < n; i++)
        x[i] = sin(0.05 * i) + 0.3 * sin(0.9 * i) + 0.1 * (double) ((i % 13) * 7 % 13 - 6);
}

void make_taps(int ntaps, double *h)
{
    int k;
    double s;

    s = 0.0;
    for (k = 0; k < ntaps; k++) {
        h[k] = 1.0 - fabs((double) (2 * k - ntaps + 1)) / (double) ntaps;
        s += h[k];
    }
    for (k = 0; k < ntaps; k++)
        h[k] /= s;
}

/* y[i] = sum_k h[k] x[i + k], for every i with a full window */
void fir(int n, int ntaps, const double *h, const double *x, double *y)
{
    int i, k;
    double acc;

    for (i = 0; i <= n - ntaps; i++) {
        acc = 0.0;
        for (k = 0; k < ntaps; k++)
            acc += h[k] * x[i + k];
        y[i] = acc;
    }
}

/* five-point smoothing; returns the first index it did not fill */
int smooth5(int n, const double *x, double *y)
{
    int i;

    y[0] = x[0];
    y[1] = x[1];
    for (i = 2; i < n - 2; i++)
        y[i] = (x[i - 2] + 2.0 * x[i - 1] + 3.0 * x[i] + 2.0 * x[i + 1] + x[i + 2]) / 9.0;
    y[i] = x[i];
    y[i + 1] = x[i + 1];
    return i;
}

/* rectified, compressed signal; returns the value of the last sample */
double envelope(int n, const double *x, double *env)
{
    int i;
    double a;

    a = 0.0;
    for (i = 0; i < n; i++) {
        a = sqrt(fabs(x[i]) + 1e-3 * (double) (i % 4));
        env[i] = a;
    }
    return a;
}

/* second-order recursive filter: each output needs the two before it */
void iir2(int n, double a1, double a2, const double *x, double *y)
{
    int i;

    y[0] = x[0];
    y[1] = x[1] + a1 * y[0];
    for (i = 2; i < n; i++)
        y[i] = x[i] + a1 * y[i - 1] + a2 * y[i - 2];
}
