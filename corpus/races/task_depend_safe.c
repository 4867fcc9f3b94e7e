/* Load, filter and summarise a signal as three tasks; the filter task
 * depends on the load, the summary on the filter. */
#include <stdio.h>

#define LEN 3000

static void load(double *buf, int n)
{
    int k;
    for (k = 0; k < n; k++)
        buf[k] = (double)((k * 29) % 31) - 15.0;
}

static void filter(double *dst, const double *src, int n)
{
    int k;
    dst[0] = src[0];
    for (k = 1; k < n; k++)
        dst[k] = 0.5 * (src[k] + src[k - 1]);
}

int main(void)
{
    static double raw[LEN], smooth[LEN];
    double energy = 0.0;

#pragma omp parallel
#pragma omp single
    {
#pragma omp task depend(out: raw)
        load(raw, LEN);
#pragma omp task depend(in: raw) depend(out: smooth)
        filter(smooth, raw, LEN);
#pragma omp task depend(in: smooth) shared(energy)
        {
            int k;
            for (k = 0; k < LEN; k++)
                energy += smooth[k] * smooth[k];
        }
#pragma omp taskwait
    }
    printf("energy %.4f\n", energy);
    return 0;
}
