#ifndef PARTIAL_H
#define PARTIAL_H

long combine(const long *partial, int count);

#endif
