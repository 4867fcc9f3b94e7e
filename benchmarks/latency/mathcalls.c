#include <math.h>
#include <stdio.h>
#define N 3000
#define M 10000
static double row[N];
int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < M; j++)
            row[i] += sqrt((double) (i + j) + 1.0) * exp(-sin((double) (i * M + j)) * 1e-2);
    double s = 0.0; for (int i = 0; i < N; i++) s += row[i] * (i % 3 == 0 ? 1.0 : -0.5);
    printf("%.9e\n", s);
    return 0;
}
