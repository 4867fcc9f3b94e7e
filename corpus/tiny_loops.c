/* Loops with 3, 4 or 9 iterations and trivial bodies (safe to parallelise,
 * not worth it) next to a large filter loop that uses their results. */
#include <stdio.h>
#include <stdlib.h>

#define TAPS 4

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    if (!x || !y)
        return 1;

    double coef[TAPS];
    for (int k = 0; k < TAPS; k++)
        coef[k] = 1.0 / (k + 1);

    int m3[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            m3[i][j] = 3 * i + j + 1;

    for (int i = 0; i < n; i++)
        x[i] = (double)((i * 17) % 23) - 11.0;

    for (int i = 0; i < n - TAPS + 1; i++) {
        double s = 0.0;
        for (int k = 0; k < TAPS; k++)
            s += coef[k] * x[i + k];
        y[i] = s;
    }

    printf("trace(m3) = %d  coef[3] = %.15g\n", m3[0][0] + m3[1][1] + m3[2][2], coef[3]);
    printf("y[0] = %.15g  y[n-4] = %.15g\n", y[0], y[n - 4]);
    free(x);
    free(y);
    return 0;
}
