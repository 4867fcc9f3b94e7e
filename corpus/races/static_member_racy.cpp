// Particles count how many steps they took in a static data member shared
// by every instance; the parallel loop updates it without synchronisation.
#include <cstdio>
#include <vector>

struct Particle {
    double x = 0.0, v = 1.0;
    static long steps;

    void advance(double dt)
    {
        x += v * dt;
        v *= 0.99;
        ++steps;
    }
};

long Particle::steps = 0;

int main()
{
    std::vector<Particle> ps(2000);
    for (std::size_t k = 0; k < ps.size(); ++k)
        ps[k].v = 1.0 + (k % 7) * 0.1;

#pragma omp parallel for
    for (int k = 0; k < static_cast<int>(ps.size()); ++k)
        ps[k].advance(0.01);

    double sum = 0.0;
    for (const Particle &p : ps)
        sum += p.x;
    std::printf("sum %.6f steps %ld\n", sum, Particle::steps);
    return 0;
}
