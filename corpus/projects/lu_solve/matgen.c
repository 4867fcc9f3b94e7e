/* A diagonally dominant test system (no pivoting needed). */
#include "lu.h"

void make_system(int n, double A[n][n], double *b)
{
    int i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++)
            A[i][j] = 1.0 / (1.0 + (i > j ? i - j : j - i)) + (i == j ? (double) n : 0.0);
        b[i] = (double) (i % 13) - 6.0;
    }
}

void matvec(int n, double A[n][n], const double *x, double *y)
{
    int i, j;
    double s;

    for (i = 0; i < n; i++) {
        s = 0.0;
        for (j = 0; j < n; j++)
            s += A[i][j] * x[j];
        y[i] = s;
    }
}
