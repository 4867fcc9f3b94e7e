/* Vectors own a buffer from vm_malloc. */
#include <stdio.h>
#include <stdlib.h>
#include "vecmem.h"

void *vm_malloc(size_t bytes)
{
    void *p = malloc(bytes);

    if (p == NULL) {
        fprintf(stderr, "vm_malloc(%lu) failed\n", (unsigned long) bytes);
        exit(EXIT_FAILURE);
    }
    return p;
}

vector_t vm_vector(size_t len)
{
    vector_t v;

    v.len = len;
    v.data = (double *) vm_malloc(len * sizeof(double));
    return v;
}

void vm_free(vector_t *v)
{
    free(v->data);
    v->data = NULL;
    v->len = 0;
}
