/* Correlation matrix of a synthetic data set: means, standard deviations,
 * standardisation, then the pairwise products. */
#include <stdio.h>
#include <stdlib.h>
#include "dims.h"
#include "buffers.h"
#include "stats.h"

int main(int argc, char **argv)
{
    double (*data)[NVAR];
    double (*corr)[NVAR];
    double *mean, *stddev;
    double offsum, best;
    int scale, rep, i, j, besti;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;

    data = (double (*)[NVAR]) buf_get(sizeof(double) * NOBS * NVAR);
    corr = (double (*)[NVAR]) buf_get(sizeof(double) * NVAR * NVAR);
    mean = buf_vector(NVAR);
    stddev = buf_vector(NVAR);

    make_data(data);
    for (rep = 0; rep < scale; rep++) {
        column_means(data, mean);
        column_stddev(data, mean, stddev);
        standardize(data, mean, stddev);
        correlation(data, corr);
    }

    offsum = 0.0;
    best = -2.0;
    besti = -1;
    for (i = 1; i < NVAR; i++) {
        offsum += corr[i][0];
        if (corr[i][0] > best) {
            best = corr[i][0];
            besti = i;
        }
    }
    j = NVAR / 2;
    printf("mean[0] = %.13e  stddev[%d] = %.13e\n", mean[0], j, stddev[j]);
    printf("sum corr[i][0] = %.13e\n", offsum);
    printf("most correlated with 0: %d (%.12f)\n", besti, best);

    buf_put(data);
    buf_put(corr);
    buf_put(mean);
    buf_put(stddev);
    return 0;
}
