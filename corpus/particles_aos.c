/* Particles as an array of structs: update positions, kinetic energy and
 * centre of mass. */
#include <stdio.h>
#include <stdlib.h>

struct particle {
    double x, y;
    double vx, vy;
    double mass;
};

static void push(struct particle *p, int n, double dt)
{
    for (int i = 0; i < n; i++) {
        p[i].x += dt * p[i].vx;
        p[i].y += dt * p[i].vy;
        p[i].vy -= 9.81 * dt;
    }
}

static double kinetic(const struct particle *p, int n)
{
    double e = 0.0;
    for (int i = 0; i < n; i++)
        e += 0.5 * p[i].mass * (p[i].vx * p[i].vx + p[i].vy * p[i].vy);
    return e;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 50000 * scale;
    struct particle *p = malloc((size_t)n * sizeof *p);
    if (!p)
        return 1;

    for (int i = 0; i < n; i++) {
        p[i].x = (double)(i % 100);
        p[i].y = (double)(i / 100);
        p[i].vx = 0.5 - (double)(i % 7) / 7.0;
        p[i].vy = 1.0 + (double)(i % 11) / 11.0;
        p[i].mass = 1.0 + (i % 3);
    }

    for (int t = 0; t < 20; t++)
        push(p, n, 0.01);

    double mx = 0.0, mtot = 0.0;
    for (int i = 0; i < n; i++) {
        mx += p[i].mass * p[i].x;
        mtot += p[i].mass;
    }

    printf("p[7] = (%.15g, %.15g)\n", p[7].x, p[7].y);
    printf("kinetic = %.15e  centre x = %.15e\n", kinetic(p, n), mx / mtot);
    free(p);
    return 0;
}
