/* Already parallelised with correct OpenMP pragmas: a sum of squares with
 * a reduction clause and an element-wise square root. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 200000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    double *b = malloc((size_t)n * sizeof *b);
    if (!a || !b)
        return 1;

    for (int i = 0; i < n; i++)
        a[i] = 1.0 + (double)(i % 1000) / 250.0;

    double s = 0.0;
#pragma omp parallel for reduction(+:s)
    for (int i = 0; i < n; i++)
        s += a[i] * a[i];

#pragma omp parallel for
    for (int i = 0; i < n; i++)
        b[i] = sqrt(a[i]);

    printf("sum of squares = %.12e\n", s);
    printf("b[0] = %.15g  b[999] = %.15g\n", b[0], b[999]);
    free(a);
    free(b);
    return 0;
}
