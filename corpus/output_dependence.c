/* Output dependences: several iterations write the same element, and only
 * the last write must survive. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    double *b = malloc((size_t)(n / 2 + 1) * sizeof *b);
    double *z = malloc((size_t)n * sizeof *z);
    static double x[4];
    static double cell[1];
    if (!a || !b || !z)
        return 1;

    for (int i = 0; i < n; i++)
        a[i] = (double)((i * 13) % 101);

    for (int i = 0; i < n; i++)
        x[i % 4] = a[i] * 2.0;

    for (int i = 0; i < n; i++)
        b[i / 2] = a[i] + 0.5;

    for (int i = 0; i < n; i++) {
        cell[0] = a[i] * 3.0;
        z[i] = cell[0] + 1.0;
    }

    printf("x = %.15g %.15g %.15g %.15g\n", x[0], x[1], x[2], x[3]);
    printf("b[0] = %.15g  b[n/2-1] = %.15g  cell = %.15g  z[n-1] = %.15g\n",
           b[0], b[n / 2 - 1], cell[0], z[n - 1]);
    free(a);
    free(b);
    free(z);
    return 0;
}
