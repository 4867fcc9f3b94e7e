#ifndef ACCOUNT_H
#define ACCOUNT_H

struct account {
    long balance;
    long moves;
};

void account_init(void);
void account_close(void);
void deposit(struct account *acc, long amount);
void withdraw(struct account *acc, long amount);

#endif
