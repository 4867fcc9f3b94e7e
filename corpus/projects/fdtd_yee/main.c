/* FDTD driver: fields allocated through the project's allocator, a
 * serial time loop around the field updates. */
#include <stdio.h>
#include <stdlib.h>
#include "memory.h"
#include "fdtd.h"

int main(int argc, char **argv)
{
    double (*ex)[NY], (*ey)[NY], (*hz)[NY];
    double *src;
    int scale, rounds, r, t;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    rounds = scale;

    ex = (double (*)[NY]) mem_field(NX, NY);
    ey = (double (*)[NY]) mem_field(NX, NY);
    hz = (double (*)[NY]) mem_field(NX, NY);
    src = (double *) mem_checked(TMAX * sizeof(double));

    fdtd_init(ex, ey, hz, src);
    for (r = 0; r < rounds; r++)
        for (t = 0; t < TMAX; t++)
            fdtd_step(t, ex, ey, hz, src);

    printf("energy = %.13e\n", field_energy(ex, ey, hz));
    printf("hz[NX/2][NY/2] = %.13e  ex[1][1] = %.13e\n", hz[NX / 2][NY / 2], ex[1][1]);
    free(ex);
    free(ey);
    free(hz);
    free(src);
    return 0;
}
