#ifndef BODIES_H
#define BODIES_H

#ifndef NBODIES
#define NBODIES 1200
#endif
#ifndef NSTEPS
#define NSTEPS 12
#endif

/* structure of arrays: one array per coordinate */
struct bodies {
    int n;
    double *x, *y, *z;
    double *vx, *vy, *vz;
    double *ax, *ay, *az;
    double *mass;
};

struct bodies *bodies_new(int n);
void bodies_free(struct bodies *b);
void compute_accel(struct bodies *b, double soft);
void kick_drift(struct bodies *b, double dt);
double kinetic_energy(const struct bodies *b);
void simulate(struct bodies *b, int steps, double dt);

#endif
