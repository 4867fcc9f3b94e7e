/* Matrix product in i-k-j order on global matrices: C += A B, repeated. */
#include <stdio.h>
#include <stdlib.h>

#define N 128

static double A[N][N], B[N][N], C[N][N];

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 1;
    if (reps < 1)
        reps = 1;

    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (double)((i * j) % 5) - 2.0;
            B[i][j] = (double)((i + j) % 3);
            C[i][j] = 0.0;
        }

    for (int r = 0; r < reps; r++)
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double aik = A[i][k];
                for (int j = 0; j < N; j++)
                    C[i][j] += aik * B[k][j];
            }

    printf("C[0][0] = %.15g  C[5][7] = %.15g  C[N-1][N-1] = %.15g\n",
           C[0][0], C[5][7], C[N - 1][N - 1]);
    return 0;
}
