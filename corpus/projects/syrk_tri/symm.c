/* Symmetric rank-k updates of the lower triangle of C (C99 restrict in
 * array-parameter form: the parameters are double (*restrict)[...]). */
#include "symm.h"

/* C = beta C + alpha A A^T, lower triangle only */
void syrk(double alpha, double beta, double C[restrict N][N], double A[restrict N][M])
{
    int i, j, k;

    for (i = 0; i < N; i++) {
        for (j = 0; j <= i; j++)
            C[i][j] *= beta;
        for (k = 0; k < M; k++)
            for (j = 0; j <= i; j++)
                C[i][j] += alpha * A[i][k] * A[j][k];
    }
}

/* C = beta C + alpha (A B^T + B A^T), lower triangle only */
void syr2k(double alpha, double beta, double C[restrict N][N],
           double A[restrict N][M], double B[restrict N][M])
{
    int i, j, k;

    for (i = 0; i < N; i++) {
        for (j = 0; j <= i; j++)
            C[i][j] *= beta;
        for (k = 0; k < M; k++)
            for (j = 0; j <= i; j++)
                C[i][j] += A[j][k] * alpha * B[i][k] + B[j][k] * alpha * A[i][k];
    }
}

/* copy the lower triangle to the upper one */
void mirror_lower(double C[restrict N][N])
{
    int i, j;

    for (i = 0; i < N; i++)
        for (j = i + 1; j < N; j++)
            C[i][j] = C[j][i];
}
