/* Particles as a struct of arrays (pointer members): advance, gravity and
 * a bounce off the floor, then the highest particle. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct particles {
    int n;
    double *x, *y, *vx, *vy;
};

static void advance(struct particles *s, double dt)
{
    int n = s->n;
    for (int i = 0; i < n; i++) {
        s->x[i] += dt * s->vx[i];
        s->y[i] += dt * s->vy[i];
    }
}

static void gravity(struct particles *s, double dt)
{
    for (int i = 0; i < s->n; i++)
        s->vy[i] -= 9.81 * dt;
}

static void bounce(struct particles *s)
{
    int n = s->n;
    for (int i = 0; i < n; i++)
        if (s->y[i] < 0.0) {
            s->y[i] = -s->y[i];
            s->vy[i] = -0.9 * s->vy[i];
        }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    struct particles s;
    s.n = 40000 * scale;
    s.x = malloc((size_t)s.n * sizeof *s.x);
    s.y = malloc((size_t)s.n * sizeof *s.y);
    s.vx = malloc((size_t)s.n * sizeof *s.vx);
    s.vy = malloc((size_t)s.n * sizeof *s.vy);
    if (!s.x || !s.y || !s.vx || !s.vy)
        return 1;

    for (int i = 0; i < s.n; i++) {
        s.x[i] = 0.0;
        s.y[i] = 0.5 + (double)(i % 10) * 0.1;
        s.vx[i] = 1.0;
        s.vy[i] = (double)(i % 13) - 6.0;
    }

    for (int t = 0; t < 25; t++) {
        gravity(&s, 0.02);
        advance(&s, 0.02);
        bounce(&s);
    }

    double top = -INFINITY;
    for (int i = 0; i < s.n; i++)
        top = fmax(top, s.y[i]);

    printf("x[0] = %.15g  y[0] = %.15g  y[12] = %.15g\n", s.x[0], s.y[0], s.y[12]);
    printf("highest = %.15g\n", top);
    free(s.x);
    free(s.y);
    free(s.vx);
    free(s.vy);
    return 0;
}
