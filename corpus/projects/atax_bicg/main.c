/* Power-iteration style driver: repeated atax/bicg products, each step
 * normalising the vector the next one starts from. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "sizes.h"
#include "mem.h"
#include "linalg.h"

int main(int argc, char **argv)
{
    double (*A)[NY];
    double *x, *tmp, *y, *r, *s, *q;
    double norm, qsum;
    int scale, reps, it, i, j;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    reps = 12 * scale;

    A = (double (*)[NY]) mem_alloc(sizeof(double) * NX * NY, "A");
    x = (double *) mem_alloc(sizeof(double) * NY, "x");
    y = (double *) mem_zeroed(NY, sizeof(double), "y");
    tmp = (double *) mem_zeroed(NX, sizeof(double), "tmp");
    r = (double *) mem_alloc(sizeof(double) * NX, "r");
    s = (double *) mem_zeroed(NY, sizeof(double), "s");
    q = (double *) mem_zeroed(NX, sizeof(double), "q");

    fill_matrix(A);
    for (j = 0; j < NY; j++)
        x[j] = 1.0 + (double) (j % 5) / 10.0;
    for (i = 0; i < NX; i++)
        r[i] = (double) (i % 11) / 11.0;

    norm = 0.0;
    for (it = 0; it < reps; it++) {
        atax(A, x, tmp, y);
        norm = 0.0;
        for (j = 0; j < NY; j++)
            norm += y[j] * y[j];
        norm = sqrt(norm);
        for (j = 0; j < NY; j++)
            x[j] = y[j] / norm;
        bicg(A, r, x, s, q);
    }

    qsum = 0.0;
    for (i = 0; i < NX; i++)
        qsum += fabs(q[i]);

    printf("norm = %.13e\n", norm);
    printf("x[0] = %.13e  s[1] = %.13e  sum|q| = %.13e\n", x[0], s[1], qsum);

    mem_release(A);
    mem_release(x);
    mem_release(y);
    mem_release(tmp);
    mem_release(r);
    mem_release(s);
    mem_release(q);
    return 0;
}
