// Particles count how many steps they took in a static data member shared
// by every instance; the loop counts in a reduction and adds once after it.
#include <cstdio>
#include <vector>

struct TalliedParticle {
    double x = 0.0, v = 1.0;
    static long steps;

    void advance(double dt)
    {
        x += v * dt;
        v *= 0.99;
    }
};

long TalliedParticle::steps = 0;

int main()
{
    std::vector<TalliedParticle> ps(2000);
    for (std::size_t k = 0; k < ps.size(); ++k)
        ps[k].v = 1.0 + (k % 7) * 0.1;

    long taken = 0;
#pragma omp parallel for reduction(+: taken)
    for (int k = 0; k < static_cast<int>(ps.size()); ++k) {
        ps[k].advance(0.01);
        ++taken;
    }
    TalliedParticle::steps += taken;

    double sum = 0.0;
    for (const TalliedParticle &p : ps)
        sum += p.x;
    std::printf("sum %.6f steps %ld\n", sum, TalliedParticle::steps);
    return 0;
}
