/* Sequence kernels: element-wise maps, a prefix sum, a first-order
 * recurrence. */
#include <math.h>
#include "seq.h"

void fill_wave(int n, double *v)
{
    int i;

    for (i = 0; i < n; i++)
        v[i] = sin(0.001 * i) + 0.5 * cos(0.0007 * i);
}

/* dst[i] = src[i] + c * (i % 3) */
void shift_add(int n, double *dst, const double *src, double c)
{
    int i;

    for (i = 0; i < n; i++)
        dst[i] = src[i] + c * (double) (i % 3);
}

void prefix_sum(int n, const double *in, double *out)
{
    int i;
    double run;

    run = 0.0;
    for (i = 0; i < n; i++) {
        run += in[i];
        out[i] = run;
    }
}

void recurrence(int n, double a, const double *b, double *x)
{
    int i;

    x[0] = b[0];
    for (i = 1; i < n; i++)
        x[i] = a * x[i - 1] + b[i];
}

double weighted_sum(int n, const double *v)
{
    int i;
    double s;

    s = 0.0;
    for (i = 0; i < n; i++)
        s += v[i] * (double) (1 + i % 5);
    return s;
}
