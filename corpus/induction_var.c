/* Index variables stepped by hand (k += 2, j--) and the same loops
 * rewritten with the index computed from the loop counter. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    int n = 100000 * scale;
    double *in = malloc((size_t)n * sizeof *in);
    double *out = malloc(2 * (size_t)n * sizeof *out);
    double *out2 = malloc(2 * (size_t)n * sizeof *out2);
    double *rev = malloc((size_t)n * sizeof *rev);
    double *rev2 = malloc((size_t)n * sizeof *rev2);
    if (!in || !out || !out2 || !rev || !rev2)
        return 1;

    for (int i = 0; i < n; i++)
        in[i] = (double)(i % 251) * 0.5;

    int k = 0;
    for (int i = 0; i < n; i++) {
        out[k] = in[i] * 0.5;
        out[k + 1] = in[i] * 1.5;
        k += 2;
    }

    for (int i = 0; i < n; i++) {
        out2[2 * i] = in[i] * 0.5;
        out2[2 * i + 1] = in[i] * 1.5;
    }

    int j = n - 1;
    for (int i = 0; i < n; i++) {
        rev[j] = in[i];
        j--;
    }

    for (int i = 0; i < n; i++)
        rev2[n - 1 - i] = in[i];

    long mismatches = 0;
    for (int i = 0; i < n; i++)
        mismatches += (out[2 * i] != out2[2 * i]) + (out[2 * i + 1] != out2[2 * i + 1]) +
                      (rev[i] != rev2[i]);

    printf("k = %d  j = %d\n", k, j);
    printf("out[1] = %.15g  rev[0] = %.15g  mismatches = %ld\n", out[1], rev[0], mismatches);
    free(in);
    free(out);
    free(out2);
    free(rev);
    free(rev2);
    return 0;
}
