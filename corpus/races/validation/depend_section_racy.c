#include <stdio.h>

#define N 512

static double buf[2 * N];

static void produce(double *p, int n, double base)
{
    for (int i = 0; i < n; i++)
        p[i] = base + (double)i * 0.25;
}

static double consume(const double *p, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}

int main(void)
{
    double total = 0.0;
#pragma omp parallel
#pragma omp single
    {
#pragma omp task depend(out: buf[0:N])
        produce(buf, N, 1.0);
#pragma omp task depend(in: buf[N:N]) shared(total)
        total = consume(buf, N);
#pragma omp taskwait
    }
    printf("total %.12f\n", total);
    return 0;
}
