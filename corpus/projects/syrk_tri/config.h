#ifndef CONFIG_H
#define CONFIG_H

#ifndef N
#define N 400
#endif
#ifndef M
#define M 200
#endif

#endif
