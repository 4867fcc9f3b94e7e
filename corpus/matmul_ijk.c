/* Matrix product C = A B in i-j-k order with a scalar accumulator. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 120 * scale;
    double *A = malloc((size_t)n * n * sizeof *A);
    double *B = malloc((size_t)n * n * sizeof *B);
    double *C = malloc((size_t)n * n * sizeof *C);
    if (!A || !B || !C)
        return 1;

    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            A[i * n + j] = (double)((i + 2 * j) % 9) * 0.5;
            B[i * n + j] = (double)((3 * i + j) % 7) - 3.0;
        }

    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int k = 0; k < n; k++)
                sum += A[i * n + k] * B[k * n + j];
            C[i * n + j] = sum;
        }

    double trace = 0.0;
    for (int i = 0; i < n; i++)
        trace += C[i * n + i];

    printf("C[0][0] = %.15g  C[n-1][n-1] = %.15g  C[1][n-2] = %.15g\n",
           C[0], C[n * n - 1], C[n + n - 2]);
    printf("trace = %.15g\n", trace);
    free(A);
    free(B);
    free(C);
    return 0;
}
