// std::vector loops: an indexed initialisation, range-for updates by
// reference, a range-for sum and a range-for count.
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? std::atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    const std::size_t n = 200000 * static_cast<std::size_t>(scale);
    std::vector<double> v(n), w(n);

    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] = 0.001 * static_cast<double>(i % 5000);

    for (auto &x : v)
        x = 2 * x;

    double sum = 0.0;
    for (auto x : v)
        sum += x;

    for (std::size_t i = 0; i < n; ++i)
        w[i] = v[i] + 1.0;

    int big = 0;
    for (const auto &x : w)
        if (x > 9.0)
            ++big;

    std::printf("v[4999] = %.15g  w[n-1] = %.15g\n", v[4999], w[n - 1]);
    std::printf("sum = %.15e  big = %d\n", sum, big);
    return 0;
}
