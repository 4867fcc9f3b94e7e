/* Compare lexicographic Gauss-Seidel with red-black sweeps on the same
 * Poisson problem. */
#include <stdio.h>
#include <stdlib.h>
#include "solver_alloc.h"
#include "poisson.h"

int main(int argc, char **argv)
{
    double (*f)[N], (*u)[N], (*v)[N];
    double h2;
    int scale, sweeps, s;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    sweeps = 120 * scale;
    h2 = 1.0 / ((double) (N - 1) * (N - 1));

    f = (double (*)[N]) solver_alloc(sizeof(double) * N * N);
    u = (double (*)[N]) solver_alloc_zero(sizeof(double) * N * N);
    v = (double (*)[N]) solver_alloc_zero(sizeof(double) * N * N);
    setup_rhs(f, u);
    setup_rhs(f, v);

    for (s = 0; s < sweeps; s++) {
        gauss_seidel(u, f, h2);
        red_black(v, f, h2, 0);
        red_black(v, f, h2, 1);
    }
    printf("gauss-seidel residual %.13e  u[N/2][N/2] %.13e\n", residual_norm(u, f, h2), u[N / 2][N / 2]);
    printf("red-black    residual %.13e  v[N/2][N/2] %.13e\n", residual_norm(v, f, h2), v[N / 2][N / 2]);
    free(f);
    free(u);
    free(v);
    return 0;
}
