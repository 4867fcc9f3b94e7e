#include <stdio.h>

#define N 6000

static int hits, misses;

static int probe(int key)
{
    return (key * 2654435761u) % 7 < 3;
}

int main(void)
{
#pragma omp parallel
    {
#pragma omp for schedule(static, 8)
        for (int k = 0; k < N; k++) {
            if (probe(k)) {
#pragma omp atomic
                hits++;
            } else {
#pragma omp atomic
                misses++;
            }
        }
    }
    printf("hits %d misses %d\n", hits, misses);
    return 0;
}
