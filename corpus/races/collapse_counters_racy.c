/* Blur a small image: both loop counters are declared at the top of the
 * function, but only the outer loop is associated with the pragma (no
 * collapse), so the inner counter j stays shared between the threads. */
#include <stdio.h>

#define ROWS 64
#define COLS 48

static double img[ROWS][COLS];
static double out[ROWS][COLS];

static void blur(double dst[ROWS][COLS], double src[ROWS][COLS])
{
    int i, j;
    double acc;

#pragma omp parallel for private(acc)
    for (i = 1; i < ROWS - 1; i++)
        for (j = 1; j < COLS - 1; j++) {
            acc = src[i - 1][j] + src[i + 1][j] + src[i][j - 1] + src[i][j + 1];
            dst[i][j] = 0.25 * acc;
        }
}

int main(void)
{
    int i, j;
    double total = 0.0;

    for (i = 0; i < ROWS; i++)
        for (j = 0; j < COLS; j++)
            img[i][j] = (double)((i * 7 + j * 3) % 11);
    blur(out, img);
    for (i = 0; i < ROWS; i++)
        for (j = 0; j < COLS; j++)
            total += out[i][j];
    printf("blur total %.6f\n", total);
    return 0;
}
