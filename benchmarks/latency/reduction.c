#include <stdio.h>
#define N 90000000L
int main(void) {
    double sum = 0.0;
    long hits = 0;
    for (long i = 0; i < N; i++) {
        double x = (double) (i % 1000) * 1e-3;
        sum += x * x - 0.5 * x;
        hits += (i % 7 == 3);
    }
    printf("%.6e %ld\n", sum, hits);
    return 0;
}
