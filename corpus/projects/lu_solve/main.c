/* Solve A x = b by LU factorisation and report the residual. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "lu.h"

int main(int argc, char **argv)
{
    int scale, n, i;
    double *b, *x, *ax, *store, *copy;
    double res, xsum;

    scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    n = N * scale;

    store = NEW_ARRAY(double, (size_t) n * n);
    copy = NEW_ARRAY(double, (size_t) n * n);
    b = NEW_ARRAY(double, n);
    x = NEW_ARRAY(double, n);
    ax = NEW_ARRAY(double, n);
    {
        double (*A)[n] = (double (*)[n]) store;
        double (*A0)[n] = (double (*)[n]) copy;

        make_system(n, A, b);
        memcpy(copy, store, sizeof(double) * n * n);
        lu_factor(n, A);
        lu_solve(n, A, b, x);
        matvec(n, A0, x, ax);
    }

    res = 0.0;
    xsum = 0.0;
    for (i = 0; i < n; i++) {
        res = fmax(res, fabs(ax[i] - b[i]));
        xsum += x[i];
    }
    printf("n = %d  sum(x) = %.13e\n", n, xsum);
    printf("max residual below 1e-9: %s\n", res < 1e-9 ? "yes" : "no");
    printf("x[0] = %.13e  x[n-1] = %.13e\n", x[0], x[n - 1]);

    free(store);
    free(copy);
    free(b);
    free(x);
    free(ax);
    return 0;
}
