/* Two-dimensional kernels: pointer to rows, VLA parameters, linearised. */
// expect 26: parallel-if-disjoint
// condition 26: ompilot_disjoint(A, (size_t)(n) * sizeof *A, s, (size_t)(n) * sizeof *s)
// expect 27: unknown
// expect 33: parallel-if-disjoint
// condition 33: ompilot_disjoint(A, (size_t)(n) * sizeof *A, B, (size_t)(n) * sizeof *B)
// expect 34: unknown
// expect 40: parallel-if-disjoint
// condition 40: ompilot_disjoint(a, (size_t)(m * n) * sizeof *a, b, (size_t)(m * n) * sizeof *b)
// expect 41: unknown
// expect 47: unknown
// note 47: no run-time alias check: the range of A the loop touches is not affine in its bounds
// expect 48: unknown
// expect 54: unknown
// note 54: no run-time alias check: the sign of stride in b[i * stride] is not known
// expect 60: serial
// expect 61: parallel-if-disjoint
// condition 61: ompilot_disjoint(y, (size_t)(n) * sizeof *y, x, (size_t)(n) * sizeof *x)
// expect 67: parallel-if-disjoint
// pragma 67: #pragma omp parallel for collapse(2) if(ompilot_disjoint(A, (size_t)(16) * sizeof *A, s, (size_t)(m) * sizeof *s))
// expect 68: unknown
#define M 64

void scale_rows(int n, double (*A)[M], const double *s)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < M; j++)
            A[i][j] = A[i][j] * s[i];
}

void copy_vla(int n, int m, double A[n][m], double B[n][m])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            A[i][j] = 2 * B[i][j];
}

void copy_linear(int n, int m, double *a, const double *b)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            a[i * m + j] = b[i * m + j] + 1.0;
}

void past_row(int n, double (*A)[M], const double *s)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < M; j++)
            A[i][j + 1] = s[i];
}

void strided(int n, int stride, double *a, const double *b)
{
    for (int i = 0; i < n; i++)
        a[i] = b[i * stride];
}

void time_steps(int steps, int n, double *y, const double *x)
{
    for (int t = 0; t < steps; t++)
        for (int i = 0; i < n; i++)
            y[i] = 0.5 * y[i] + x[i];
}

void few_rows(int m, double A[][m], const double *s)
{
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < m; j++)
            A[i][j] = s[j] * i;
}
