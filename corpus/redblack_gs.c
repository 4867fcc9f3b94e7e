/* Red-black Gauss-Seidel on a 2-D Poisson problem: each half-sweep updates
 * the points of one colour (i + j of one parity) from the other colour, so
 * its inner loop starts at a column that depends on the row's parity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 300

static double u[N][N];
static double f[N][N];

static void half_sweep(int color, double h2)
{
    for (int i = 1; i < N - 1; i++)
        for (int j = 1 + (i + color) % 2; j < N - 1; j += 2)
            u[i][j] = 0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1] + h2 * f[i][j]);
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int sweeps = 20 * scale;
    double h2 = 1.0 / ((N - 1.0) * (N - 1.0));

    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            f[i][j] = sin(3.0 * i / N) * cos(2.0 * j / N);
            u[i][j] = 0.0;
        }
    for (int s = 0; s < sweeps; s++) {
        half_sweep(0, h2);
        half_sweep(1, h2);
    }

    double diag = 0.0;
    for (int i = 0; i < N; i++)
        diag += u[i][i];

    printf("u[N/2][N/2] = %.15g  u[1][2] = %.15g\n", u[N / 2][N / 2], u[1][2]);
    printf("diag = %.15e\n", diag);
    return 0;
}
