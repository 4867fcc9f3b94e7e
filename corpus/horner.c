/* Polynomial evaluation with Horner's rule at many points: the loop over
 * points is parallel, the Horner loop over coefficients is a recurrence. */
#include <stdio.h>
#include <stdlib.h>

#define DEG 12

static double coef[DEG + 1];

static void eval_all(const double *x, double *y, int n)
{
    for (int i = 0; i < n; i++) {
        double r = coef[DEG];
        for (int k = DEG - 1; k >= 0; k--)
            r = r * x[i] + coef[k];
        y[i] = r;
    }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 80000 * scale;
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    if (!x || !y)
        return 1;

    for (int k = 0; k <= DEG; k++)
        coef[k] = ((k % 2) ? -1.0 : 1.0) / (k + 1);

    for (int i = 0; i < n; i++)
        x[i] = -1.0 + 2.0 * i / (n - 1);

    eval_all(x, y, n);

    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += y[i] * y[i];

    printf("p(-1) = %.15g  p(0) = %.15g  p(1) = %.15g\n", y[0], y[(n - 1) / 2], y[n - 1]);
    printf("sum p^2 = %.15e\n", s);
    free(x);
    free(y);
    return 0;
}
