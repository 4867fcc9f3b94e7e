/* A table header filled by the primary thread (masked) and read by all
 * threads after the barrier that follows it. */
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int rows;
    double scale;
} header_t;

static void fill_rows(double *table, const header_t *h, int cols)
{
    int r, c;
#pragma omp for
    for (r = 0; r < h->rows; r++)
        for (c = 0; c < cols; c++)
            table[r * cols + c] = h->scale * (r + c);
}

int main(void)
{
    const int cols = 20;
    header_t *h = malloc(sizeof *h);
    double *table = calloc(64 * cols, sizeof *table);
    double sum = 0.0;
    int k;

    if (!h || !table)
        return 1;
    h->rows = 64;
    h->scale = 0.0;
#pragma omp parallel
    {
#pragma omp masked
        h->scale = 0.5;
#pragma omp barrier
        fill_rows(table, h, cols);
    }
    for (k = 0; k < 64 * cols; k++)
        sum += table[k];
    printf("table sum %.3f\n", sum);
    free(table);
    free(h);
    return 0;
}
