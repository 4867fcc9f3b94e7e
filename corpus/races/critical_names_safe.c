/* Stock levels: deliveries and sales update the same stock counter under
 * critical sections of the same name. */
#include <stdio.h>

#define ORDERS 60000

static long stock = 100000;

static void deliver(int units)
{
#pragma omp critical(stock)
    stock += units;
}

static void sell(int units)
{
#pragma omp critical(stock)
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
