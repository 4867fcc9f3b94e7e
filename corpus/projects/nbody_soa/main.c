/* Small gravitational n-body run on a structure of arrays. */
#include <stdio.h>
#include <stdlib.h>
#include "bodies.h"

int main(int argc, char **argv)
{
    struct bodies *b;
    int scale;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;

    b = bodies_new(NBODIES);
    simulate(b, NSTEPS * scale, 0.01);
    printf("kinetic energy = %.13e\n", kinetic_energy(b));
    printf("x[0] = %.13e  z[n-1] = %.13e\n", b->x[0], b->z[b->n - 1]);
    bodies_free(b);
    return 0;
}
