/* cg_stride_walk.c: the measured code of cg_stride, alone in its file so
 * that the callgrind reader can split its cost from the rest (the tests
 * pass this file name as the "allocator" marker). */
#include <stddef.h>

long cg_walk(const volatile char *a, size_t n, size_t stride, int passes) {
  long s = 0;
  for (int p = 0; p < passes; p++)
    for (size_t i = 0; i < n; i += stride) s += a[i];
  return s;
}
