/* A 2-D search that leaves the nest with goto, and a loop whose body uses
 * a backward goto that stays inside the iteration. */
#include <stdio.h>
#include <stdlib.h>

#define ROWS 300
#define COLS 400

static int grid[ROWS][COLS];
static int folded[ROWS * COLS];

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int target = 1000 + 37 * (scale % 64);

    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++)
            grid[i][j] = (i * 131 + j * 71) % 4099;

    int fi = -1, fj = -1;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++)
            if (grid[i][j] == target) {
                fi = i;
                fj = j;
                goto found;
            }
found:
    printf("target %d at (%d, %d)\n", target, fi, fj);

    for (int p = 0; p < ROWS * COLS; p++) {
        int v = grid[p / COLS][p % COLS];
    again:
        if (v >= 100) {
            v = v / 3 + 1;
            goto again;
        }
        folded[p] = v;
    }

    printf("folded[0] = %d  folded[12345] = %d  folded[last] = %d\n",
           folded[0], folded[12345], folded[ROWS * COLS - 1]);
    return 0;
}
