#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>

void *safe_malloc(size_t bytes, const char *file, int line);
#define NEW_ARRAY(type, count) ((type *) safe_malloc((size_t) (count) * sizeof(type), __FILE__, __LINE__))

#endif
