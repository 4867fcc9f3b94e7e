/* A banded sparse matrix in compressed-row form and its product with a
 * vector.  Row i has entries in columns i - w .. i + w (clipped), with a
 * width w that varies with i. */
#include "pool.h"
#include "csr.h"

static int row_width(int i)
{
    return 20 + i % 17;
}

void csr_build(struct csr *A, int nrows)
{
    int i, k, lo, hi, nnz, *count;

    A->nrows = nrows;
    A->rowptr = POOL_NEW(int, nrows + 1, "rowptr");
    count = POOL_NEW(int, nrows, "count");

    for (i = 0; i < nrows; i++) {
        lo = i - row_width(i) < 0 ? 0 : i - row_width(i);
        hi = i + row_width(i) >= nrows ? nrows - 1 : i + row_width(i);
        count[i] = hi - lo + 1;
    }
    A->rowptr[0] = 0;
    for (i = 0; i < nrows; i++)
        A->rowptr[i + 1] = A->rowptr[i] + count[i];
    nnz = A->rowptr[nrows];
    A->col = POOL_NEW(int, nnz, "col");
    A->val = POOL_NEW(double, nnz, "val");

    for (i = 0; i < nrows; i++) {
        lo = i - row_width(i) < 0 ? 0 : i - row_width(i);
        for (k = A->rowptr[i]; k < A->rowptr[i + 1]; k++) {
            A->col[k] = lo + (k - A->rowptr[i]);
            A->val[k] = A->col[k] == i ? 4.0 + (double) (i % 3) : -1.0 / (1.0 + (double) (k - A->rowptr[i]));
        }
    }
    pool_free(count);
}

void csr_free(struct csr *A)
{
    pool_free(A->rowptr);
    pool_free(A->col);
    pool_free(A->val);
}

void spmv(const struct csr *A, const double *x, double *y)
{
    int i, k;
    double s;

    for (i = 0; i < A->nrows; i++) {
        s = 0.0;
        for (k = A->rowptr[i]; k < A->rowptr[i + 1]; k++)
            s += A->val[k] * x[A->col[k]];
        y[i] = s;
    }
}
