/* Greyscale image pipeline on VLA images: a synthetic picture, a 3x3 box
 * blur with clamped borders, a Sobel edge magnitude and a threshold count.
 * All integer arithmetic. */
#include <stdio.h>
#include <stdlib.h>

#ifndef WIDTH
#define WIDTH 640
#endif
#ifndef HEIGHT
#define HEIGHT 480
#endif

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static void synth(int h, int w, unsigned char img[h][w])
{
    int y, x;

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            img[y][x] = (unsigned char) ((x * x + 3 * y * y + ((x / 32 + y / 32) % 2) * 90) % 256);
}

static void blur3(int h, int w, unsigned char in[h][w], unsigned char out[h][w])
{
    int y, x, ym, yp, xm, xp, sum;

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            ym = clampi(y - 1, 0, h - 1);
            yp = clampi(y + 1, 0, h - 1);
            xm = clampi(x - 1, 0, w - 1);
            xp = clampi(x + 1, 0, w - 1);
            sum = in[ym][xm] + in[ym][x] + in[ym][xp]
                + in[y][xm] + in[y][x] + in[y][xp]
                + in[yp][xm] + in[yp][x] + in[yp][xp];
            out[y][x] = (unsigned char) (sum / 9);
        }
}

static long sobel_count(int h, int w, unsigned char img[h][w], int mag[h][w], int threshold)
{
    int y, x, gx, gy;
    long count;

    count = 0;
    for (y = 1; y < h - 1; y++)
        for (x = 1; x < w - 1; x++) {
            gx = img[y - 1][x + 1] + 2 * img[y][x + 1] + img[y + 1][x + 1]
               - img[y - 1][x - 1] - 2 * img[y][x - 1] - img[y + 1][x - 1];
            gy = img[y + 1][x - 1] + 2 * img[y + 1][x] + img[y + 1][x + 1]
               - img[y - 1][x - 1] - 2 * img[y - 1][x] - img[y - 1][x + 1];
            mag[y][x] = abs(gx) + abs(gy);
            if (mag[y][x] > threshold)
                count++;
        }
    return count;
}

int main(int argc, char **argv)
{
    int scale, h, w, pass;
    long edges;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    h = HEIGHT * scale;
    w = WIDTH;
    {
        unsigned char (*a)[w] = malloc(sizeof(unsigned char) * h * w);
        unsigned char (*b)[w] = malloc(sizeof(unsigned char) * h * w);
        int (*mag)[w] = calloc((size_t) h * w, sizeof(int));

        if (!a || !b || !mag) {
            fprintf(stderr, "out of memory\n");
            return 2;
        }
        synth(h, w, a);
        for (pass = 0; pass < 50; pass++) {
            blur3(h, w, a, b);
            blur3(h, w, b, a);
        }
        edges = sobel_count(h, w, a, mag, 12);
        printf("edge pixels: %ld\n", edges);
        printf("a[10][10] = %d  mag[h/2][w/2] = %d\n", a[10][10], mag[h / 2][w / 2]);
        free(a);
        free(b);
        free(mag);
    }
    return 0;
}
