/* Scatter eight channel values into output slots; the slot table is a
 * permutation written down in this file, so no two iterations share a slot. */
#include <stdio.h>

#define CHANNELS 8

static const int slot_of[CHANNELS] = {5, 2, 7, 0, 3, 6, 1, 4};

static void route(double *dst, const double *src)
{
    int c;

#pragma omp parallel for
    for (c = 0; c < CHANNELS; c++)
        dst[slot_of[c]] = 2.0 * src[c] + 1.0;
}

int main(void)
{
    double in[CHANNELS], out[CHANNELS];
    int c;

    for (c = 0; c < CHANNELS; c++) {
        in[c] = c * 1.5;
        out[c] = 0.0;
    }
    route(out, in);
    for (c = 0; c < CHANNELS; c++)
        printf("%s%.2f", c ? " " : "", out[c]);
    printf("\n");
    return 0;
}
