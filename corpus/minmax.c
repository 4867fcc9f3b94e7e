/* Minimum and maximum in the three usual spellings: an if, a conditional
 * expression and fmax. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double max_if(const double *a, int n)
{
    double m = a[0];
    for (int i = 1; i < n; i++)
        if (a[i] > m)
            m = a[i];
    return m;
}

static double min_ternary(const double *a, int n)
{
    double m = a[0];
    for (int i = 1; i < n; i++)
        m = a[i] < m ? a[i] : m;
    return m;
}

static int max_ternary(const int *k, int n)
{
    int m = k[0];
    for (int i = 1; i < n; i++)
        m = k[i] > m ? k[i] : m;
    return m;
}

static double max_fmax(const double *a, int n)
{
    double m = -INFINITY;
    for (int i = 0; i < n; i++)
        m = fmax(m, a[i]);
    return m;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    int *k = malloc((size_t)n * sizeof *k);
    if (!a || !k)
        return 1;

    for (int i = 0; i < n; i++) {
        a[i] = sin(0.001 * i) * (1.0 + 1e-6 * i);
        k[i] = (i * 7919) % 100003 - 50000;
    }

    printf("max (if) = %.15e\n", max_if(a, n));
    printf("min (?:) = %.15e\n", min_ternary(a, n));
    printf("max (fmax) = %.15e\n", max_fmax(a, n));
    printf("max int (?:) = %d\n", max_ternary(k, n));
    free(a);
    free(k);
    return 0;
}
