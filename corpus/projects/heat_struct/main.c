/* Heat diffusion on a struct-of-arrays grid: fixed hot edges, time steps
 * in heat_run, then a few global measures. */
#include <stdio.h>
#include <stdlib.h>
#include "grid.h"

int main(int argc, char **argv)
{
    struct grid *g;
    int scale;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;

    g = grid_create(NX, NY);
    heat_run(g, 400 * scale, 0.2);

    printf("total heat = %.13e\n", heat_total(g));
    printf("last change = %.13e  u[20][20] = %.13e\n", heat_change(g),
           g->u[20 * NY + 20]);
    grid_destroy(g);
    return 0;
}
