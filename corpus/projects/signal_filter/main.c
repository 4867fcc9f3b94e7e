/* Filter bank: FIR low-pass, smoothing, envelope and a resonant IIR. */
#include <stdio.h>
#include <stdlib.h>
#include "xalloc.h"
#include "filters.h"

int main(int argc, char **argv)
{
    double *x, *h, *lp, *sm, *env, *res;
    double last, energy;
    int scale, n, i, filled;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = NSIG * scale;

    XALLOC(x, n);
    XALLOC(h, NTAPS);
    XALLOC(lp, n);
    XALLOC(sm, n);
    XALLOC(env, n);
    XALLOC(res, n);

    make_signal(n, x);
    make_taps(NTAPS, h);
    fir(n, NTAPS, h, x, lp);
    filled = smooth5(n - NTAPS + 1, lp, sm);
    last = envelope(n, x, env);
    iir2(n - NTAPS + 1, 1.6, -0.8, sm, res);

    energy = 0.0;
    for (i = 0; i < n - NTAPS + 1; i++)
        energy += lp[i] * lp[i] + 1e-3 * env[i] + 1e-3 * res[i];
    printf("smoothed up to %d, last envelope %.13e\n", filled, last);
    printf("energy %.13e  sm[100] %.13e\n", energy, sm[100]);
    printf("iir end %.13e\n", res[n - NTAPS]);

    free(x);
    free(h);
    free(lp);
    free(sm);
    free(env);
    free(res);
    return 0;
}
