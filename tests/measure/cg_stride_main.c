/* cg_stride_main.c: a small known program for the cachegrind tests.
 *   cg_stride walk BYTES PASSES  - read one byte per 64-byte line of a
 *       line-aligned array of BYTES, PASSES times, inside the callgrind
 *       window, after writing it all before the window: with an LRU D1
 *       smaller than the array every read misses (BYTES/64 misses per
 *       pass); with a D1 that holds it, and in an LL that holds it, no
 *       read misses (the simulated caches are warm).
 *   cg_stride mix N - N malloc/free of varying sizes with touches inside
 *       the window (for the determinism test).
 * Costs are collected only in the window (run with --collect-atstart=no;
 * the simulation runs all along). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

long cg_walk(const volatile char *a, size_t n, size_t stride, int passes);

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "walk") == 0) {
    size_t n = strtoul(argv[2], NULL, 10);
    int passes = atoi(argv[3]);
    char *a = aligned_alloc(4096, n);
    if (!a) return 1;
    memset(a, 1, n);
    CALLGRIND_TOGGLE_COLLECT;
    long s = cg_walk(a, n, 64, passes);
    CALLGRIND_TOGGLE_COLLECT;
    free(a);
    return s == (long)(n / 64) * passes ? 0 : 2;
  }
  if (argc == 3 && strcmp(argv[1], "mix") == 0) {
    int n = atoi(argv[2]);
    void *slot[64] = {0};
    unsigned x = 12345;
    CALLGRIND_TOGGLE_COLLECT;
    for (int i = 0; i < n; i++) {
      x = x * 1103515245u + 12345u;
      unsigned k = (x >> 8) % 64;
      free(slot[k]);
      size_t sz = 16 + (x >> 16) % 2000;
      slot[k] = malloc(sz);
      if (slot[k]) memset(slot[k], (int)k, sz);
    }
    CALLGRIND_TOGGLE_COLLECT;
    for (int k = 0; k < 64; k++) free(slot[k]);
    return 0;
  }
  fprintf(stderr, "usage: cg_stride walk BYTES PASSES | cg_stride mix N\n");
  return 2;
}
