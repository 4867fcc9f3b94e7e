/* Stock levels: deliveries (first half of the orders) and sales (second half)
 * update one counter under differently named critical sections, which do not exclude each other. */
#include <stdio.h>

#define ORDERS 60000

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

#pragma omp parallel for schedule(static)
    for (k = 0; k < ORDERS; k++) {
        if (k < ORDERS / 2)
            deliver(k % 50);
        else
            sell(k % 7);
    }
    printf("stock %ld\n", stock);
    return 0;
}
