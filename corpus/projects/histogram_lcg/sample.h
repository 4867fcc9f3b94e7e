#ifndef SAMPLE_H
#define SAMPLE_H

void generate(int n, unsigned int seed, double *x);
void value_range(int n, const double *x, double *lo, double *hi);
void histogram(int n, const double *x, double lo, double hi, long *out);
double mean_square(int n, const double *x);

#endif
