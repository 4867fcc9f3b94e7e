#include <omp.h>

#include "account.h"

static omp_lock_t guard;

void account_init(void)
{
    omp_init_lock(&guard);
}

void account_close(void)
{
    omp_destroy_lock(&guard);
}

static void enter(void)
{
    omp_set_lock(&guard);
}

static void leave(void)
{
    omp_unset_lock(&guard);
}

void deposit(struct account *acc, long amount)
{
    enter();
    acc->balance += amount;
    acc->moves += 1;
    leave();
}

void withdraw(struct account *acc, long amount)
{
    acc->balance -= amount;
    enter();
    acc->moves += 1;
    leave();
}
