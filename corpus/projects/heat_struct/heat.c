/* Explicit heat equation on a struct grid. */
#include "grid.h"

void heat_step(struct grid *g, double dt)
{
    int i, j, c;
    double lap;

    for (i = 1; i < g->nx - 1; i++)
        for (j = 1; j < g->ny - 1; j++) {
            c = i * g->ny + j;
            lap = g->u[c - g->ny] + g->u[c + g->ny] + g->u[c - 1] + g->u[c + 1] - 4.0 * g->u[c];
            g->unew[c] = g->u[c] + dt * g->kappa[c] * lap;
        }
}

void heat_run(struct grid *g, int steps, double dt)
{
    int t;
    double *swap;

    for (t = 0; t < steps; t++) {
        heat_step(g, dt);
        swap = g->u;
        g->u = g->unew;
        g->unew = swap;
    }
}

/* sum of squared differences between the last two steps */
double heat_change(const struct grid *g)
{
    int i, j, c;
    double d, r;

    r = 0.0;
    for (i = 0; i < g->nx; i++)
        for (j = 0; j < g->ny; j++) {
            c = i * g->ny + j;
            d = g->u[c] - g->unew[c];
            r += d * d;
        }
    return r;
}

double heat_total(const struct grid *g)
{
    int c, n;
    double s;

    n = g->nx * g->ny;
    s = 0.0;
    for (c = 0; c < n; c++)
        s += g->u[c];
    return s;
}
