/* Nearest point to a probe: the best distance is updated inside a critical
 * section, but tested outside it first, racing with the update. */
#include <stdio.h>

#define POINTS 2000

static double px[POINTS], py[POINTS];

static double dist2(int k, double x, double y)
{
    double dx = px[k] - x, dy = py[k] - y;
    return dx * dx + dy * dy;
}

int main(void)
{
    double best = 1e30;
    int best_k = -1;
    int k;

    for (k = 0; k < POINTS; k++) {
        px[k] = (double)((k * 7919) % 1000) / 10.0;
        py[k] = (double)((k * 104729) % 997) / 10.0;
    }
#pragma omp parallel for
    for (k = 0; k < POINTS; k++) {
        double d = dist2(k, 42.0, 17.0);
        if (d < best) {
#pragma omp critical(nearest)
            {
                if (d < best || (d == best && k < best_k)) {
                    best = d;
                    best_k = k;
                }
            }
        }
    }
    printf("nearest %d at %.4f\n", best_k, best);
    return 0;
}
