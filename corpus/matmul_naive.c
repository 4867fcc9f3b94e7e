/* Naive i-j-k matrix product on fixed-size global matrices: the innermost
 * loop walks B by columns, so ompilot interchanges j and k. */
#include <stdio.h>
#define N 512
static double A[N][N], B[N][N], C[N][N];

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (i * j) % 7 - 3.0;
            B[i][j] = (i + 2 * j) % 5;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < N; k++)
                C[i][j] += A[i][k] * B[k][j];
    double trace = 0;
    for (int i = 0; i < N; i++)
        trace += C[i][i];
    printf("trace = %.6e\n", trace);
    return 0;
}
