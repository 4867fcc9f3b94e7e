/* Grid set-up: one allocation per field, through alloc_doubles. */
#include <stdlib.h>
#include "alloc.h"
#include "grid.h"

struct grid *grid_create(int nx, int ny)
{
    struct grid *g;
    int i, j, c;

    g = (struct grid *) checked_alloc(sizeof *g);
    g->nx = nx;
    g->ny = ny;
    g->u = alloc_doubles((size_t) nx * ny);
    g->unew = alloc_doubles((size_t) nx * ny);
    g->kappa = alloc_doubles((size_t) nx * ny);

    for (i = 0; i < nx; i++)
        for (j = 0; j < ny; j++) {
            c = i * ny + j;
            g->u[c] = (i == 0 || j == 0) ? 100.0 : 20.0;
            g->unew[c] = g->u[c];
            g->kappa[c] = 0.1 + 0.05 * (double) ((i / 16 + j / 16) % 3);
        }
    return g;
}

void grid_destroy(struct grid *g)
{
    free(g->u);
    free(g->unew);
    free(g->kappa);
    free(g);
}
