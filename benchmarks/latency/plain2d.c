#include <stdio.h>
#define N 3000
static double a[N][N], b[N][N];
int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            b[i][j] = (double) ((i * 7 + j * 3) % 101);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            a[i][j] = 0.5 * b[i][j] + 0.25 * b[N - 1 - i][j] + (double) (i - j) * 1e-3;
    printf("%.6f %.6f\n", a[17][23], a[N - 1][N / 2]);
    return 0;
}
