/* Running values: row offsets of a compressed sparse layout from per-row
 * counts (an exclusive integer scan whose total is used after the loop),
 * exponential smoothing of a signal (a first-order linear recurrence), and
 * the statistics of both. */
#include <stdio.h>
#include <stdlib.h>

static void row_offsets(int rows, const int *restrict count, long *restrict offset, long *total)
{
    int r;
    long run;

    run = 0;
    for (r = 0; r < rows; r++) {
        offset[r] = run;
        run += count[r];
    }
    *total = run;
}

static void smooth(int n, double keep, const double *restrict x, double *restrict ema)
{
    int i;

    ema[0] = x[0];
    for (i = 1; i < n; i++)
        ema[i] = keep * ema[i - 1] + (1.0 - keep) * x[i];
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    int rows, i;
    int *count;
    long *offset, total, check;
    double *x, *ema, mean;

    if (scale < 1)
        scale = 1;
    rows = 300000 * scale;
    count = malloc((size_t) rows * sizeof *count);
    offset = malloc((size_t) rows * sizeof *offset);
    x = malloc((size_t) rows * sizeof *x);
    ema = malloc((size_t) rows * sizeof *ema);
    if (!count || !offset || !x || !ema)
        return 1;

    for (i = 0; i < rows; i++) {
        count[i] = (int) ((i * 7919L) % 13);
        x[i] = (double) ((i * 31L) % 101) - 50.0;
    }
    row_offsets(rows, count, offset, &total);
    smooth(rows, 0.95, x, ema);

    check = 0;
    mean = 0.0;
    for (i = 0; i < rows; i++) {
        check += offset[i] % 1000;
        mean += ema[i];
    }
    printf("entries %ld  last offset %ld  check %ld\n", total, offset[rows - 1], check);
    printf("ema end %.12e  mean %.12e\n", ema[rows - 1], mean / rows);
    free(count);
    free(offset);
    free(x);
    free(ema);
    return 0;
}
