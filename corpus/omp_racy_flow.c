/* An existing pragma on a loop that carries a flow dependence: with
 * OpenMP enabled the result is wrong and varies from run to run. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 200000 * scale;
    long *a = malloc((size_t)n * sizeof *a);
    if (!a)
        return 1;

    for (int i = 0; i < n; i++)
        a[i] = 0;

#pragma omp parallel for
    for (int i = 1; i < n; i++)
        a[i] = a[i - 1] + 1;

    long sum = 0;
    for (int i = 0; i < n; i++)
        sum += a[i];

    printf("a[n-1] = %ld (expected %d)\n", a[n - 1], n - 1);
    printf("sum = %ld\n", sum);
    free(a);
    return 0;
}
