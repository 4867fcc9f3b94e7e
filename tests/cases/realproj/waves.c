#include <math.h>
#include "support.h"

void kernel_waves(double y[M * 10], double x[M * 10])
{
    for (int i = 0; i < M * 10; i++) {
        double s = 0;
        for (int k = 1; k <= K; k++)
            s += sin(x[i] * k) / k;
        y[i] = s;
    }
}
