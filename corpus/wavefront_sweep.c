/* Dynamic-programming tables filled row by row: an alignment score (each
 * cell from its upper-left, upper and left neighbours) and a smear whose
 * cells also read the upper-right neighbour. */
#include <stdio.h>
#include <stdlib.h>

#define M 600

static int score[M + 1][M + 1];
static int skew[M + 1][M + 1];
static char a[M], b[M];

static void align(int n)
{
    int i, j;

    for (i = 1; i <= n; i++)
        for (j = 1; j <= n; j++) {
            int diag = score[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 2 : -1);
            int up = score[i - 1][j] - 1;
            int left = score[i][j - 1] - 1;
            int best = diag > up ? diag : up;
            score[i][j] = best > left ? best : left;
        }
}

static void smear(int n)
{
    int i, j;

    for (i = 1; i < n; i++)
        for (j = 1; j < n - 1; j++)
            skew[i][j] = (skew[i - 1][j + 1] + skew[i][j - 1]) % 1000 + 1;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    int i, s;

    if (scale < 1)
        scale = 1;
    for (i = 0; i <= M; i++) {
        if (i < M) {
            a[i] = "ACGT"[(i * 7 + 3) % 4];
            b[i] = "ACGT"[(i * i + 1) % 4];
        }
        score[0][i] = -i;
        score[i][0] = -i;
        skew[0][i] = i % 7;
    }
    for (s = 0; s < scale; s++) {
        align(M);
        smear(M);
    }
    printf("score %d %d %d\n", score[M][M], score[M / 2][M / 3], score[M][1]);
    printf("skew %d %d\n", skew[M - 1][M - 2], skew[M / 2][M / 2]);
    return 0;
}
