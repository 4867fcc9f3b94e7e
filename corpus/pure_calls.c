/* Loops calling pure functions: libm (sin, cos, sqrt, exp) and small user
 * functions that only compute from their arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double smoothstep(double t)
{
    if (t <= 0.0)
        return 0.0;
    if (t >= 1.0)
        return 1.0;
    return t * t * (3.0 - 2.0 * t);
}

static double bump(double x, double mu, double width)
{
    double d = (x - mu) / width;
    return exp(-0.5 * d * d);
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    double *z = malloc((size_t)n * sizeof *z);
    if (!x || !y || !z)
        return 1;

    for (int i = 0; i < n; i++)
        x[i] = -2.0 + 4.0 * i / n;

    for (int i = 0; i < n; i++)
        y[i] = sin(x[i]) * cos(3.0 * x[i]);

    for (int i = 0; i < n; i++)
        z[i] = sqrt(fabs(y[i])) + exp(-x[i] * x[i]);

    for (int i = 0; i < n; i++)
        z[i] += smoothstep(0.5 * x[i] + 0.5) * bump(x[i], 0.3, 0.25);

    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += z[i];

    printf("y[n/3] = %.15g  z[n/3] = %.15g  z[n-1] = %.15g\n", y[n / 3], z[n / 3], z[n - 1]);
    printf("sum z = %.15e\n", s);
    free(x);
    free(y);
    free(z);
    return 0;
}
