#include <stdio.h>

#define N 1000

static int img[N];

static void fill(int lo, int hi, int value)
{
    for (int i = lo; i < hi; i++)
        img[i] = value + i % 5;
}

int main(void)
{
    int half = N / 2;
#pragma omp parallel sections
    {
#pragma omp section
        fill(0, half, 100);
#pragma omp section
        fill(half, N, 200);
    }
    long s = 0;
    for (int i = 0; i < N; i++)
        s += img[i];
    printf("checksum %ld\n", s);
    return 0;
}
