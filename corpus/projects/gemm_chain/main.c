/* A chain of three matrix products, G = (A B) (C D), the shape of the
 * "3mm" kernels of numerical suites, with buffers from the project's
 * allocator and sizes from params.h. */
#include <stdio.h>
#include <stdlib.h>
#include "params.h"
#include "alloc.h"
#include "kernels.h"

int main(int argc, char **argv)
{
    int scale, ni, nj, nk, nl, nm;
    int i, j;
    double sum, corner;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    ni = NI * scale;
    nj = NJ * scale;
    nk = NK * scale;
    nl = NL * scale;
    nm = NK;

    {
        double (*A)[nk] = (double (*)[nk]) alloc_matrix(ni, nk);
        double (*B)[nj] = (double (*)[nj]) alloc_matrix(nk, nj);
        double (*C)[nm] = (double (*)[nm]) alloc_matrix(nj, nm);
        double (*D)[nl] = (double (*)[nl]) alloc_matrix(nm, nl);
        double (*E)[nj] = (double (*)[nj]) alloc_matrix(ni, nj);
        double (*F)[nl] = (double (*)[nl]) alloc_matrix(nj, nl);
        double (*G)[nl] = (double (*)[nl]) alloc_matrix(ni, nl);

        init_matrix(ni, nk, A, 1);
        init_matrix(nk, nj, B, 2);
        init_matrix(nj, nm, C, 3);
        init_matrix(nm, nl, D, 4);
        zero_matrix(ni, nj, E);
        zero_matrix(nj, nl, F);
        zero_matrix(ni, nl, G);

        gemm(ni, nj, nk, 1.0, 0.0, E, A, B);
        gemm(nj, nl, nm, 1.0, 0.0, F, C, D);
        gemm(ni, nl, nj, 0.5, 0.0, G, E, F);

        sum = 0.0;
        for (i = 0; i < ni; i++)
            for (j = 0; j < nl; j++)
                sum += G[i][j] * (double) (1 + (i + j) % 7);
        corner = G[ni - 1][nl - 1];

        printf("sum(G * w) = %.13e\n", sum);
        printf("G[0][0] = %.13e  G[last][last] = %.13e\n", G[0][0], corner);

        free_matrix(A);
        free_matrix(B);
        free_matrix(C);
        free_matrix(D);
        free_matrix(E);
        free_matrix(F);
        free_matrix(G);
    }
    return 0;
}
