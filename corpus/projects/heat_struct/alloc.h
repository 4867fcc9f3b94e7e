#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>

void *checked_alloc(size_t bytes);
double *alloc_doubles(size_t n);

#endif
