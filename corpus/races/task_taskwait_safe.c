/* Sum four blocks of a vector in tasks; the partial sums are combined
 * after a taskwait. */
#include <stdio.h>

#define N 4000
#define BLOCKS 4

static double block_sum(const double *v, int n)
{
    double s = 0.0;
    int k;
    for (k = 0; k < n; k++)
        s += v[k] * v[k];
    return s;
}

int main(void)
{
    static double v[N];
    double part[BLOCKS] = {0.0, 0.0, 0.0, 0.0};
    double total = 0.0;
    int b, i;

    for (i = 0; i < N; i++)
        v[i] = (double)(i % 17) * 0.5;
#pragma omp parallel
#pragma omp single
    {
        for (b = 0; b < BLOCKS; b++) {
#pragma omp task firstprivate(b) shared(part, v)
            part[b] = block_sum(v + b * (N / BLOCKS), N / BLOCKS);
        }
#pragma omp taskwait
        total = part[0] + part[1] + part[2] + part[3];
    }
    printf("total %.3f\n", total);
    return 0;
}
