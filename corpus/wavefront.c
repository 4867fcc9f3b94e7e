/* A 2-D recurrence g[i][j] = f(g[i-1][j], g[i][j-1]) computed row by row
 * (both loops carry a dependence) and along anti-diagonals (the points of
 * one diagonal are independent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD 1000003

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 600 * scale;
    int *g = malloc((size_t)n * n * sizeof *g);
    int *h = malloc((size_t)n * n * sizeof *h);
    if (!g || !h)
        return 1;

    for (int i = 0; i < n; i++) {
        g[i * n] = h[i * n] = i % 17;
        g[i] = h[i] = (3 * i) % 29;
    }

    for (int i = 1; i < n; i++)
        for (int j = 1; j < n; j++)
            g[i * n + j] = (g[(i - 1) * n + j] + g[i * n + j - 1] + i) % MOD;

    for (int d = 2; d <= 2 * (n - 1); d++) {
        int lo = d - (n - 1) > 1 ? d - (n - 1) : 1;
        int hi = d - 1 < n - 1 ? d - 1 : n - 1;
        for (int i = lo; i <= hi; i++) {
            int j = d - i;
            h[i * n + j] = (h[(i - 1) * n + j] + h[i * n + j - 1] + i) % MOD;
        }
    }

    printf("g[n-1][n-1] = %d  g[n/2][n/3] = %d\n", g[n * n - 1], g[(n / 2) * n + n / 3]);
    printf("h[n-1][n-1] = %d  same = %d\n", h[n * n - 1],
           memcmp(g, h, (size_t)n * n * sizeof *g) == 0);
    free(g);
    free(h);
    return 0;
}
