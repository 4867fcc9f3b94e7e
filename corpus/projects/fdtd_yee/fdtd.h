#ifndef FDTD_H
#define FDTD_H

#ifndef NX
#define NX 400
#endif
#ifndef NY
#define NY 360
#endif
#ifndef TMAX
#define TMAX 120
#endif

void fdtd_init(double (*ex)[NY], double (*ey)[NY], double (*hz)[NY], double *src);
void fdtd_step(int t, double (*ex)[NY], double (*ey)[NY], double (*hz)[NY], const double *src);
double field_energy(double (*ex)[NY], double (*ey)[NY], double (*hz)[NY]);

#endif
