#ifndef KERNELS_H
#define KERNELS_H

void init_matrix(int rows, int cols, double A[rows][cols], int seed);
void zero_matrix(int rows, int cols, double A[rows][cols]);
void gemm(int ni, int nj, int nk, double alpha, double beta,
          double C[ni][nj], double A[ni][nk], double B[nk][nj]);

#endif
