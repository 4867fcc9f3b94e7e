#ifndef FILTERS_H
#define FILTERS_H

#ifndef NSIG
#define NSIG 200000
#endif
#ifndef NTAPS
#define NTAPS 65
#endif

void make_signal(int n, double *x);
void make_taps(int ntaps, double *h);
void fir(int n, int ntaps, const double *h, const double *x, double *y);
int smooth5(int n, const double *x, double *y);
double envelope(int n, const double *x, double *env);
void iir2(int n, double a1, double a2, const double *x, double *y);

#endif
