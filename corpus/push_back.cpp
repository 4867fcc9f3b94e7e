// Loops that grow a std::vector with push_back (the position of each new
// element depends on all earlier iterations) and a preallocated version.
#include <cstdio>
#include <cstdlib>
#include <vector>

static bool is_prime(int x)
{
    if (x < 2)
        return false;
    for (int d = 2; d * d <= x; ++d)
        if (x % d == 0)
            return false;
    return true;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? std::atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    const int n = 40000 * scale;

    std::vector<int> primes;
    for (int i = 2; i < n; ++i)
        if (is_prime(i))
            primes.push_back(i);

    std::vector<double> halves;
    halves.reserve(n);
    for (int i = 0; i < n; ++i)
        halves.push_back(0.5 * i);

    std::vector<double> halves2(n);
    for (int i = 0; i < n; ++i)
        halves2[i] = 0.5 * i;

    long psum = 0;
    for (std::size_t i = 0; i < primes.size(); ++i)
        psum += primes[i];

    std::printf("primes below %d: %zu  largest = %d  sum = %ld\n", n, primes.size(),
                primes.back(), psum);
    std::printf("halves[n-1] = %.15g  same = %d\n", halves[n - 1], halves == halves2);
    return 0;
}
