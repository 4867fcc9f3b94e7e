/* Sparse matrix-vector product in CSR format for a banded matrix: building
 * the row pointers is a prefix sum, filling and multiplying are per-row. */
#include <stdio.h>
#include <stdlib.h>

#define BAND 2

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 40000 * scale;
    int *rowptr = malloc((size_t)(n + 1) * sizeof *rowptr);
    int *col = malloc((size_t)n * (2 * BAND + 1) * sizeof *col);
    double *val = malloc((size_t)n * (2 * BAND + 1) * sizeof *val);
    double *x = malloc((size_t)n * sizeof *x);
    double *y = malloc((size_t)n * sizeof *y);
    if (!rowptr || !col || !val || !x || !y)
        return 1;

    rowptr[0] = 0;
    for (int i = 0; i < n; i++) {
        int lo = i - BAND < 0 ? 0 : i - BAND;
        int hi = i + BAND > n - 1 ? n - 1 : i + BAND;
        rowptr[i + 1] = rowptr[i] + (hi - lo + 1);
    }

    for (int i = 0; i < n; i++) {
        int lo = i - BAND < 0 ? 0 : i - BAND;
        int hi = i + BAND > n - 1 ? n - 1 : i + BAND;
        int k = rowptr[i];
        for (int j = lo; j <= hi; j++) {
            col[k] = j;
            val[k] = (i == j) ? 4.0 : -1.0 / (1 + abs(i - j));
            k++;
        }
    }

    for (int i = 0; i < n; i++)
        x[i] = 1.0 + (i % 5) * 0.5;

    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int k = rowptr[i]; k < rowptr[i + 1]; k++)
            s += val[k] * x[col[k]];
        y[i] = s;
    }

    printf("nnz = %d\n", rowptr[n]);
    printf("y[0] = %.15g  y[n/2] = %.15g  y[n-1] = %.15g\n", y[0], y[n / 2], y[n - 1]);
    free(rowptr);
    free(col);
    free(val);
    free(x);
    free(y);
    return 0;
}
