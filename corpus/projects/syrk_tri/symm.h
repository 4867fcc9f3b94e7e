#ifndef SYMM_H
#define SYMM_H

#include "config.h"

void syrk(double alpha, double beta, double C[restrict N][N], double A[restrict N][M]);
void syr2k(double alpha, double beta, double C[restrict N][N],
           double A[restrict N][M], double B[restrict N][M]);
void mirror_lower(double C[restrict N][N]);

#endif
