/* Two-dimensional finite-difference time-domain update (TE mode) on a
 * Yee grid of NX x NY cells. */
#include <math.h>
#include "fdtd.h"

void fdtd_init(double (*ex)[NY], double (*ey)[NY], double (*hz)[NY], double *src)
{
    int i, j, t;

    for (i = 0; i < NX; i++)
        for (j = 0; j < NY; j++) {
            ex[i][j] = ((double) i * (j + 1)) / NX;
            ey[i][j] = ((double) i * (j + 2)) / NY;
            hz[i][j] = ((double) i * (j + 3)) / NX;
        }
    for (t = 0; t < TMAX; t++)
        src[t] = sin(0.3 * t);
}

void fdtd_step(int t, double (*ex)[NY], double (*ey)[NY], double (*hz)[NY], const double *src)
{
    int i, j;

    for (j = 0; j < NY; j++)
        ey[0][j] = src[t];
    for (i = 1; i < NX; i++)
        for (j = 0; j < NY; j++)
            ey[i][j] = ey[i][j] - 0.5 * (hz[i][j] - hz[i - 1][j]);
    for (i = 0; i < NX; i++)
        for (j = 1; j < NY; j++)
            ex[i][j] = ex[i][j] - 0.5 * (hz[i][j] - hz[i][j - 1]);
    for (i = 0; i < NX - 1; i++)
        for (j = 0; j < NY - 1; j++)
            hz[i][j] = hz[i][j] - 0.7 * (ex[i][j + 1] - ex[i][j] + ey[i + 1][j] - ey[i][j]);
}

double field_energy(double (*ex)[NY], double (*ey)[NY], double (*hz)[NY])
{
    int i, j;
    double e;

    e = 0.0;
    for (i = 0; i < NX; i++)
        for (j = 0; j < NY; j++)
            e += ex[i][j] * ex[i][j] + ey[i][j] * ey[i][j] + hz[i][j] * hz[i][j];
    return e;
}
