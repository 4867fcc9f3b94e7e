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
