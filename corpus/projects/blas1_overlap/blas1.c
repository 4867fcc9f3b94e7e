/* Level-1 vector kernels in the BLAS calling style (unit stride). */
#include "blas1.h"

void daxpy(int n, double a, const double *x, double *y)
{
    int i;

    for (i = 0; i < n; i++)
        y[i] += a * x[i];
}

void dcopy(int n, const double *x, double *y)
{
    int i;

    for (i = 0; i < n; i++)
        y[i] = x[i];
}

void dscal(int n, double a, double *x)
{
    int i;

    for (i = 0; i < n; i++)
        x[i] *= a;
}

double ddot(int n, const double *x, const double *y)
{
    int i;
    double s;

    s = 0.0;
    for (i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

double dnrm2sq(int n, const double *x)
{
    return ddot(n, x, x);
}
