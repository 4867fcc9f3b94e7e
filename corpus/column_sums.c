/* Column sums into a fixed-size array with the row loop outermost, and row
 * sums with a per-row accumulator. */
#include <stdio.h>
#include <stdlib.h>

#define COLS 64

static double colsum[COLS];

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int rows = 2000 * scale;
    double (*a)[COLS] = malloc((size_t)rows * sizeof *a);
    double *rowsum = malloc((size_t)rows * sizeof *rowsum);
    if (!a || !rowsum)
        return 1;

    for (int i = 0; i < rows; i++)
        for (int j = 0; j < COLS; j++)
            a[i][j] = (i % 10) * 0.1 + j * 0.01 + 1.0 / (i + j + 1);

    for (int i = 0; i < rows; i++)
        for (int j = 0; j < COLS; j++)
            colsum[j] += a[i][j];

    for (int i = 0; i < rows; i++) {
        double s = 0.0;
        for (int j = 0; j < COLS; j++)
            s += a[i][j];
        rowsum[i] = s;
    }

    printf("colsum[0] = %.15e  colsum[COLS-1] = %.15e\n", colsum[0], colsum[COLS - 1]);
    printf("rowsum[0] = %.15e  rowsum[rows-1] = %.15e\n", rowsum[0], rowsum[rows - 1]);
    free(a);
    free(rowsum);
    return 0;
}
