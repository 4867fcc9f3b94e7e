/* Sizes in structures: integer members the loop cannot change are
   loop-invariant parameters, in bounds and in subscripts. With
   -fno-strict-aliasing a double store may change an int member. */
// expect 32: parallel
// private 32: j c
// expect 33: parallel
// expect 41: parallel
// expect 47: unknown
// reasons 47: UnanalyzableAccess
// expect 48: unknown
// expect 55: serial
// reasons 55: NonCanonicalLoop
// expect 63: parallel
// expect 64: parallel
// flags -fno-strict-aliasing
// expect 32: unknown
// reasons 32: UnanalyzableAccess
// expect 33: unknown
// expect 41: parallel
// expect 47: unknown
// expect 48: unknown
// expect 55: serial
// expect 63: unknown
// expect 64: unknown

struct grid { int nx, ny; double *u; };
struct dims { int n; long stride; };

void heat(const struct grid *g, double *restrict unew, const double *restrict u)
{
    int i, j, c;
    for (i = 1; i < g->nx - 1; i++)
        for (j = 1; j < g->ny - 1; j++) {
            c = i * g->ny + j;
            unew[c] = u[c] + 0.1 * (u[c - 1] + u[c + 1] + u[c - g->ny] + u[c + g->ny] - 4.0 * u[c]);
        }
}

void by_value(struct dims s, double *restrict a, const double *restrict b)
{
    for (int i = 0; i < s.n; i++)
        a[i + s.n] = 2.0 * a[i] + b[i * s.stride];
}

void int_store(const struct grid *g, int *restrict count)
{
    for (int i = 0; i < g->nx; i++)
        for (int j = 0; j < g->ny; j++)
            count[i * g->ny + j] = i + j;
}

void bound_written(struct grid *g, double *restrict a)
{
    int i;
    for (i = 0; i < g->nx; i++) {
        a[i] = 0.0;
        g->nx = g->nx - 1;
    }
}

void float_store(const struct grid *g, float *restrict f)
{
    for (int i = 0; i < g->nx; i++)
        for (int j = 0; j < g->ny; j++)
            f[i * g->ny + j] = 1.0f;
}
