#ifndef MEM_H
#define MEM_H

#include <stddef.h>

void *mem_alloc(size_t bytes, const char *what);
void *mem_zeroed(size_t count, size_t size, const char *what);
void mem_release(void *p);

#endif
