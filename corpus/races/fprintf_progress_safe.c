/* Smooth a signal and report progress on stderr from inside the parallel
 * loop: the progress lines come out in any order, the results do not. */
#include <stdio.h>

#define LEN 2048

static void smooth(double *dst, const double *src, int n)
{
    int i;

#pragma omp parallel for schedule(static)
    for (i = 1; i < n - 1; i++) {
        dst[i] = (src[i - 1] + 2.0 * src[i] + src[i + 1]) / 4.0;
        if (i % 256 == 0)
            fprintf(stderr, "smooth: sample %d done\n", i);
    }
}

int main(void)
{
    static double raw[LEN], flat[LEN];
    double sum = 0.0;
    int i;

    for (i = 0; i < LEN; i++)
        raw[i] = (double)((i * 13) % 29) - 14.0;
    smooth(flat, raw, LEN);
    for (i = 1; i < LEN - 1; i++)
        sum += flat[i];
    printf("smoothed sum %.6f\n", sum);
    return 0;
}
