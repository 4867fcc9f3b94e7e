/* Count the words of several lines in mergeable tasks that all add into
 * one shared counter with an atomic update. */
#include <stdio.h>
#include <string.h>

static const char *lines[] = {
    "the quick brown fox", "jumps over", "the lazy dog", "and runs away",
    "into the woods", "where nobody", "can find it", "again",
};

static int words_in(const char *s)
{
    int n = 0, in_word = 0;
    size_t k;
    for (k = 0; k < strlen(s); k++) {
        if (s[k] != ' ' && !in_word)
            n++;
        in_word = s[k] != ' ';
    }
    return n;
}

int main(void)
{
    int words = 0;
    int k;

#pragma omp parallel
#pragma omp single
    {
        for (k = 0; k < 8; k++) {
#pragma omp task mergeable firstprivate(k) shared(words)
#pragma omp atomic
            words += words_in(lines[k]);
        }
#pragma omp taskwait
    }
    printf("words %d\n", words);
    return 0;
}
