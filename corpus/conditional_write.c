/* Conditional stores: a masked copy, an in-place clamp, a conditional
 * count, and a stream compaction whose output position depends on all
 * previous iterations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 150000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    double *b = calloc((size_t)n, sizeof *b);
    double *c = malloc((size_t)n * sizeof *c);
    if (!a || !b || !c)
        return 1;

    for (int i = 0; i < n; i++)
        a[i] = sin(0.01 * i) + 0.2 * cos(0.37 * i);

    for (int i = 0; i < n; i++)
        if (a[i] > 0)
            b[i] = a[i];

    int positives = 0;
    for (int i = 0; i < n; i++)
        if (a[i] > 0)
            positives++;

    int m = 0;
    for (int i = 0; i < n; i++)
        if (a[i] > 0)
            c[m++] = a[i];

    for (int i = 0; i < n; i++) {
        if (a[i] < -0.5)
            a[i] = -0.5;
        else if (a[i] > 0.75)
            a[i] = 0.75;
    }

    double sb = 0.0, sa = 0.0;
    for (int i = 0; i < n; i++) {
        sb += b[i];
        sa += a[i];
    }

    printf("positives = %d  m = %d  c[m-1] = %.15g\n", positives, m, c[m - 1]);
    printf("sum b = %.15e  sum clamped a = %.15e\n", sb, sa);
    free(a);
    free(b);
    free(c);
    return 0;
}
