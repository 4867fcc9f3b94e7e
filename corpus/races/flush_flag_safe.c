/* Hand a value from one section to the other with a flag: the flag is
 * written and read with sequentially consistent atomics. */
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
#pragma omp atomic write seq_cst
            ready = 1;
        }
#pragma omp section
        {
            int seen = 0;
            while (!seen) {
#pragma omp atomic read seq_cst
                seen = ready;
            }
            got = payload;
        }
    }
    printf("got %d\n", got);
    return 0;
}
