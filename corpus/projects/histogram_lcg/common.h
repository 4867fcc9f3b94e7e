#ifndef COMMON_H
#define COMMON_H

#include <stddef.h>

#ifndef NSAMPLES
#define NSAMPLES 5000000
#endif
#ifndef NBINS
#define NBINS 64
#endif

void *ck_malloc(size_t bytes);
void *ck_array(size_t count, size_t size);

#endif
