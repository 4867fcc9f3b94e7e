/* Bucket counts and the total weight, both updated under one lock. */
#include <stdio.h>
#include <omp.h>

#define ITEMS 4000
#define BUCKETS 16

static int bucket_count[BUCKETS];
static long weight_total;

static void tally(const int *keys, const int *weights, int n, omp_lock_t *guard)
{
    int i;

#pragma omp parallel for
    for (i = 0; i < n; i++) {
        int b = keys[i] % BUCKETS;
        omp_set_lock(guard);
        bucket_count[b]++;
        weight_total += weights[i];
        omp_unset_lock(guard);
    }
}

int main(void)
{
    static int keys[ITEMS], weights[ITEMS];
    omp_lock_t guard;
    int i;

    for (i = 0; i < ITEMS; i++) {
        keys[i] = (i * 131) % 1009;
        weights[i] = i % 13;
    }
    omp_init_lock(&guard);
    tally(keys, weights, ITEMS, &guard);
    omp_destroy_lock(&guard);
    printf("bucket 3 %d bucket 15 %d weight %ld\n", bucket_count[3], bucket_count[15], weight_total);
    return 0;
}
