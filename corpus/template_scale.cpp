// Function templates over std::vector: scale, axpy and a sum, instantiated
// for double and int.
#include <cstdio>
#include <cstdlib>
#include <vector>

template <typename T>
void scale(std::vector<T> &v, T f)
{
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] *= f;
}

template <typename T>
void axpy(T a, const std::vector<T> &x, std::vector<T> &y)
{
    for (std::size_t i = 0; i < y.size(); ++i)
        y[i] += a * x[i];
}

template <typename T>
T total(const std::vector<T> &v)
{
    T s = T();
    for (const T &e : v)
        s += e;
    return s;
}

int main(int argc, char **argv)
{
    int factor = argc > 1 ? std::atoi(argv[1]) : 1;
    if (factor < 1)
        factor = 1;
    const int n = 150000 * factor;
    std::vector<double> d(n), e(n);
    std::vector<int> k(n);

    for (int i = 0; i < n; ++i) {
        d[i] = 0.25 * (i % 64);
        e[i] = 1.0;
        k[i] = i % 10;
    }

    scale(d, 1.5);
    scale(k, 3);
    axpy(2.0, d, e);

    std::printf("d[63] = %.15g  e[63] = %.15g  k[9] = %d\n", d[63], e[63], k[9]);
    std::printf("sum d = %.15e  sum e = %.15e  sum k = %d\n", total(d), total(e), total(k));
    return 0;
}
