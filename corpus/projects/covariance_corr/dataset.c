/* A synthetic data set: smooth columns with some shared structure. */
#include <math.h>
#include "stats.h"

void make_data(double (*data)[NVAR])
{
    int i, j;

    for (i = 0; i < NOBS; i++)
        for (j = 0; j < NVAR; j++)
            data[i][j] = sin(0.01 * (double) (i * (j % 17 + 1))) + 0.001 * (double) ((i * j) % 101);
}
