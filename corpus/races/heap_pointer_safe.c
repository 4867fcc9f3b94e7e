/* A work context allocated on the heap holds a scratch buffer; the parallel
 * loop gives every iteration its own scratch slot. */
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    double *scratch;
    double *result;
    int n;
} context_t;

static context_t *context_new(int n)
{
    context_t *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->scratch = calloc((size_t)n, sizeof *c->scratch);
    c->result = calloc((size_t)n, sizeof *c->result);
    c->n = n;
    return c;
}

static void evaluate(context_t *c)
{
    int i;

#pragma omp parallel for
    for (i = 0; i < c->n; i++) {
        c->scratch[i] = (double)(i % 9) * 0.25;
        c->result[i] = c->scratch[i] * c->scratch[i] + 1.0;
    }
}

int main(void)
{
    context_t *c = context_new(2500);
    double sum = 0.0;
    int i;

    if (!c || !c->scratch || !c->result)
        return 1;
    evaluate(c);
    for (i = 0; i < c->n; i++)
        sum += c->result[i];
    printf("sum %.4f\n", sum);
    free(c->scratch);
    free(c->result);
    free(c);
    return 0;
}
