#ifndef SIZES_H
#define SIZES_H

#ifndef NX
#define NX 900
#endif
#ifndef NY
#define NY 800
#endif

#endif
