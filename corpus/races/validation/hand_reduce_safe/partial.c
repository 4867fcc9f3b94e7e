#include "partial.h"

long combine(const long *partial, int count)
{
    long total = 0;
    for (int t = 0; t < count; t++)
        total += partial[t];
    return total;
}
