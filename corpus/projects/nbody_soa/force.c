/* All-pairs gravity and a leapfrog step on the structure of arrays. */
#include <math.h>
#include "bodies.h"

void compute_accel(struct bodies *b, double soft)
{
    int i, j;
    double dx, dy, dz, r2, inv, axi, ayi, azi;

    for (i = 0; i < b->n; i++) {
        axi = 0.0;
        ayi = 0.0;
        azi = 0.0;
        for (j = 0; j < b->n; j++) {
            dx = b->x[j] - b->x[i];
            dy = b->y[j] - b->y[i];
            dz = b->z[j] - b->z[i];
            r2 = dx * dx + dy * dy + dz * dz + soft;
            inv = b->mass[j] / (r2 * sqrt(r2));
            axi += dx * inv;
            ayi += dy * inv;
            azi += dz * inv;
        }
        b->ax[i] = axi;
        b->ay[i] = ayi;
        b->az[i] = azi;
    }
}

void kick_drift(struct bodies *b, double dt)
{
    int i;

    for (i = 0; i < b->n; i++) {
        b->vx[i] += dt * b->ax[i];
        b->vy[i] += dt * b->ay[i];
        b->vz[i] += dt * b->az[i];
        b->x[i] += dt * b->vx[i];
        b->y[i] += dt * b->vy[i];
        b->z[i] += dt * b->vz[i];
    }
}

double kinetic_energy(const struct bodies *b)
{
    int i;
    double e;

    e = 0.0;
    for (i = 0; i < b->n; i++)
        e += 0.5 * b->mass[i] * (b->vx[i] * b->vx[i] + b->vy[i] * b->vy[i] + b->vz[i] * b->vz[i]);
    return e;
}

void simulate(struct bodies *b, int steps, double dt)
{
    int s;

    for (s = 0; s < steps; s++) {
        compute_accel(b, 1e-3);
        kick_drift(b, dt);
    }
}
