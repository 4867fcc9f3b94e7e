#include <stdio.h>

static long leaves;

static long fib(int n)
{
    if (n < 2) {
#pragma omp atomic
        leaves += 1;
        return n;
    }
    long x, y;
#pragma omp task shared(x) firstprivate(n)
    x = fib(n - 1);
#pragma omp task shared(y) firstprivate(n)
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

int main(void)
{
    long r = 0;
#pragma omp parallel
#pragma omp single
    r = fib(16);
    printf("fib %ld leaves %ld\n", r, leaves);
    return 0;
}
