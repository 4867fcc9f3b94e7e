/* Loops calling functions with side effects: a user function counting its
 * calls in a global, rand(), and a function with hidden static state. */
#include <stdio.h>
#include <stdlib.h>

static long calls = 0;

static double counted_square(double v)
{
    calls++;
    return v * v;
}

static double running_total(double v)
{
    static double acc = 0.0;
    acc += v;
    return acc;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 50000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    int *r = malloc((size_t)n * sizeof *r);
    if (!x || !y || !r)
        return 1;

    for (int i = 0; i < n; i++)
        x[i] = (double)(i % 64) * 0.125;

    for (int i = 0; i < n; i++)
        y[i] = counted_square(x[i]);

    srand(12345u);
    for (int i = 0; i < n; i++)
        r[i] = rand() % 1000;

    double last = 0.0;
    for (int i = 0; i < n; i++)
        last = running_total(y[i]);

    long rsum = 0;
    for (int i = 0; i < n; i++)
        rsum += r[i];

    printf("calls = %ld  y[n-1] = %.15g\n", calls, y[n - 1]);
    printf("r[0..2] = %d %d %d  rsum = %ld\n", r[0], r[1], r[2], rsum);
    printf("running total = %.15g\n", last);
    free(x);
    free(y);
    free(r);
    return 0;
}
