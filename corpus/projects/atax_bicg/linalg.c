/* Matrix-vector kernels on a pointer-to-row matrix of NX rows. */
#include "linalg.h"

void fill_matrix(double (*A)[NY])
{
    int i, j;

    for (i = 0; i < NX; i++)
        for (j = 0; j < NY; j++)
            A[i][j] = (double) ((i + 2 * j) % NY) / (double) NX - 0.3;
}

/* tmp = A x;  y = A^T tmp */
void atax(double (*A)[NY], const double *x, double *tmp, double *y)
{
    int i, j;
    double s;

    for (i = 0; i < NX; i++) {
        s = 0.0;
        for (j = 0; j < NY; j++)
            s += A[i][j] * x[j];
        tmp[i] = s;
    }
    for (j = 0; j < NY; j++) {
        s = 0.0;
        for (i = 0; i < NX; i++)
            s += A[i][j] * tmp[i];
        y[j] = s;
    }
}

/* s = A^T r;  q = A p */
void bicg(double (*A)[NY], const double *r, const double *p, double *s, double *q)
{
    int i, j;
    double acc;

    for (j = 0; j < NY; j++) {
        acc = 0.0;
        for (i = 0; i < NX; i++)
            acc += r[i] * A[i][j];
        s[j] = acc;
    }
    for (i = 0; i < NX; i++) {
        acc = 0.0;
        for (j = 0; j < NY; j++)
            acc += A[i][j] * p[j];
        q[i] = acc;
    }
}
