/* In-place updates that read a neighbour the loop overwrites later (anti
 * dependences), an out-of-place version, and an in-place copy between two
 * disjoint halves. */
#include <stdio.h>
#include <stdlib.h>

static void smooth_inplace(double *a, int n)
{
    for (int i = 0; i < n - 1; i++)
        a[i] = (a[i] + a[i + 1]) * 0.5;
}

static void smooth_copy(double *dst, const double *src, int n)
{
    for (int i = 0; i < n - 1; i++)
        dst[i] = (src[i] + src[i + 1]) * 0.5;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    double *b = malloc((size_t)n * sizeof *b);
    int *m = malloc((size_t)n * sizeof *m);
    if (!a || !b || !m)
        return 1;

    for (int i = 0; i < n; i++) {
        a[i] = (double)(i % 9);
        m[i] = i % 5;
    }

    smooth_copy(b, a, n);
    b[n - 1] = 0.0;
    smooth_inplace(a, n);

    for (int i = 0; i < n - 1; i++)
        m[i] = m[i + 1] * 2;

    int h = n / 2;
    for (int i = 0; i < h; i++)
        b[i] = b[i + h] - a[i];

    double sa = 0.0, sb = 0.0;
    long sm = 0;
    for (int i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
        sm += m[i];
    }

    printf("a[0] = %.15g  b[0] = %.15g  m[0] = %d\n", a[0], b[0], m[0]);
    printf("sum a = %.15e  sum b = %.15e  sum m = %ld\n", sa, sb, sm);
    free(a);
    free(b);
    free(m);
    return 0;
}
