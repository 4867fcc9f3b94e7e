/* One section produces a block of samples, the other waits for the ready
 * flag and consumes them; the producer raises the flag outside the critical
 * section while the consumer reads it inside. */
#include <stdio.h>

#define BLOCK 16

static double samples[BLOCK];
static int ready;

static void produce(void)
{
    int k;
#pragma omp critical(mailbox)
    {
        for (k = 0; k < BLOCK; k++)
            samples[k] = k * 0.25;
    }
    ready = 1;
}

static double consume(void)
{
    double total = 0.0;
    int seen = 0;
    int k;

    while (!seen) {
#pragma omp critical(mailbox)
        seen = ready;
    }
#pragma omp critical(mailbox)
    for (k = 0; k < BLOCK; k++)
        total += samples[k];
    return total;
}

int main(void)
{
    double total = 0.0;

#pragma omp parallel sections
    {
#pragma omp section
        produce();
#pragma omp section
        total = consume();
    }
    printf("consumed %.3f\n", total);
    return 0;
}
