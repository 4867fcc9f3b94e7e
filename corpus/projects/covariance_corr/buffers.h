#ifndef BUFFERS_H
#define BUFFERS_H

#include <stddef.h>

void *buf_get(size_t bytes);
double *buf_vector(size_t n);
void buf_put(void *p);

#endif
