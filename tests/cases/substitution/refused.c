/* Temporaries whose value in a subscript is not the one assigned just before. */
// expect 19: serial
// reasons 19: ScalarDependence UnanalyzableAccess
// expect 28: unknown
// reasons 28: UnanalyzableAccess
// expect 39: serial
// reasons 39: ScalarDependence UnanalyzableAccess
// expect 49: serial
// reasons 49: UnanalyzableAccess
// expect 58: unknown
// reasons 58: UnanalyzableAccess
// expect 67: serial
// reasons 67: ScalarDependence UnanalyzableAccess
// expect 68: parallel

void conditional(int n, double *restrict a, const double *restrict b)
{
    int i, c = 0;
    for (i = 0; i < n; i++) {
        if (b[i] > 0.0)
            c = i;
        a[c] = b[i];
    }
}

void reassigned(int n, int flag, double *restrict a, const double *restrict b)
{
    for (int i = 0; i < n - 1; i++) {
        int c = i;
        if (flag)
            c = i + 1;
        a[c] = b[i];
    }
}

void read_before_write(int n, double *restrict a, const double *restrict b)
{
    int i, c = 0;
    for (i = 0; i < n; i++) {
        a[c] = b[i];
        c = i;
    }
}

void address_taken(int n, double *restrict a, const double *restrict b)
{
    int i, c;
    int *p = &c;
    for (i = 0; i < n; i++) {
        c = i;
        *p = 0;
        a[c] = b[i];
    }
}

void narrow(int n, double *restrict a, const double *restrict b)
{
    for (int i = 0; i < n; i++) {
        short c = i;
        a[c] = b[i];
    }
}

void outside_inner_loop(int n, int m, double *restrict a, const double *restrict b)
{
    int i, j, c = 0;
    for (i = 0; i < n; i++) {
        for (j = 0; j < m; j++)
            c = i * m + j;
        a[c] = b[i];
    }
}
