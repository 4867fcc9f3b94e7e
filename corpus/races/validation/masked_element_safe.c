#include <stdio.h>

#define N 3000

static int bounds[2];
static int out[N];

int main(void)
{
#pragma omp parallel
    {
#pragma omp masked
        {
            bounds[0] = 7;
            bounds[1] = 11;
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++)
            out[i] = (i * bounds[1]) % 97 + bounds[0];
    }
    long s = 0;
    for (int i = 0; i < N; i++)
        s += out[i];
    printf("checksum %ld\n", s);
    return 0;
}
