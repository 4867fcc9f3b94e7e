/* Find the smallest reading and where it is: each thread keeps its own
 * best value and position in its slot, but the running best and position
 * are declared before the parallel region, so all threads share them. */
#include <stdio.h>
#include <omp.h>

#define COUNT 50000
#define MAX_THREADS 64

static double readings[COUNT];
static double best_of[MAX_THREADS];
static int where_of[MAX_THREADS];

static int smallest(void)
{
    int teams = 1;
    double best = 1e300;
    int where = -1;

#pragma omp parallel
    {
        int tid = omp_get_thread_num();
#pragma omp single
        teams = omp_get_num_threads();
#pragma omp for
        for (int i = 0; i < COUNT; i++) {
            if (readings[i] < best) {
                best = readings[i];
                where = i;
            }
        }
        best_of[tid] = best;
        where_of[tid] = where;
    }
    int found = where_of[0];
    for (int t = 1; t < teams; t++)
        if (where_of[t] >= 0 && (found < 0 || best_of[t] < readings[found]))
            found = where_of[t];
    return found;
}

int main(void)
{
    for (int i = 0; i < COUNT; i++)
        readings[i] = (double)((i * 7919L + 13) % 100003) + 0.5;
    int at = smallest();
    printf("smallest %.3f at %d\n", readings[at], at);
    return 0;
}
