/* 1-D wave equation with three rotating time levels and a restrict
 * kernel; the energy is summed at the end. */
#include <stdio.h>
#include <stdlib.h>

#define NX 100000

static void step(int n, const double *restrict prev, const double *restrict cur,
                 double *restrict next, double c2)
{
    for (int i = 1; i < n - 1; i++)
        next[i] = 2.0 * cur[i] - prev[i] + c2 * (cur[i - 1] - 2.0 * cur[i] + cur[i + 1]);
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    double *a = calloc(NX, sizeof *a);
    double *b = calloc(NX, sizeof *b);
    double *c = calloc(NX, sizeof *c);
    if (!a || !b || !c)
        return 1;

    for (int i = 1; i < NX - 1; i++) {
        double d = (i - NX / 2) / 500.0;
        a[i] = 1.0 / (1.0 + d * d);
        b[i] = a[i];
    }

    double *prev = a, *cur = b, *next = c;
    for (int t = 0; t < 10 * scale; t++) {
        step(NX, prev, cur, next, 0.25);
        double *tmp = prev;
        prev = cur;
        cur = next;
        next = tmp;
    }

    double energy = 0.0;
    for (int i = 1; i < NX - 1; i++) {
        double du = cur[i] - prev[i];
        energy += du * du + 0.25 * (cur[i + 1] - cur[i]) * (cur[i + 1] - cur[i]);
    }

    printf("cur[NX/2] = %.15g  cur[NX/2+700] = %.15g\n", cur[NX / 2], cur[NX / 2 + 700]);
    printf("energy = %.15e\n", energy);
    free(a);
    free(b);
    free(c);
    return 0;
}
