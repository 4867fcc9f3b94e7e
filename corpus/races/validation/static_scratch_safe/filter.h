#ifndef FILTER_H
#define FILTER_H

double filter_point(const double *x, int n, int i);

#endif
