/* Sort each block of eight samples in a scratch array before taking its
 * median: the scratch array is declared once before the loop, so every
 * thread sorts in the same array. */
#include <stdio.h>

#define BLOCKS 4000
#define WIDTH 8

static double samples[BLOCKS * WIDTH];
static double medians[BLOCKS];

static void block_medians(void)
{
    double scratch[WIDTH];
#pragma omp parallel for
    for (int b = 0; b < BLOCKS; b++) {
        for (int k = 0; k < WIDTH; k++)
            scratch[k] = samples[b * WIDTH + k];
        for (int k = 1; k < WIDTH; k++) {
            double v = scratch[k];
            int m = k - 1;
            while (m >= 0 && scratch[m] > v) {
                scratch[m + 1] = scratch[m];
                m--;
            }
            scratch[m + 1] = v;
        }
        medians[b] = 0.5 * (scratch[WIDTH / 2 - 1] + scratch[WIDTH / 2]);
    }
}

int main(void)
{
    double total = 0.0;

    for (int i = 0; i < BLOCKS * WIDTH; i++)
        samples[i] = (double)((i * 37 + 11) % 101);
    block_medians();
    for (int b = 0; b < BLOCKS; b++)
        total += medians[b];
    printf("median total %.6f\n", total);
    return 0;
}
