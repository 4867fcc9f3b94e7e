#ifndef DIMS_H
#define DIMS_H

/* observations (rows) and variables (columns) */
#ifndef NOBS
#define NOBS 600
#endif
#ifndef NVAR
#define NVAR 320
#endif

#endif
