/* Initialise, scale and offset a global array in separate single-array
 * kernels; the scale/offset pair is repeated. */
#include <stdio.h>
#include <stdlib.h>

#define N 150000

static double data[N];

static void init(double *a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = (double)(i % 1000) / 1000.0;
}

static void scale(double *a, int n, double s)
{
    for (int i = 0; i < n; i++)
        a[i] *= s;
}

static void offset(double *a, int n, double d)
{
    for (int i = 0; i < n; i++)
        a[i] = a[i] + d;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 1;
    if (reps < 1)
        reps = 1;

    init(data, N);
    for (int r = 0; r < 3 * reps; r++) {
        scale(data, N, 0.5);
        offset(data, N, 0.25);
    }

    double sum = 0.0;
    for (int i = 0; i < N; i++)
        sum += data[i];

    printf("data[0] = %.15g  data[999] = %.15g\n", data[0], data[999]);
    printf("sum = %.15e\n", sum);
    return 0;
}
