/* Values that survive the loop: a scalar written in every iteration, the
 * loop counter itself, and a value written only conditionally. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    double *b = malloc((size_t)n * sizeof *b);
    double *c = malloc((size_t)n * sizeof *c);
    if (!a || !b || !c)
        return 1;

    for (int j = 0; j < n; j++)
        a[j] = (double)(((unsigned int)j * 2246822519u) >> 8) / 16777216.0;

    double last = 0.0;
    for (int j = 0; j < n; j++) {
        last = a[j] * 2.0 + 1.0;
        b[j] = last;
    }
    printf("last = %.15g\n", last);

    int i;
    for (i = 0; i < n; i++)
        c[i] = b[i] - a[i];
    printf("i after loop = %d  c[i-1] = %.15g\n", i, c[i - 1]);

    int pos = -1;
    for (int j = 0; j < n; j++)
        if (a[j] > 0.999)
            pos = j;
    printf("last position with a > 0.999 = %d\n", pos);

    free(a);
    free(b);
    free(c);
    return 0;
}
