#ifndef CSR_H
#define CSR_H

#ifndef NROWS
#define NROWS 30000
#endif

struct csr {
    int nrows;
    int *rowptr;   /* nrows + 1 increasing offsets */
    int *col;
    double *val;
};

void csr_build(struct csr *A, int nrows);
void csr_free(struct csr *A);
void spmv(const struct csr *A, const double *x, double *y);

#endif
