/* Index of the maximum and of the last minimum, next to a plain max. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    if (!a)
        return 1;

    for (int i = 0; i < n; i++)
        a[i] = cos(0.0007 * i) + 0.3 * sin(0.013 * i) + (double)(i % 10) * 0.01;

    double best = a[0];
    int best_i = 0;
    for (int i = 1; i < n; i++)
        if (a[i] > best) {
            best = a[i];
            best_i = i;
        }

    double low = a[0];
    int low_i = 0;
    for (int i = 1; i < n; i++)
        if (a[i] <= low) {
            low = a[i];
            low_i = i;
        }

    double peak = a[0];
    for (int i = 1; i < n; i++)
        if (a[i] > peak)
            peak = a[i];

    printf("argmax = %d (%.15e)\n", best_i, best);
    printf("last argmin = %d (%.15e)\n", low_i, low);
    printf("max = %.15e\n", peak);
    free(a);
    return 0;
}
