/* A loop whose parallel gain is certain on 2 free cores: each element takes
 * microseconds of transcendental math on a few bytes, independent of the
 * others, so two threads halve the time whatever the memory bandwidth.
 * `prog N` computes N elements: 300000 take about half a second serially
 * (clang-19 -O3). Shared by the end-to-end timing tests (tests/conftest.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    double *a = malloc(n * sizeof *a);
    for (int i = 0; i < n; i++) {
        double x = i * 1e-6;
        for (int r = 0; r < 64; r++)  /* a recurrence: no simd, nothing to split */
            x = sin(x + r) * cos(x - r);
        a[i] = x;
    }
    printf("%.10e %.10e %.10e\n", a[0], a[n / 2], a[n - 1]);
    free(a);
    return 0;
}
