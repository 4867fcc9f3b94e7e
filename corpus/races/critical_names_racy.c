/* Stock levels: deliveries and sales update the same stock counter under
 * two differently named critical sections, which do not exclude each other. */
#include <stdio.h>

#define ORDERS 3000

static long stock = 100000;

static void deliver(int units)
{
#pragma omp critical(deliveries)
    stock += units;
}

static void sell(int units)
{
#pragma omp critical(sales)
    stock -= units;
}

int main(void)
{
    int k;

#pragma omp parallel for schedule(static, 8)
    for (k = 0; k < ORDERS; k++) {
        if (k % 3 == 0)
            deliver(k % 50);
        else
            sell(k % 7);
    }
    printf("stock %ld\n", stock);
    return 0;
}
