// Cumulative distribution of a histogram: the weights are computed in
// parallel, the prefix sum is written in iteration order by `omp ordered`.
#include <cstdio>
#include <vector>

static double weight(int bin)
{
    double w = 1.0;
    for (int r = 0; r < 40; ++r)
        w += ((bin + r) % 5) * 0.125;
    return w;
}

static void cumulative(std::vector<double> &cdf, int bins)
{
#pragma omp parallel for ordered schedule(static, 1)
    for (int b = 0; b < bins; ++b) {
        double w = weight(b);
#pragma omp ordered
        cdf[b + 1] = cdf[b] + w;
    }
}

int main()
{
    const int bins = 256;
    std::vector<double> cdf(bins + 1, 0.0);
    cumulative(cdf, bins);
    std::printf("cdf[64] %.6f cdf[%d] %.6f\n", cdf[64], bins, cdf[bins]);
    return 0;
}
