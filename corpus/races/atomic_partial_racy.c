/* Count accepted events with an atomic update, then compare the count with
 * the capacity by a plain read that races with the other threads' updates. */
#include <stdio.h>

#define EVENTS 5000
#define CAPACITY 1200

static int accepted;
static int overflowed;

static int accept(int e)
{
    return (e * 2654435761u) % 4 == 0;
}

int main(void)
{
    int e;

#pragma omp parallel for
    for (e = 0; e < EVENTS; e++) {
        if (accept(e)) {
#pragma omp atomic
            accepted++;
            if (accepted > CAPACITY) {
#pragma omp atomic write
                overflowed = 1;
            }
        }
    }
    printf("accepted %d overflowed %d\n", accepted, overflowed);
    return 0;
}
