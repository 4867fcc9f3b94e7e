#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>

void *xmalloc(size_t bytes);
void *alloc_matrix(size_t rows, size_t cols);
void free_matrix(void *m);

#endif
