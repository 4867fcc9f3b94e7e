// A small account ledger guarded by a nestable lock: deposit() takes the
// lock and calls record(), which takes it again; balance() takes it too.
#include <cstdio>
#include <omp.h>

class LockedLedger {
public:
    LockedLedger() { omp_init_nest_lock(&lock_); }
    ~LockedLedger() { omp_destroy_nest_lock(&lock_); }

    void deposit(long amount)
    {
        omp_set_nest_lock(&lock_);
        total_ += amount;
        record();
        omp_unset_nest_lock(&lock_);
    }

    long balance()
    {
        omp_set_nest_lock(&lock_);
        long now = total_;
        omp_unset_nest_lock(&lock_);
        return now;
    }
    long entries() const { return entries_; }

private:
    void record()
    {
        omp_set_nest_lock(&lock_);
        ++entries_;
        omp_unset_nest_lock(&lock_);
    }

    omp_nest_lock_t lock_;
    long total_ = 0;
    long entries_ = 0;
};

int main()
{
    LockedLedger ledger;
    long peak = 0;

#pragma omp parallel for reduction(max: peak)
    for (int k = 0; k < 2000; ++k) {
        ledger.deposit(k % 11);
        long seen = ledger.balance();
        if (seen > peak)
            peak = seen;
    }
    std::printf("balance %ld entries %ld peak>0 %d\n", ledger.balance(), ledger.entries(), peak > 0);
    return 0;
}
