/* A copy-like kernel that the caller applies to overlapping memory:
 * shift(a + 1, a, n) turns it into a recurrence. */
#include <stdio.h>
#include <stdlib.h>

void shift(double *dst, const double *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = src[i] * 0.5 + 1.0;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *a = malloc((size_t)(n + 1) * sizeof *a);
    if (!a)
        return 1;

    for (int i = 0; i <= n; i++)
        a[i] = (double)(i % 7);

    /* dst and src overlap: dst[i] is src[i + 1] */
    shift(a + 1, a, n);

    double sum = 0.0;
    for (int i = 0; i <= n; i++)
        sum += a[i];

    printf("a[1..3] = %.15g %.15g %.15g\n", a[1], a[2], a[3]);
    printf("a[n] = %.15g\n", a[n]);
    printf("sum = %.15e\n", sum);
    free(a);
    return 0;
}
