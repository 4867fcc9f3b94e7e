#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>

void *arena_raw(size_t bytes);
double *arena_doubles(size_t n);

#endif
