/* Count accepted events with an atomic capture, and compare the captured
 * count with the capacity. */
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
            int now;
#pragma omp atomic capture
            now = ++accepted;
            if (now > CAPACITY) {
#pragma omp atomic write
                overflowed = 1;
            }
        }
    }
    printf("accepted %d overflowed %d\n", accepted, overflowed);
    return 0;
}
