/* Dense matrix kernels with VLA parameters. */
#include "kernels.h"

void init_matrix(int rows, int cols, double A[rows][cols], int seed)
{
    int i, j;

    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            A[i][j] = (double) ((i * (j + seed) + 3 * j + 1) % 97) / (97.0 * cols);
}

void zero_matrix(int rows, int cols, double A[rows][cols])
{
    int i, j;

    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            A[i][j] = 0.0;
}

/* C = alpha * A * B + beta * C */
void gemm(int ni, int nj, int nk, double alpha, double beta,
          double C[ni][nj], double A[ni][nk], double B[nk][nj])
{
    int i, j, k;
    double acc;

    for (i = 0; i < ni; i++)
        for (j = 0; j < nj; j++) {
            acc = 0.0;
            for (k = 0; k < nk; k++)
                acc += A[i][k] * B[k][j];
            C[i][j] = beta * C[i][j] + alpha * acc;
        }
}
