#ifndef SEQ_H
#define SEQ_H

#ifndef LEN
#define LEN 1000000
#endif

void fill_wave(int n, double *v);
void shift_add(int n, double *dst, const double *src, double c);
void prefix_sum(int n, const double *in, double *out);
void recurrence(int n, double a, const double *b, double *x);
double weighted_sum(int n, const double *v);

#endif
