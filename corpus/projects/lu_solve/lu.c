/* In-place LU factorisation (Doolittle, no pivoting) and the two
 * triangular solves. */
#include "lu.h"

void lu_factor(int n, double A[n][n])
{
    int i, j, k;
    double f;

    for (k = 0; k < n - 1; k++) {
        for (i = k + 1; i < n; i++) {
            f = A[i][k] / A[k][k];
            A[i][k] = f;
            for (j = k + 1; j < n; j++)
                A[i][j] -= f * A[k][j];
        }
    }
}

void lu_solve(int n, double A[n][n], const double *b, double *x)
{
    int i, j;
    double s;

    for (i = 0; i < n; i++) {
        s = 0.0;
        for (j = 0; j < i; j++)
            s += A[i][j] * x[j];
        x[i] = b[i] - s;
    }
    for (i = n - 1; i >= 0; i--) {
        s = 0.0;
        for (j = i + 1; j < n; j++)
            s += A[i][j] * x[j];
        x[i] = (x[i] - s) / A[i][i];
    }
}
