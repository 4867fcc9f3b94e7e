/* Searches that leave the loop early (return, break, exit) and a count
 * that scans everything. */
#include <stdio.h>
#include <stdlib.h>

static int find_first(const int *a, int n, int key)
{
    for (int i = 0; i < n; i++)
        if (a[i] == key)
            return i;
    return -1;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 200000 * scale;
    int *a = malloc((size_t)n * sizeof *a);
    if (!a)
        return 1;

    for (int i = 0; i < n; i++)
        a[i] = (int)(((long)i * 7919) % 100003);

    int pos = -1;
    for (int i = 0; i < n; i++) {
        if (a[i] > 99990) {
            pos = i;
            break;
        }
    }

    for (int i = 0; i < n; i++) {
        if (a[i] < 0) {
            fprintf(stderr, "corrupt input at %d\n", i);
            exit(1);
        }
    }

    int hits = 0;
    for (int i = 0; i < n; i++)
        if (a[i] == 4242)
            hits++;

    printf("first index of 4242 = %d  hits = %d\n", find_first(a, n, 4242), hits);
    printf("first value above 99990 at %d (%d)\n", pos, pos >= 0 ? a[pos] : -1);
    free(a);
    return 0;
}
