/* 3x3 box blur of an 8-bit greyscale image stored as rows of W pixels; the
 * 3x3 window loops are tiny integer reductions inside a parallel nest. */
#include <stdio.h>
#include <stdlib.h>

#define W 512

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int h = 384 * scale;
    unsigned char (*img)[W] = malloc((size_t)h * sizeof *img);
    unsigned char (*out)[W] = calloc((size_t)h, sizeof *out);
    if (!img || !out)
        return 1;

    for (long p = 0; p < (long)h * W; p++)
        img[p / W][p % W] = (unsigned char)((p * p + 7 * (p / W)) & 255);

    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < W - 1; x++) {
            int s = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    s += img[y + dy][x + dx];
            out[y][x] = (unsigned char)(s / 9);
        }

    long checksum = 0;
    for (long p = 0; p < (long)h * W; p++)
        checksum += (p % 7 + 1) * out[p / W][p % W];

    printf("out[1][1] = %d  out[h/2][W/2] = %d\n", out[1][1], out[h / 2][W / 2]);
    printf("checksum = %ld\n", checksum);
    free(img);
    free(out);
    return 0;
}
