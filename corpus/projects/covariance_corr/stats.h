#ifndef STATS_H
#define STATS_H

#include "dims.h"

void make_data(double (*data)[NVAR]);
void column_means(double (*data)[NVAR], double *mean);
void column_stddev(double (*data)[NVAR], const double *mean, double *stddev);
void standardize(double (*data)[NVAR], const double *mean, const double *stddev);
void correlation(double (*data)[NVAR], double (*corr)[NVAR]);

#endif
