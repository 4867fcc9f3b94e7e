/* Hand a value from one section to the other with a flag and flushes only:
 * the flag itself is read and written without atomics, a data race. */
#include <stdio.h>

static int payload;
static int ready;

int main(void)
{
    int got = 0;

#pragma omp parallel sections
    {
#pragma omp section
        {
            payload = 42;
#pragma omp flush
            ready = 1;
#pragma omp flush
        }
#pragma omp section
        {
            int seen = 0;
            while (!seen) {
#pragma omp flush
                seen = ready;
            }
#pragma omp flush
            got = payload;
        }
    }
    printf("got %d\n", got);
    return 0;
}
