/* while and do-while loops: Collatz step counts and Newton square roots
 * inside parallelisable for loops, and a top-level while over an array. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 20000 * scale;
    int *steps = malloc((size_t)n * sizeof *steps);
    double *v = malloc((size_t)n * sizeof *v);
    double *root = malloc((size_t)n * sizeof *root);
    if (!steps || !v || !root)
        return 1;

    int longest = 0;
    for (int i = 0; i < n; i++) {
        long x = i + 1;
        int s = 0;
        while (x != 1) {
            x = (x % 2) ? 3 * x + 1 : x / 2;
            s++;
        }
        steps[i] = s;
        if (s > longest)
            longest = s;
    }

    int k = 0;
    while (k < n) {
        v[k] = 1.0 + 0.5 * k;
        k++;
    }

    for (int i = 0; i < n; i++) {
        double g = v[i], prev;
        do {
            prev = g;
            g = 0.5 * (g + v[i] / g);
        } while (fabs(g - prev) > 1e-12 * g);
        root[i] = g;
    }

    printf("steps[26] = %d  longest = %d\n", steps[26], longest);
    printf("root[0] = %.15g  root[n-1] = %.15g  sqrt = %.15g\n", root[0], root[n - 1], sqrt(v[n - 1]));
    free(steps);
    free(v);
    free(root);
    return 0;
}
