#ifndef SYSALLOC_H
#define SYSALLOC_H

#include <stddef.h>

void *sys_alloc(size_t bytes);
double *sys_alloc_doubles(size_t n);
void sys_free(void *p);

#endif
