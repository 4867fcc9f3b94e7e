/* Existing pragmas that miss a clause: a shared temporary that should be
 * private, and a sum without a reduction clause. */
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
        a[i] = (double)(i % 100) * 0.5;

    double t;
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        t = a[i] * 2.0;
        b[i] = t * t + 1.0;
    }

    double sum = 0.0;
#pragma omp parallel for
    for (int i = 0; i < n; i++)
        sum += b[i];

    printf("b[0] = %.15g  b[99] = %.15g\n", b[0], b[99]);
    printf("sum = %.15e\n", sum);
    free(a);
    free(b);
    return 0;
}
