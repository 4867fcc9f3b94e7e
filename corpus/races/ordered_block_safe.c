/* A running balance over transactions: the expensive part runs in parallel,
 * the balance and the log are updated inside the ordered region. */
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
#pragma omp ordered
        {
            balance += v;
            log_balance[count++] = balance;
        }
    }
    printf("entries %d final %.6f mid %.6f\n", count, balance, log_balance[N / 2]);
    return 0;
}
