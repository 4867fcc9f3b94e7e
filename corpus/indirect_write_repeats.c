/* Scatters through an index array with repeated entries: several
 * iterations write (or update) the same element. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 120000 * scale;
    int m = n / 4;
    int *idx = malloc((size_t)n * sizeof *idx);
    double *x = malloc((size_t)n * sizeof *x);
    double *y = calloc((size_t)m, sizeof *y);
    int *cnt = calloc((size_t)m, sizeof *cnt);
    if (!idx || !x || !y || !cnt)
        return 1;

    for (int i = 0; i < n; i++) {
        idx[i] = (int)(((unsigned int)i * 2654435761u >> 7) % (unsigned int)m);
        x[i] = (double)i;
    }

    for (int i = 0; i < n; i++)
        y[idx[i]] = x[i];

    for (int i = 0; i < n; i++)
        cnt[idx[i]] += 1;

    double ysum = 0.0;
    long cmax = 0, empty = 0;
    for (int k = 0; k < m; k++) {
        ysum += y[k];
        if (cnt[k] > cmax)
            cmax = cnt[k];
        empty += cnt[k] == 0;
    }

    printf("y[0] = %.15g  y[m-1] = %.15g\n", y[0], y[m - 1]);
    printf("ysum = %.15e  max count = %ld  empty = %ld\n", ysum, cmax, empty);
    free(idx);
    free(x);
    free(y);
    free(cnt);
    return 0;
}
