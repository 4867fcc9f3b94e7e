/* C89: the temporary is declared at the top and assigned in the body; it is
   also a private scalar. */
// expect 15: parallel
// private 15: j c
// expect 16: parallel
// private 16: c
// expect 27: parallel
// private 27: s j c
// expect 29: parallel

void heat(int nx, int ny, double *restrict unew, const double *restrict u)
{
    int i, j, c;

    for (i = 1; i < nx - 1; i++)
        for (j = 1; j < ny - 1; j++) {
            c = i * ny + j;
            unew[c] = u[c] + 0.1 * (u[c - 1] + u[c + 1] + u[c - ny] + u[c + ny] - 4.0 * u[c]);
        }
}

void scale_rows(int nx, int ny, double *restrict a)
{
    int i, j, c;
    double s;

    for (i = 0; i < nx; i++) {
        s = 1.0 / (1.0 + i);
        for (j = 0; j < ny; j++) {
            c = i * ny + j;
            a[c] = a[c] * s;
        }
    }
}
