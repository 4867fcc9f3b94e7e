/* Sequence pipeline: a wave, a shifted copy, the same array shifted onto
 * itself (dst = v + 1, src = v: each element depends on the previous), a
 * prefix sum and a recurrence. */
#include <stdio.h>
#include <stdlib.h>
#include "arena.h"
#include "seq.h"

int main(int argc, char **argv)
{
    double *v, *w, *ps, *x;
    int scale, n;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = LEN * scale;

    v = arena_doubles(n);
    w = arena_doubles(n);
    ps = arena_doubles(n);
    x = arena_doubles(n);

    fill_wave(n, v);
    shift_add(n, w, v, 0.25);
    shift_add(n - 1, v + 1, v, 1e-6);
    prefix_sum(n, w, ps);
    recurrence(n, 0.999, v, x);

    printf("w: %.13e\n", weighted_sum(n, w));
    printf("v after in-place shift: %.13e  v[n-1] = %.13e\n", weighted_sum(n, v), v[n - 1]);
    printf("prefix end %.13e  recurrence end %.13e  sum %.13e\n", ps[n - 1], x[n - 1], weighted_sum(n, x));

    free(v);
    free(w);
    free(ps);
    free(x);
    return 0;
}
