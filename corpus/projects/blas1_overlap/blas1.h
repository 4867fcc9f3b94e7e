#ifndef BLAS1_H
#define BLAS1_H

void daxpy(int n, double a, const double *x, double *y);
void dcopy(int n, const double *x, double *y);
void dscal(int n, double a, double *x);
double ddot(int n, const double *x, const double *y);
double dnrm2sq(int n, const double *x);

#endif
