/* Column statistics and the correlation matrix of a data set. */
#include <math.h>
#include "stats.h"

#define EPS 1e-12

void column_means(double (*data)[NVAR], double *mean)
{
    int i, j;
    double s;

    for (j = 0; j < NVAR; j++) {
        s = 0.0;
        for (i = 0; i < NOBS; i++)
            s += data[i][j];
        mean[j] = s / NOBS;
    }
}

void column_stddev(double (*data)[NVAR], const double *mean, double *stddev)
{
    int i, j;
    double s, d;

    for (j = 0; j < NVAR; j++) {
        s = 0.0;
        for (i = 0; i < NOBS; i++) {
            d = data[i][j] - mean[j];
            s += d * d;
        }
        s = sqrt(s / NOBS);
        stddev[j] = s <= EPS ? 1.0 : s;
    }
}

void standardize(double (*data)[NVAR], const double *mean, const double *stddev)
{
    int i, j;
    double root;

    root = sqrt((double) NOBS);
    for (i = 0; i < NOBS; i++)
        for (j = 0; j < NVAR; j++)
            data[i][j] = (data[i][j] - mean[j]) / (root * stddev[j]);
}

/* corr = data^T data (data standardised): symmetric, computed once per pair */
void correlation(double (*data)[NVAR], double (*corr)[NVAR])
{
    int i, j1, j2;
    double s;

    for (j1 = 0; j1 < NVAR - 1; j1++) {
        corr[j1][j1] = 1.0;
        for (j2 = j1 + 1; j2 < NVAR; j2++) {
            s = 0.0;
            for (i = 0; i < NOBS; i++)
                s += data[i][j1] * data[i][j2];
            corr[j1][j2] = s;
            corr[j2][j1] = s;
        }
    }
    corr[NVAR - 1][NVAR - 1] = 1.0;
}
