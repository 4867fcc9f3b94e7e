/* Repeated sparse matrix-vector products with rescaling (a power
 * iteration on a banded CSR matrix). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "pool.h"
#include "csr.h"

int main(int argc, char **argv)
{
    struct csr A;
    double *x, *y;
    double norm, lambda;
    int scale, n, it, i;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = NROWS * scale;

    csr_build(&A, n);
    x = POOL_NEW(double, n, "x");
    y = POOL_NEW(double, n, "y");
    for (i = 0; i < n; i++)
        x[i] = 1.0 + (double) (i % 10) / 10.0;

    lambda = 0.0;
    for (it = 0; it < 10; it++) {
        spmv(&A, x, y);
        norm = 0.0;
        lambda = 0.0;
        for (i = 0; i < n; i++) {
            norm += y[i] * y[i];
            lambda += x[i] * y[i];
        }
        norm = sqrt(norm);
        for (i = 0; i < n; i++)
            x[i] = y[i] / norm;
    }
    printf("nnz = %d\n", A.rowptr[n]);
    printf("rayleigh quotient %.13e  x[0] %.13e  x[n/2] %.13e\n", lambda, x[0], x[n / 2]);

    pool_free(x);
    pool_free(y);
    csr_free(&A);
    return 0;
}
