#include "window.h"

void fill_window(double *window, const double *x, int n, int i)
{
    window[0] = i > 0 ? x[i - 1] : x[i];
    window[1] = x[i];
    window[2] = i < n - 1 ? x[i + 1] : x[i];
}
