#include <stdio.h>
#include "support.h"

int main(void)
{
    double (*A)[N] = alloc_data(N * N, sizeof(double));
    double (*B)[N] = alloc_data(N * N, sizeof(double));
    double (*C)[N] = alloc_data(N * N, sizeof(double));
    double (*P)[M] = alloc_data(M * M, sizeof(double));
    double (*Q)[M] = alloc_data(M * M, sizeof(double));
    double *x = alloc_data(M * 10, sizeof(double));
    double *y = alloc_data(M * 10, sizeof(double));
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (double)((i * j + 1) % 7) / 7;
            B[i][j] = (double)((i + 2 * j) % 5) / 5;
        }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++)
            P[i][j] = Q[i][j] = (double)((i + j) % 9);
    for (int i = 0; i < M * 10; i++)
        x[i] = (double)(i % 100) / 100;
    kernel_gemm(C, A, B);
    for (int t = 0; t < STEPS; t++) {
        kernel_jacobi(Q, P);
        kernel_jacobi(P, Q);
    }
    kernel_waves(y, x);
    dump_sum("gemm", &C[0][0], N * N);
    dump_sum("jacobi", &P[0][0], M * M);
    dump_sum("waves", y, M * 10);
    return 0;
}
