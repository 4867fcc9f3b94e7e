/* BLAS-1 pipeline.  Most calls use distinct vectors, but two are the
 * classic in-place tricks: daxpy(n-1, a, y, y+1) turns y into a running
 * recurrence, and dcopy(n-1, z+1, z) shifts z left by one element. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "vecmem.h"
#include "blas1.h"

#ifndef VLEN
#define VLEN 1200000
#endif

int main(int argc, char **argv)
{
    vector_t x, y, z;
    double dxy, ny, nz;
    int scale, n, i, rep;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = VLEN * scale;
    x = vm_vector(n);
    y = vm_vector(n);
    z = vm_vector(n);

    for (i = 0; i < n; i++) {
        x.data[i] = 1.0 / (1.0 + (double) (i % 1000));
        y.data[i] = (double) (i % 7) - 3.0;
    }

    for (rep = 0; rep < 12; rep++) {
        daxpy(n, 0.5, x.data, y.data);
        dscal(n, 0.9, y.data);
    }
    dcopy(n, y.data, z.data);

    /* overlapping calls: each y[i+1] picks up the new y[i] */
    daxpy(n - 1, 0.5, y.data, y.data + 1);
    /* z[i] = z[i+1]: a left shift in place */
    dcopy(n - 1, z.data + 1, z.data);

    dxy = ddot(n, x.data, y.data);
    ny = sqrt(dnrm2sq(n, y.data));
    nz = sqrt(dnrm2sq(n, z.data));
    printf("x.y = %.13e\n", dxy);
    printf("|y| = %.13e  |z| = %.13e\n", ny, nz);
    printf("y[1] = %.13e  y[n-1] = %.13e  z[0] = %.13e\n", y.data[1], y.data[n - 1], z.data[0]);

    vm_free(&x);
    vm_free(&y);
    vm_free(&z);
    return 0;
}
