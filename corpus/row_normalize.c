/* Normalise every row of a matrix to unit length: the row loop is
 * parallel and its two inner loops get no pragma of their own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define COLS 200

static void normalize_rows(double (*a)[COLS], int rows)
{
    for (int i = 0; i < rows; i++) {
        double norm = 0.0;
        for (int j = 0; j < COLS; j++)
            norm += a[i][j] * a[i][j];
        norm = sqrt(norm);
        for (int j = 0; j < COLS; j++)
            a[i][j] /= norm;
    }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int rows = 1000 * scale;
    double (*a)[COLS] = malloc((size_t)rows * sizeof *a);
    if (!a)
        return 1;

    for (int i = 0; i < rows; i++)
        for (int j = 0; j < COLS; j++)
            a[i][j] = 1.0 + (double)((i + 3 * j) % 17) / 4.0;

    normalize_rows(a, rows);

    printf("a[0][0] = %.12e  a[0][1] = %.12e\n", a[0][0], a[0][1]);
    printf("a[rows-1][COLS-1] = %.12e\n", a[rows - 1][COLS - 1]);
    free(a);
    return 0;
}
