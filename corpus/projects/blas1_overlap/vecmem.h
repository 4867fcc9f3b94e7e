#ifndef VECMEM_H
#define VECMEM_H

#include <stddef.h>

typedef struct {
    size_t len;
    double *data;
} vector_t;

void *vm_malloc(size_t bytes);
vector_t vm_vector(size_t len);
void vm_free(vector_t *v);

#endif
