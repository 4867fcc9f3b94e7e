/* Smooth a signal and add each smoothed sample into a coarse histogram. With
 * several threads every sample keeps its own value and the histogram is summed
 * afterwards; with one thread (the team size is read before the loop) the loop
 * adds straight into the shared histogram through a shared scratch pair. */
#include <stdio.h>
#include <omp.h>

#define N 6000
#define BINS 16

static double signal[N];
static double smoothed[N];
static double histogram[BINS];

static void smooth_and_bin(void)
{
    int team = omp_get_max_threads();
    double pair[2];
#pragma omp parallel for
    for (int i = 1; i < N - 1; i++) {
        double s = (signal[i - 1] + 2.0 * signal[i] + signal[i + 1]) / 4.0;
        if (team > 1) {
            smoothed[i] = s;
        } else {
            pair[0] = s;
            pair[1] = (double)((int)s % BINS);
            histogram[(int)pair[1]] += pair[0];
        }
    }
    if (team > 1)
        for (int i = 1; i < N - 1; i++)
            histogram[(int)smoothed[i] % BINS] += smoothed[i];
}

int main(void)
{
    double total = 0.0;

    for (int i = 0; i < N; i++)
        signal[i] = (double)((i * 29 + 7) % 97);
    smooth_and_bin();
    for (int b = 0; b < BINS; b++)
        total += histogram[b] * (b + 1);
    printf("weighted histogram %.6f\n", total);
    return 0;
}
