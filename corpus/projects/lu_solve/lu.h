#ifndef LU_H
#define LU_H

#ifndef N
#define N 560
#endif

void make_system(int n, double A[n][n], double *b);
void lu_factor(int n, double A[n][n]);
void lu_solve(int n, double A[n][n], const double *b, double *x);
void matvec(int n, double A[n][n], const double *x, double *y);

#endif
