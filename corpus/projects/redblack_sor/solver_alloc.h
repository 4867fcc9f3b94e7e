#ifndef SOLVER_ALLOC_H
#define SOLVER_ALLOC_H

#include <stddef.h>

void *solver_alloc(size_t bytes);
void *solver_alloc_zero(size_t bytes);

#endif
