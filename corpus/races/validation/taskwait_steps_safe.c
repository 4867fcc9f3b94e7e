#include <stdio.h>

#define N 4096
#define BLOCK 512
#define STEPS 8

static double cur[N], nxt[N];

static void relax_block(int lo)
{
    for (int i = lo; i < lo + BLOCK; i++) {
        double left = i > 0 ? cur[i - 1] : cur[i];
        double right = i < N - 1 ? cur[i + 1] : cur[i];
        nxt[i] = 0.25 * left + 0.5 * cur[i] + 0.25 * right;
    }
}

int main(void)
{
    for (int i = 0; i < N; i++)
        cur[i] = (double)((i * 37) % 19);
    double mass = 0.0;
#pragma omp parallel
#pragma omp single
    for (int step = 0; step < STEPS; step++) {
        for (int lo = 0; lo < N; lo += BLOCK) {
#pragma omp task firstprivate(lo)
            relax_block(lo);
        }
        for (int i = 0; i < N; i++)
            mass += cur[i] * (double)(i % 8);
#pragma omp taskwait
        for (int i = 0; i < N; i++)
            cur[i] = nxt[i];
    }
    double s = 0.0;
    for (int i = 0; i < N; i++)
        s += cur[i] * (double)(i + 1);
    printf("weighted %.12f mass %.12f\n", s, mass);
    return 0;
}
