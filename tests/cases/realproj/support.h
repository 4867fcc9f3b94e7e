#ifndef SUPPORT_H
#define SUPPORT_H
#include <stddef.h>

/* Problem sizes are chosen at compile time: -DMINI_DATASET or -DLARGE_DATASET. */
#if defined(MINI_DATASET)
#define N 16
#define M 40
#define STEPS 2
#define K 4
#elif defined(LARGE_DATASET)
#define N 360
#define M 1000
#define STEPS 12
#define K 300
#else
#define N 100
#define M 300
#define STEPS 4
#define K 40
#endif

void *alloc_data(size_t count, size_t size);
void dump_sum(const char *name, const double *data, size_t count);

void kernel_gemm(double C[N][N], double A[N][N], double B[N][N]);
void kernel_jacobi(double out[M][M], double in[M][M]);
void kernel_waves(double y[M * 10], double x[M * 10]);

#endif
