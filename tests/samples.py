"""C sources several test modules share."""

# Two parallel loops (a do-all and a + reduction) and a serial recurrence.
GOOD_C = """\
#include <stdlib.h>

void scale(double *restrict a, const double *restrict b, int n) {
    for (int i = 0; i < n; i++)
        a[i] = 2.0 * b[i] + 1.0;
}

double total(const double *a, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += a[i];
    return s;
}

void running(double *a, int n) {
    for (int i = 1; i < n; i++)
        a[i] = a[i-1] + 1;
}
"""
GOOD_DOALL_LINE, GOOD_REDUCTION_LINE, GOOD_SERIAL_LINE = 4, 10, 16


def durbin_program(size: int, print_result: str) -> bytes:
    """The Levinson-Durbin recursion on global arrays of SIZE: a serial k loop
    around a + reduction, a mirrored-pair update and a copy back (a region is
    hoisted above the k loop); `print_result` is main's last statement before
    `return 0;`, which prints y."""
    return b"""#include <stdio.h>
#define N %d
static double r[N], y[N], z[N];
static void durbin(int n)
{
    int i, k;
    double alpha, beta, sum;
    y[0] = -r[0];
    beta = 1.0;
    alpha = -r[0];
    for (k = 1; k < n; k++) {
        beta = (1.0 - alpha * alpha) * beta;
        sum = 0.0;
        for (i = 0; i < k; i++)
            sum += r[k - i - 1] * y[i];
        alpha = -(r[k] + sum) / beta;
        for (i = 0; i < k; i++)
            z[i] = y[i] + alpha * y[k - i - 1];
        for (i = 0; i < k; i++)
            y[i] = z[i];
        y[k] = alpha;
    }
}
int main(void)
{
    int i;
    for (i = 0; i < N; i++)
        r[i] = 1.0 / (i + 2);
    durbin(N);
%s
    return 0;
}
""" % (size, print_result.encode())
