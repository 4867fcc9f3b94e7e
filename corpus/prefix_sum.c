/* Loop-carried flow dependences: an inclusive prefix sum, a first-order
 * linear recurrence and a distance-2 recurrence. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 200000 * scale;
    long *x = malloc((size_t)n * sizeof *x);
    long *s = malloc((size_t)n * sizeof *s);
    double *y = malloc((size_t)n * sizeof *y);
    long *f = malloc((size_t)n * sizeof *f);
    if (!x || !s || !y || !f)
        return 1;

    for (int i = 0; i < n; i++)
        x[i] = (i % 10) + 1;

    s[0] = x[0];
    for (int i = 1; i < n; i++)
        s[i] = s[i - 1] + x[i];

    y[0] = 1.0;
    for (int i = 1; i < n; i++)
        y[i] = 0.5 * y[i - 1] + 0.1 * x[i];

    f[0] = 1;
    f[1] = 1;
    for (int i = 2; i < n; i++)
        f[i] = (f[i - 2] + x[i]) % 1000003;

    printf("s[n-1] = %ld  s[n/2] = %ld\n", s[n - 1], s[n / 2]);
    printf("y[n-1] = %.15g\n", y[n - 1]);
    printf("f[n-1] = %ld  f[n-2] = %ld\n", f[n - 1], f[n - 2]);
    free(x);
    free(s);
    free(y);
    free(f);
    return 0;
}
