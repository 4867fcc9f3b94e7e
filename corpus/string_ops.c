/* Character-buffer loops: upper-casing and counting are parallel; strlen
 * as a while loop and a search with break are not. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 200000 * scale;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return 1;

    for (int i = 0; i < n; i++) {
        unsigned int h = (unsigned int)i * 2654435761u;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        s[i] = (i % 9 == 8) ? ' ' : (char)('a' + h % 26);
    }
    s[n] = '\0';

    long vowels = 0;
    for (int i = 0; i < n; i++) {
        char c = s[i];
        vowels += c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
    }

    for (int i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] = (char)(s[i] - 'a' + 'A');

    long words = 0;
    for (int i = 0; i < n; i++)
        words += s[i] != ' ' && (i == 0 || s[i - 1] == ' ');

    size_t len = 0;
    while (s[len] != '\0')
        len++;

    int pos = -1;
    for (int i = 0; i < n; i++) {
        if (s[i] == 'O' && s[i + 1] == 'M' && s[i + 2] == 'P') {
            pos = i;
            break;
        }
    }

    printf("len = %zu  vowels = %ld  words = %ld\n", len, vowels, words);
    printf("first \"OMP\" at %d  s[0..7] = %.8s\n", pos, s);
    free(s);
    return 0;
}
