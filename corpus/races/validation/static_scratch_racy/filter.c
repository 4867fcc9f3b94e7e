#include "filter.h"
#include "window.h"

double filter_point(const double *x, int n, int i)
{
    static double window[3];
    fill_window(window, x, n, i);
    return 0.25 * window[0] + 0.5 * window[1] + 0.25 * window[2];
}
