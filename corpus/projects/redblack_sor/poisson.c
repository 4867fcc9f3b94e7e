/* Smoothers for the 2-D Poisson equation -lap(u) = f with u = 0 on the
 * boundary: lexicographic Gauss-Seidel (in place) and the red-black
 * ordering, whose half-sweeps update one colour from the other. */
#include <math.h>
#include "poisson.h"

void setup_rhs(double (*f)[N], double (*u)[N])
{
    int i, j;

    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++) {
            f[i][j] = sin(3.0 * i / N) * cos(2.0 * j / N);
            u[i][j] = 0.0;
        }
}

void gauss_seidel(double (*restrict u)[N], double (*restrict f)[N], double h2)
{
    int i, j;

    for (i = 1; i < N - 1; i++)
        for (j = 1; j < N - 1; j++)
            u[i][j] = 0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1] + h2 * f[i][j]);
}

void red_black(double (*restrict u)[N], double (*restrict f)[N], double h2, int color)
{
    int i, j;

    for (i = 1; i < N - 1; i++)
        for (j = 1 + (i + color) % 2; j < N - 1; j += 2)
            u[i][j] = 0.25 * (u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1] + h2 * f[i][j]);
}

double residual_norm(double (*u)[N], double (*f)[N], double h2)
{
    int i, j;
    double r, s;

    s = 0.0;
    for (i = 1; i < N - 1; i++)
        for (j = 1; j < N - 1; j++) {
            r = h2 * f[i][j] + u[i - 1][j] + u[i + 1][j] + u[i][j - 1] + u[i][j + 1] - 4.0 * u[i][j];
            s += r * r;
        }
    return sqrt(s);
}
