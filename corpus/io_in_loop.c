/* Loops that print: a small table and a report of rare values, whose lines
 * must come out in iteration order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *a = malloc((size_t)n * sizeof *a);
    if (!a)
        return 1;

    for (int i = 0; i < n; i++)
        a[i] = sin(0.37 * i) * cos(0.0011 * i);

    for (int i = 0; i < 6; i++)
        printf("a[%d] = %+.6f\n", i * 1000, a[i * 1000]);

    int shown = 0;
    for (int i = 0; i < n; i++)
        if (a[i] > 0.9995 && shown < 5) {
            printf("large value at %d: %.9f\n", i, a[i]);
            shown++;
        }

    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += a[i] * a[i];
    printf("sum of squares = %.12e\n", sum);
    free(a);
    return 0;
}
