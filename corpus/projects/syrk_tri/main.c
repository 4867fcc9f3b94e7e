/* Symmetric rank-k and rank-2k updates on matrices of the sizes in
 * config.h (override with -DN=... -DM=...). */
#include <stdio.h>
#include <stdlib.h>
#include "config.h"
#include "util.h"
#include "symm.h"

static void init(double (*A)[M], double (*B)[M], double (*C)[N])
{
    int i, j;

    for (i = 0; i < N; i++)
        for (j = 0; j < M; j++) {
            A[i][j] = (double) ((i * j + 1) % N) / N;
            B[i][j] = (double) ((i * j + 2) % M) / M;
        }
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++)
            C[i][j] = (double) ((i * j + 3) % N) / M;
}

int main(int argc, char **argv)
{
    double (*A)[M], (*B)[M], (*C)[N];
    double trace, off;
    int scale, rep, i;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;

    A = util_malloc(N, sizeof *A);
    B = util_malloc(N, sizeof *B);
    C = util_malloc(N, sizeof *C);
    init(A, B, C);

    for (rep = 0; rep < scale; rep++) {
        syrk(1.5, 1.2, C, A);
        syr2k(0.5, 0.75, C, A, B);
    }
    mirror_lower(C);

    trace = 0.0;
    off = 0.0;
    for (i = 0; i < N; i++) {
        trace += C[i][i];
        off += C[i][(i + 7) % N];
    }
    printf("trace = %.13e\n", trace);
    printf("off-diagonal probe = %.13e  C[0][N-1] = %.13e\n", off, C[0][N - 1]);

    util_free(A);
    util_free(B);
    util_free(C);
    return 0;
}
