/* A running balance over transactions: the loop has the ordered clause, but
 * the balance is updated before the ordered region, by every thread at once. */
#include <stdio.h>

#define N 400

static double amount(int k)
{
    double x = 0.0;
    int r;
    for (r = 0; r < 50; r++)
        x += (double)((k * 31 + r) % 17) * 0.01;
    return x - 4.0;
}

int main(void)
{
    static double log_balance[N];
    double balance = 100.0;
    int count = 0;
    int i;

#pragma omp parallel for ordered schedule(static, 1)
    for (i = 0; i < N; i++) {
        double v = amount(i);
        balance += v;
#pragma omp ordered
        {
            log_balance[count++] = balance;
        }
    }
    printf("entries %d final %.6f mid %.6f\n", count, balance, log_balance[N / 2]);
    return 0;
}
