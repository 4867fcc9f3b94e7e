// Build a small tree of partial results: each task spawns a child task for
// the second half of its range. taskwait only waits for the direct
// children, not for the grandchildren, so the results are read too early.
#include <cstdio>
#include <vector>

static void fill(std::vector<long> &out, int lo, int hi)
{
    if (hi - lo <= 64) {
        for (int k = lo; k < hi; ++k)
            out[k] = static_cast<long>(k) * k % 97;
        return;
    }
    int mid = lo + (hi - lo) / 2;
#pragma omp task shared(out)
    fill(out, mid, hi);
    fill(out, lo, mid);
}

int main()
{
    const int n = 1024;
    std::vector<long> out(n, 0);
    long sum = 0;

#pragma omp parallel
#pragma omp single
    {
#pragma omp task shared(out)
        fill(out, 0, n);
#pragma omp taskwait
        for (int k = 0; k < n; ++k)
            sum += out[k];
    }
    std::printf("sum %ld\n", sum);
    return 0;
}
