/* Bitwise (&, |, ^) and logical (&&, ||) reductions over hashed integers. */
#include <stdio.h>
#include <stdlib.h>

#define BASE_N 100000

static unsigned int mix(unsigned int x)
{
    x = (x + 0x3c6ef372u) * 0x2c1b3c6du;
    x ^= x >> 13;
    x *= 0x297a2d39u;
    x ^= x >> 16;
    return x;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = BASE_N * scale;
    unsigned int *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return 1;

    for (int i = 0; i < n; i++)
        v[i] = mix((unsigned int)i) | 0x10000001u;

    unsigned int all_bits = 0xffffffffu;
    for (int i = 0; i < n; i++)
        all_bits &= v[i];

    unsigned int any_bits = 0u;
    for (int i = 0; i < n; i++)
        any_bits |= v[i] & 0x0f0f0f0fu;

    unsigned int parity = 0u;
    for (int i = 0; i < n; i++)
        parity ^= v[i];

    int all_odd = 1;
    for (int i = 0; i < n; i++)
        all_odd = all_odd && (v[i] & 1u);

    int any_top = 0;
    for (int i = 0; i < n; i++)
        any_top = any_top || (v[i] >= 0xfffff000u);

    printf("and = %08x  or = %08x  xor = %08x\n", all_bits, any_bits, parity);
    printf("all odd = %d  any >= 0xfffff000 = %d\n", all_odd, any_top);
    free(v);
    return 0;
}
