/* Arrays reached through structure members: run-time alias checks. */
// expect 32: parallel-if-disjoint
// condition 32: ompilot_disjoint(p->out, (size_t)(n) * sizeof *p->out, p->in, (size_t)(n) * sizeof *p->in) && ompilot_disjoint(p->out, (size_t)(n) * sizeof *p->out, p, sizeof *p)
// expect 38: parallel-if-disjoint
// condition 38: ompilot_disjoint(b->ax, (size_t)(b->n) * sizeof *b->ax, b->x, (size_t)(b->n) * sizeof *b->x) && ompilot_disjoint(b->ax, (size_t)(b->n) * sizeof *b->ax, b, sizeof *b)
// expect 47: parallel-if-disjoint
// condition 47: ompilot_disjoint(x.data, (size_t)(n) * sizeof *x.data, y.data, (size_t)(n) * sizeof *y.data) && ompilot_disjoint(x.data, (size_t)(n) * sizeof *x.data, &x, sizeof x) && ompilot_disjoint(x.data, (size_t)(n) * sizeof *x.data, &y, sizeof y) && ompilot_disjoint(y.data, (size_t)(n) * sizeof *y.data, &x, sizeof x) && ompilot_disjoint(y.data, (size_t)(n) * sizeof *y.data, &y, sizeof y)
// expect 55: parallel-if-disjoint
// condition 55: ompilot_disjoint(g->f.u, (size_t)(g->f.nx) * sizeof *g->f.u, g->f.v, (size_t)(g->f.nx - 1) * sizeof *g->f.v) && ompilot_disjoint(g->f.u, (size_t)(g->f.nx) * sizeof *g->f.u, g, sizeof *g)
// expect 61: parallel-if-disjoint
// condition 61: ompilot_disjoint(y, (size_t)(b->n) * sizeof *y, b->x, (size_t)(b->n) * sizeof *b->x) && ompilot_disjoint(y, (size_t)(b->n) * sizeof *y, b, sizeof *b)
// expect 67: parallel-if-disjoint
// condition 67: ompilot_disjoint(y, (size_t)(b->n) * sizeof *y, b->x, (size_t)(b->n) * sizeof *b->x)
// expect 73: parallel-if-disjoint
// condition 73: ompilot_disjoint(b->ax, (size_t)(b->n) * sizeof *b->ax, b->w, (size_t)(b->k) * sizeof *b->w) && ompilot_disjoint(b->ax, (size_t)(b->n) * sizeof *b->ax, b, sizeof *b)
// expect 75: parallel
// expect 83: parallel
// expect 89: parallel-if-disjoint
// condition 89: ompilot_disjoint(out.data, (size_t)(in.len) * sizeof *out.data, in.data, (size_t)(in.len) * sizeof *in.data) && ompilot_disjoint(out.data, (size_t)(in.len) * sizeof *out.data, &in, sizeof in) && ompilot_disjoint(out.data, (size_t)(in.len) * sizeof *out.data, &out, sizeof out)
/* A structure of arrays passed by pointer, arrays held in local structures,
 * a structure embedded by value, structures passed by value. */
#include <stddef.h>

struct pair { double *in, *out; };
struct bodies { int n; int k; double *x, *ax, *w; };
typedef struct { size_t len; double *data; } vec;
struct field { int nx; double *u, *v; };
struct grid { struct field f; double dt; };

void pair_copy(int n, struct pair *p)
{
    for (int i = 0; i < n; i++)
        p->out[i] = p->in[i];
}

void accel(struct bodies *b)
{
    for (int i = 0; i < b->n; i++)
        b->ax[i] = 2.0 * b->x[i];
}

void two_vectors(int n, double *a, double *b)
{
    vec x, y;
    x.data = a;
    y.data = b;
    for (int i = 0; i < n; i++) {
        x.data[i] = 1.0;
        y.data[i] = 2.0;
    }
}

void embedded(struct grid *g)
{
    for (int i = 1; i < g->f.nx; i++)
        g->f.u[i] = g->f.v[i - 1] * g->dt;
}

void to_plain(struct bodies *b, double *y)
{
    for (int i = 0; i < b->n; i++)
        y[i] = b->x[i];
}

void to_restrict(struct bodies *b, double *restrict y)
{
    for (int i = 0; i < b->n; i++)
        y[i] = b->x[i];
}

void inner_sum(struct bodies *b)
{
    for (int i = 0; i < b->n; i++) {
        double t = 0.0;
        for (int j = 0; j < b->k; j++)
            t += b->w[j] * j;
        b->ax[i] = t;
    }
}

void by_value(vec v, double a)
{
    for (size_t i = 0; i < v.len; i++)
        v.data[i] = a * v.data[i];
}

void scaled_by_value(vec out, vec in)
{
    for (size_t i = 0; i < in.len; i++)
        out.data[i] = in.data[i] + 1.0;
}
