/* Search a key in an offloaded loop: the found flag is mapped to and from
 * the device and written with an atomic write. */
#include <stdio.h>

#define N 5000

static int contains(const int *keys, int n, int key)
{
    int found = 0;
    int i;

#pragma omp target teams distribute parallel for map(to: keys[0:n]) map(tofrom: found)
    for (i = 0; i < n; i++)
        if (keys[i] % 1000 == key) {
#pragma omp atomic write
            found = 1;
        }
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
