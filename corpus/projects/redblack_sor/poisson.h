#ifndef POISSON_H
#define POISSON_H

#ifndef N
#define N 300
#endif

void setup_rhs(double (*f)[N], double (*u)[N]);
void gauss_seidel(double (*restrict u)[N], double (*restrict f)[N], double h2);
void red_black(double (*restrict u)[N], double (*restrict f)[N], double h2, int color);
double residual_norm(double (*u)[N], double (*f)[N], double h2);

#endif
