#ifndef POOL_H
#define POOL_H

#include <stddef.h>

void *pool_alloc(size_t count, size_t size, const char *tag);
void pool_free(void *p);

#define POOL_NEW(type, count, tag) ((type *) pool_alloc((size_t) (count), sizeof(type), (tag)))

#endif
