/* 2-D five-point Jacobi iteration on global grids; the sweep kernel takes
 * its grids as array parameters and the driver swaps them each step. */
#include <stdio.h>
#include <stdlib.h>

#define N 256

static double grid_a[N][N];
static double grid_b[N][N];

static void init_grid(double g[N][N], double h[N][N])
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            g[i][j] = (i == 0) ? 1.0 : ((j == 0) ? 0.5 : 0.0);
            h[i][j] = g[i][j];
        }
}

static void sweep(double dst[N][N], double src[N][N])
{
    for (int i = 1; i < N - 1; i++)
        for (int j = 1; j < N - 1; j++)
            dst[i][j] = 0.25 * (src[i - 1][j] + src[i + 1][j] + src[i][j - 1] + src[i][j + 1]);
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int steps = 10 * scale;
    double (*cur)[N] = grid_a;
    double (*nxt)[N] = grid_b;

    init_grid(cur, nxt);
    for (int t = 0; t < steps; t++) {
        sweep(nxt, cur);
        double (*tmp)[N] = cur;
        cur = nxt;
        nxt = tmp;
    }

    double diag = 0.0;
    for (int i = 0; i < N; i++)
        diag += cur[i][i];

    printf("cur[1][1] = %.15g  cur[N/2][N/2] = %.15g\n", cur[1][1], cur[N / 2][N / 2]);
    printf("diag = %.15e\n", diag);
    return 0;
}
