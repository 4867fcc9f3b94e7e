#ifndef LINALG_H
#define LINALG_H

#include "sizes.h"

void fill_matrix(double (*A)[NY]);
void atax(double (*A)[NY], const double *x, double *tmp, double *y);
void bicg(double (*A)[NY], const double *r, const double *p, double *s, double *q);

#endif
