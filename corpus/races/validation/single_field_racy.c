#include <stdio.h>

#define N 2000

struct config {
    double scale;
    int steps;
};

static double data[N];

static void run(struct config *cfg, int n)
{
#pragma omp parallel shared(cfg)
    {
#pragma omp single nowait
        {
            cfg->scale = 1.0 / (double)n;
            cfg->steps = 3;
        }
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++)
            data[i] = (double)i * cfg->scale;
    }
}

int main(void)
{
    struct config cfg = {0.0, 0};
    run(&cfg, N);
    double s = 0.0;
    for (int i = 0; i < N; i++)
        s += data[i];
    printf("scale %.12f steps %d sum %.12f\n", cfg.scale, cfg.steps, s);
    return 0;
}
