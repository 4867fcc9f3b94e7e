/* A small 2-D N-body simulation: all-pairs forces (outer loop parallel,
 * inner loop a reduction), leapfrog update and total energy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NB 384
#define SOFT 0.01

static double px[NB], py[NB], vx[NB], vy[NB], ax[NB], ay[NB];

static void forces(void)
{
    for (int i = 0; i < NB; i++) {
        double fx = 0.0, fy = 0.0;
        for (int j = 0; j < NB; j++) {
            if (j == i)
                continue;
            double dx = px[j] - px[i];
            double dy = py[j] - py[i];
            double r2 = dx * dx + dy * dy + SOFT;
            double inv = 1.0 / (r2 * sqrt(r2));
            fx += dx * inv;
            fy += dy * inv;
        }
        ax[i] = fx;
        ay[i] = fy;
    }
}

static void update(double dt)
{
    for (int i = 0; i < NB; i++) {
        vx[i] += dt * ax[i];
        vy[i] += dt * ay[i];
        px[i] += dt * vx[i];
        py[i] += dt * vy[i];
    }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;

    for (int i = 0; i < NB; i++) {
        double r = 1.0 + 0.01 * i;
        double th = 0.1 * i;
        px[i] = r * cos(th);
        py[i] = r * sin(th);
        vx[i] = -0.1 * py[i];
        vy[i] = 0.1 * px[i];
    }

    for (int t = 0; t < 3 * scale; t++) {
        forces();
        update(1e-4);
    }

    double kin = 0.0;
    for (int i = 0; i < NB; i++)
        kin += 0.5 * (vx[i] * vx[i] + vy[i] * vy[i]);

    printf("p[0] = (%.12e, %.12e)\n", px[0], py[0]);
    printf("kinetic energy = %.12e\n", kin);
    return 0;
}
