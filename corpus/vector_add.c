/* Vector addition c = a + b on heap arrays, with a checksum. */
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
    double *c = malloc((size_t)n * sizeof *c);
    if (!a || !b || !c)
        return 1;

    for (int i = 0; i < n; i++) {
        a[i] = 0.5 * i;
        b[i] = (double)(n - i) / 4.0;
    }

    for (int i = 0; i < n; i++)
        c[i] = a[i] + b[i];

    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += c[i];

    printf("n = %d\n", n);
    printf("c[0] = %.15g  c[n/2] = %.15g  c[n-1] = %.15g\n", c[0], c[n / 2], c[n - 1]);
    printf("sum = %.15e\n", sum);
    free(a);
    free(b);
    free(c);
    return 0;
}
