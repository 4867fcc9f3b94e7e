/* Loops that keep PossibleAlias: no run-time check can be stated. */
// expect 15: unknown
// note 15: no run-time alias check: x may be indexed below x[0]
// expect 21: parallel-if-disjoint
// condition 21: ompilot_disjoint(y, (size_t)(n) * sizeof *y, x, (size_t)(n - 1) * sizeof *x)
// expect 27: unknown
// note 27: no run-time alias check: the pointer x itself changes in the loop
// expect 36: unknown
// note 36: no run-time alias check: the range of x the loop touches is not affine in its bounds
// expect 39: parallel
// expect 47: serial

void negative_offset(int n, double *y, const double *x)
{
    for (int i = 0; i < n; i++)
        y[i] = x[i - 1];
}

void from_one(int n, double *y, const double *x)
{
    for (int i = 1; i < n; i++)
        y[i] = x[i - 1];
}

void pointer_moves(int n, double *y, const double *x)
{
    for (int i = 0; i < n; i++) {
        y[i] = x[i];
        if (y[i] > 1.0)
            x = y;
    }
}

void bound_changes(int n, double *y, const double *x)
{
    for (int i = 0; i < n; i++) {
        int m = i % 8;
        double s = 0;
        for (int j = 0; j < m; j++)
            s += x[8 * i + j];
        y[i] = s;
    }
}

void carried(int n, double *y, const double *x)
{
    for (int i = 1; i < n; i++)
        y[i] = y[i - 1] + x[i];
}
