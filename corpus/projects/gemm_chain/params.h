/* Problem sizes; override with -DNI=... on the command line. */
#ifndef PARAMS_H
#define PARAMS_H

#ifndef NI
#define NI 200
#endif
#ifndef NJ
#define NJ 220
#endif
#ifndef NK
#define NK 800
#endif
#ifndef NL
#define NL 180
#endif

#endif
