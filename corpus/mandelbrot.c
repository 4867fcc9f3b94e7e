/* Escape-time Mandelbrot set on a small grid: the pixel nest is parallel,
 * the per-pixel iteration is a while loop. */
#include <stdio.h>
#include <stdlib.h>

#define MAXIT 256

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int w = 160 * scale, h = 120 * scale;
    int *iters = malloc((size_t)w * h * sizeof *iters);
    if (!iters)
        return 1;

    for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++) {
            double cr = -2.2 + 3.2 * px / w;
            double ci = -1.2 + 2.4 * py / h;
            double zr = 0.0, zi = 0.0;
            int it = 0;
            while (it < MAXIT && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                it++;
            }
            iters[py * w + px] = it;
        }

    long total = 0, inside = 0;
    for (int p = 0; p < w * h; p++) {
        total += iters[p];
        inside += iters[p] == MAXIT;
    }

    printf("total iterations = %ld  inside = %ld\n", total, inside);
    printf("centre pixel = %d\n", iters[(h / 2) * w + w / 2]);
    free(iters);
    return 0;
}
