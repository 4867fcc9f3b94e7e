#ifndef GRID_H
#define GRID_H

#ifndef NX
#define NX 400
#endif
#ifndef NY
#define NY 400
#endif

/* A structured grid; the arrays are allocated separately. */
struct grid {
    int nx, ny;
    double *u;     /* temperature now */
    double *unew;  /* temperature after the step */
    double *kappa; /* diffusivity of each cell */
};

struct grid *grid_create(int nx, int ny);
void grid_destroy(struct grid *g);
void heat_step(struct grid *g, double dt);
void heat_run(struct grid *g, int steps, double dt);
double heat_change(const struct grid *g);
double heat_total(const struct grid *g);

#endif
