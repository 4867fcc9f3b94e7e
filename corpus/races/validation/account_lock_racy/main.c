#include <stdio.h>

#include "account.h"

#define N 3000

int main(void)
{
    struct account acc = {1000, 0};
    account_init();
#pragma omp parallel for schedule(static, 4)
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            withdraw(&acc, i % 7);
        else
            deposit(&acc, i % 11);
    }
    account_close();
    printf("balance %ld moves %ld\n", acc.balance, acc.moves);
    return 0;
}
