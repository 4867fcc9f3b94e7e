#ifndef MEMORY_H
#define MEMORY_H

#include <stddef.h>

void *mem_checked(size_t bytes);
void *mem_field(int rows, int cols);

#endif
