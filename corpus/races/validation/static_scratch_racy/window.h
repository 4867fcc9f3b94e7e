#ifndef WINDOW_H
#define WINDOW_H

void fill_window(double *window, const double *x, int n, int i);

#endif
