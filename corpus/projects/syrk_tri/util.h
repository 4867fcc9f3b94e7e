#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>

void *util_malloc(size_t n, size_t size);
void util_free(void *p);

#endif
