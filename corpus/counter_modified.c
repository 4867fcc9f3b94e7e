/* Scanning a character buffer: loops that change their own counter in the
 * body (escape handling, variable stride) and a plain counting loop. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 150000 * scale;
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return 1;

    for (int i = 0; i < n; i++) {
        int h = (int)(((unsigned int)i * 2654435761u) >> 24);
        buf[i] = (h < 12) ? '\\' : (h < 20) ? '\n' : (char)('a' + h % 26);
    }
    buf[n] = '\0';

    long plain = 0, escaped = 0;
    for (int i = 0; i < n; i++) {
        if (buf[i] == '\\' && i + 1 < n) {
            i++;
            escaped++;
            continue;
        }
        plain++;
    }

    long visited = 0, weight = 0;
    int step = 1;
    for (int i = 0; i < n; i += step) {
        step = 1 + (unsigned char)buf[i] % 3;
        visited++;
        weight += buf[i];
    }

    long lines = 0;
    for (int i = 0; i < n; i++)
        lines += buf[i] == '\n';

    printf("plain = %ld  escaped = %ld\n", plain, escaped);
    printf("visited = %ld  weight = %ld  lines = %ld\n", visited, weight, lines);
    free(buf);
    return 0;
}
