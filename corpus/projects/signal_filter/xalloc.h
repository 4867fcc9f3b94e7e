#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void *xalloc_bytes(size_t bytes);
#define XALLOC(ptr, count) ((ptr) = xalloc_bytes((size_t) (count) * sizeof *(ptr)))

#endif
