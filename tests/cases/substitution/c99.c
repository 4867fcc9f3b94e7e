/* Temporaries declared in the body (C99): their values replace them in subscripts. */
// expect 14: parallel
// pragma 14: #pragma omp parallel for
// expect 15: parallel
// expect 23: parallel
// expect 31: serial
// reasons 31: CarriedDependence
// expect 39: parallel
// expect 40: parallel

void heat(int nx, int ny, double *restrict unew, const double *restrict u, const double *restrict kappa)
{
    int i;
    for (i = 1; i < nx - 1; i++)
        for (int j = 1; j < ny - 1; j++) {
            int c = i * ny + j;
            unew[c] = u[c] + kappa[c] * (u[c - 1] + u[c + 1] + u[c - ny] + u[c + ny] - 4.0 * u[c]);
        }
}

void shift(int n, double *restrict a, const double *restrict b)
{
    for (int i = 0; i < n - 1; i++) {
        int k = i + 1;
        a[k] = b[k - 1];
    }
}

void carried(int n, double *restrict a)
{
    for (int i = 0; i < n - 1; i++) {
        int k = i;
        a[k] = a[k + 1] + 1.0;
    }
}

void chained(int nx, int ny, double *restrict out, const double *restrict in)
{
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++) {
            long row = (long) i * ny;
            long c = row + j;
            out[c] = 2.0 * in[c];
        }
}
