/* Search a key in an offloaded loop: the found flag has no map clause (a
 * scalar is firstprivate in a target region), so the threads of the region
 * write one copy together, and the host never sees the result. */
#include <stdio.h>

#define N 5000

static int contains(const int *keys, int n, int key)
{
    int found = 0;
    int i;

#pragma omp target teams distribute parallel for map(to: keys[0:n])
    for (i = 0; i < n; i++)
        if (keys[i] % 1000 == key)
            found = 1;
    return found;
}

int main(void)
{
    static int keys[N];
    int i;

    for (i = 0; i < N; i++)
        keys[i] = i * 7;
    printf("has 21: %d, has 3: %d\n", contains(keys, N, 21), contains(keys, N, 3));
    return 0;
}
