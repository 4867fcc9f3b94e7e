#include <stdio.h>

#define N 5000

struct tally {
    long weight;
    long items;
};

static int item_weight(int i)
{
    return (i * 7) % 23;
}

int main(void)
{
    struct tally t = {0, 0};
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        int w = item_weight(i);
        if (w > 5) {
#pragma omp critical(tally)
            t.items += 1;
            if (w > 18) {
#pragma omp critical(tally)
                t.weight += w;
            }
        }
    }
    printf("weight %ld items %ld\n", t.weight, t.items);
    return 0;
}
