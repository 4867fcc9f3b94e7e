/* ompilot's stand-in for <omp.h>, used only by the analysis parse.
 *
 * That parse runs without -fopenmp (see frontend.py) but defines _OPENMP, so
 * code reads as in a parallel build.  Clang's omp.h then defines
 * omp_is_initial_device twice inside `begin declare variant` blocks, which
 * only -fopenmp can tell apart: "static declaration follows non-static
 * declaration".  Those blocks are guarded by _OPENMP >= 201811, so the real
 * header is included with _OPENMP lowered below that, and restored after. */
#pragma push_macro("_OPENMP")
#undef _OPENMP
#define _OPENMP 201511
#include_next <omp.h>
#pragma pop_macro("_OPENMP")
