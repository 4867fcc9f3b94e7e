#include <stdio.h>

#include "filter.h"

#define N 5000

static double in[N], out[N];

int main(void)
{
    for (int i = 0; i < N; i++)
        in[i] = (double)((i * 19) % 23) * 0.5;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++)
        out[i] = filter_point(in, N, i);
    double s = 0.0;
    for (int i = 0; i < N; i++)
        s += out[i] * (double)(i % 4);
    printf("filtered %.12f\n", s);
    return 0;
}
