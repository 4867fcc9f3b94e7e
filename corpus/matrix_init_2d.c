/* 2-D do-all nests on a heap matrix with a compile-time row length,
 * written C89 style with the counters declared at the top. */
#include <stdio.h>
#include <stdlib.h>

#define M 300

int main(int argc, char **argv)
{
    int i, j, n, scale;
    double total;
    double (*a)[M];
    double (*b)[M];

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = 400 * scale;
    a = malloc((size_t)n * sizeof *a);
    b = malloc((size_t)n * sizeof *b);
    if (!a || !b)
        return 1;

    for (i = 0; i < n; i++)
        for (j = 0; j < M; j++)
            a[i][j] = 0.5 * i + 0.25 * j;

    for (i = 0; i < n; i++)
        for (j = 0; j < M; j++)
            b[i][j] = 2.0 * a[i][j] + a[n - 1 - i][M - 1 - j];

    total = 0.0;
    for (i = 0; i < n; i++)
        for (j = 0; j < M; j++)
            total += b[i][j];

    printf("b[0][0] = %.15g  b[n-1][M-1] = %.15g\n", b[0][0], b[n - 1][M - 1]);
    printf("total = %.15e\n", total);
    free(a);
    free(b);
    return 0;
}
