/* Allocation and initial positions of the bodies. */
#include <math.h>
#include "sysalloc.h"
#include "bodies.h"

struct bodies *bodies_new(int n)
{
    struct bodies *b;
    int i;
    double t;

    b = (struct bodies *) sys_alloc(sizeof(struct bodies));
    b->n = n;
    b->x = sys_alloc_doubles(n);
    b->y = sys_alloc_doubles(n);
    b->z = sys_alloc_doubles(n);
    b->vx = sys_alloc_doubles(n);
    b->vy = sys_alloc_doubles(n);
    b->vz = sys_alloc_doubles(n);
    b->ax = sys_alloc_doubles(n);
    b->ay = sys_alloc_doubles(n);
    b->az = sys_alloc_doubles(n);
    b->mass = sys_alloc_doubles(n);

    for (i = 0; i < n; i++) {
        t = 0.37 * i;
        b->x[i] = cos(t) * (1.0 + 0.01 * i);
        b->y[i] = sin(t) * (1.0 + 0.01 * i);
        b->z[i] = 0.1 * sin(3.0 * t);
        b->vx[i] = -0.2 * sin(t);
        b->vy[i] = 0.2 * cos(t);
        b->vz[i] = 0.0;
        b->mass[i] = 1.0 / n * (1.0 + (i % 4));
    }
    return b;
}

void bodies_free(struct bodies *b)
{
    sys_free(b->x);
    sys_free(b->y);
    sys_free(b->z);
    sys_free(b->vx);
    sys_free(b->vy);
    sys_free(b->vz);
    sys_free(b->ax);
    sys_free(b->ay);
    sys_free(b->az);
    sys_free(b->mass);
    sys_free(b);
}
