/* Kernels over pointer parameters, the way libraries write them. */
// expect 17: parallel-if-disjoint
// condition 17: ompilot_disjoint(y, (size_t)(n) * sizeof *y, x, (size_t)(n) * sizeof *x)
// expect 23: parallel
// expect 29: parallel-if-disjoint
// condition 29: ompilot_disjoint(a, (size_t)(n) * sizeof *a, b, (size_t)(n) * sizeof *b) && ompilot_disjoint(a, (size_t)(n) * sizeof *a, c, (size_t)(n) * sizeof *c)
// expect 35: parallel-if-disjoint
// condition 35: ompilot_disjoint(lo, (size_t)(n) * sizeof *lo, v, (size_t)(n + 1) * sizeof *v) && ompilot_disjoint(lo, (size_t)(n) * sizeof *lo, hi, (size_t)(n) * sizeof *hi) && ompilot_disjoint(hi, (size_t)(n) * sizeof *hi, v, (size_t)(n + 1) * sizeof *v)
// expect 44: parallel-if-disjoint
// condition 44: ompilot_disjoint(y, (size_t)(n) * sizeof *y, table, (size_t)(1000) * sizeof *table)
#include <stddef.h>

double table[1000];

void axpy(int n, double *y, const double *x)
{
    for (int i = 0; i < n; i++)
        y[i] = y[i] + 2.0 * x[i];
}

void axpy_restrict(int n, double *restrict y, const double *restrict x)
{
    for (int i = 0; i < n; i++)
        y[i] = y[i] + 2.0 * x[i];
}

void add3(double *a, const double *b, const double *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + c[i];
}

void split(int n, const double *v, double *lo, double *hi)
{
    for (int i = 0; i < n; i++) {
        double d = v[i + 1] - v[i];
        lo[i] = d < 0 ? d : 0;
        hi[i] = d > 0 ? d : 0;
    }
}

void lookup(int n, double *y)
{
    for (int i = 0; i < n; i++)
        y[i] = table[i % 1000];
}
