#include "support.h"

void kernel_jacobi(double out[M][M], double in[M][M])
{
    for (int i = 1; i < M - 1; i++)
        for (int j = 1; j < M - 1; j++)
            out[i][j] = 0.2 * (in[i][j] + in[i - 1][j] + in[i + 1][j] + in[i][j - 1] + in[i][j + 1]);
}
