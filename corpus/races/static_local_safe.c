/* A helper keeps a call count in a static local variable; it is called from
 * a parallel loop and updates the counter atomically. */
#include <stdio.h>

static long calls_counted(int bump)
{
    static long calls = 0;

    if (bump) {
#pragma omp atomic
        calls++;
        return 0;
    }
    return calls;
}

static double scaled(double x)
{
    calls_counted(1);
    return 1.5 * x;
}

int main(void)
{
    static double in[3000], out[3000];
    double sum = 0.0;
    int i;

    for (i = 0; i < 3000; i++)
        in[i] = (double)(i % 11);
#pragma omp parallel for
    for (i = 0; i < 3000; i++)
        out[i] = scaled(in[i]);
    for (i = 0; i < 3000; i++)
        sum += out[i];
    printf("sum %.2f calls %ld\n", sum, calls_counted(0));
    return 0;
}
