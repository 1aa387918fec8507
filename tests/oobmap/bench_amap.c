/* bench_amap.c: the address map of oob-map (allocators/oob-map/amap.h)
 * against the alternatives it was chosen over, side by side in one
 * process:
 *
 *   flat    amap.h: one 32-bit entry per 16-byte granule, one load
 *   radix   a two-level table: a root of leaf pointers, one per 4 KiB of
 *           region, leaves of 256 entries made on first use (two loads)
 *   hash    open addressing, linear probing, 8-byte slots (granule + 1,
 *           record), load <= 1/2, deletion by backward shift
 *   sorted  a sorted array of (granule, record), binary search, insertion
 *           and removal by memmove (only up to 100k blocks: O(n) each)
 *
 * A simulated heap: n blocks of 16..128 bytes (uniform in granules) laid
 * end to end, every start in every structure. One op = what free + malloc
 * of a block do to the map: look the block up (it must give its record),
 * remove it, insert it again. Two orders: `random` (blocks picked at
 * random) and `address` (blocks in address order, as frees of a list built
 * in order). The structures run in turn, round after round (interleaved),
 * on the same picks; each row is the median over the rounds of ns per op
 * (thread CPU time), and bytes of structure per block.
 *
 *   bench_amap [--blocks N,...] [--rounds R] [--ops M]
 *
 * Output is CSV: order,blocks,structure,ns_per_op,bytes_per_block. Every
 * lookup is checked against the truth; a wrong answer exits 1, so the run
 * in ctest (tiny sizes) tests the alternatives too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amap.h"

static uint64_t rs = 0x5eed0fa11ull;
static uint64_t rnd(void) {
  uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *xcalloc(size_t n, size_t s) {
  void *p = calloc(n, s);
  if (!p) {
    fprintf(stderr, "bench_amap: out of memory\n");
    exit(2);
  }
  return p;
}

/* ---- the alternatives ------------------------------------------------------- */

static amap_t flat; /* the real module */

#define RLB 8 /* 256 entries per leaf: 4 KiB of region */
static uint32_t **root, *zero_leaf, *leaves;
static size_t nleaves, nroot;
static inline uint32_t radix_get(uint64_t g) { return root[g >> RLB][g & ((1u << RLB) - 1)]; }
static inline void radix_set(uint64_t g, uint32_t v) {
  uint32_t *l = root[g >> RLB];
  if (l == zero_leaf) l = root[g >> RLB] = leaves + (nleaves++ << RLB);
  l[g & ((1u << RLB) - 1)] = v;
}

static uint64_t *ht;
static size_t hcap;
static inline size_t hhome(uint64_t key) { return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (hcap - 1); }
static inline size_t hslot(uint64_t key) {
  size_t i = hhome(key);
  while (ht[i] && (ht[i] >> 32) != key) i = (i + 1) & (hcap - 1);
  return i;
}
static inline uint32_t hash_get(uint64_t g) { return (uint32_t)ht[hslot(g + 1)]; }
static inline void hash_set(uint64_t g, uint32_t v) {
  size_t i = hslot(g + 1), j = i;
  if (v) {
    ht[i] = (g + 1) << 32 | v;
    return;
  }
  for (;;) {
    j = (j + 1) & (hcap - 1);
    if (!ht[j]) break;
    size_t h = hhome(ht[j] >> 32);
    if (!(i <= j ? (i < h && h <= j) : (i < h || h <= j))) {
      ht[i] = ht[j];
      i = j;
    }
  }
  ht[i] = 0;
}

static uint64_t *sa;
static size_t sn;
static inline size_t sa_find(uint64_t g) {
  size_t lo = 0, hi = sn;
  while (lo < hi) {
    size_t m = (lo + hi) / 2;
    if ((sa[m] >> 32) < g) lo = m + 1; else hi = m;
  }
  return lo;
}
static inline uint32_t sorted_get(uint64_t g) {
  size_t k = sa_find(g);
  return k < sn && (sa[k] >> 32) == g ? (uint32_t)sa[k] : 0;
}
static inline void sorted_set(uint64_t g, uint32_t v) {
  size_t k = sa_find(g);
  if (v) {
    memmove(sa + k + 1, sa + k, (sn - k) * sizeof *sa);
    sa[k] = g << 32 | v;
    sn++;
  } else {
    memmove(sa + k, sa + k + 1, (sn - k - 1) * sizeof *sa);
    sn--;
  }
}

static inline uint32_t flat_get(uint64_t g) { return amap_get(&flat, g << AMAP_GRANULE_SHIFT); }
static inline void flat_set(uint64_t g, uint32_t v) { amap_set(&flat, g << AMAP_GRANULE_SHIFT, v); }

enum { FLAT, RADIX, HASH, SORTED, NSTRUCT };
static const char *const names[NSTRUCT] = {"flat", "radix", "hash", "sorted"};

/* One pass of M ops over picks; returns the number of wrong lookups. */
#define PASS(GET, SET)                               \
  for (long k = 0; k < M; k++) {                     \
    uint32_t b = pick[k];                            \
    uint64_t g = gran[b];                            \
    uint32_t v = GET(g);                             \
    bad += v != b + 1;                               \
    SET(g, 0);                                       \
    SET(g, v);                                       \
  }

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int run(size_t n, int rounds, long M, bool address_order) {
  uint64_t *gran = xcalloc(n, sizeof *gran);
  uint64_t G = 1;
  for (size_t i = 0; i < n; i++) {
    gran[i] = G;
    G += 1 + rnd() % 8;
  }
  if (amap_init(&flat, (size_t)G << AMAP_GRANULE_SHIFT, (size_t)G << AMAP_GRANULE_SHIFT, NULL)) {
    fprintf(stderr, "bench_amap: amap_init failed\n");
    return 2;
  }
  nroot = (size_t)(G >> RLB) + 1;
  root = xcalloc(nroot, sizeof *root);
  zero_leaf = xcalloc((size_t)1 << RLB, sizeof *zero_leaf);
  leaves = xcalloc(nroot << RLB, sizeof *leaves);
  nleaves = 0;
  for (size_t i = 0; i < nroot; i++) root[i] = zero_leaf;
  for (hcap = 1; hcap < 2 * n; hcap <<= 1) {}
  ht = xcalloc(hcap, sizeof *ht);
  bool with_sorted = n <= 100000;
  sa = xcalloc(n + 1, sizeof *sa);
  sn = 0;
  for (size_t i = 0; i < n; i++) {
    flat_set(gran[i], (uint32_t)i + 1);
    radix_set(gran[i], (uint32_t)i + 1);
    hash_set(gran[i], (uint32_t)i + 1);
    sa[sn++] = gran[i] << 32 | (i + 1);
  }
  uint32_t *pick = xcalloc((size_t)M, sizeof *pick);
  for (long k = 0; k < M; k++) pick[k] = address_order ? (uint32_t)(k % (long)n) : (uint32_t)(rnd() % n);
  double *t = xcalloc((size_t)rounds * NSTRUCT, sizeof *t);
  long bad = 0;
  for (int r = 0; r < rounds; r++) {
    for (int s = 0; s < NSTRUCT; s++) {
      double t0 = cpu_ns();
      switch (s) {
      case FLAT: PASS(flat_get, flat_set) break;
      case RADIX: PASS(radix_get, radix_set) break;
      case HASH: PASS(hash_get, hash_set) break;
      case SORTED:
        if (with_sorted) PASS(sorted_get, sorted_set)
        break;
      }
      t[s * rounds + r] = (cpu_ns() - t0) / (double)M;
    }
  }
  double bytes[NSTRUCT] = {
      (double)G * AMAP_ENTRY,                                           /* a table for every granule */
      (double)nleaves * ((size_t)1 << RLB) * 4 + (double)nroot * sizeof *root, /* leaves made + root */
      (double)hcap * sizeof *ht, (double)n * sizeof *sa};
  for (int s = 0; s < NSTRUCT; s++) {
    if (s == SORTED && !with_sorted) continue;
    qsort(t + s * rounds, (size_t)rounds, sizeof *t, cmp_d);
    printf("%s,%zu,%s,%.2f,%.1f\n", address_order ? "address" : "random", n, names[s], t[s * rounds + rounds / 2],
           bytes[s] / (double)n);
  }
  amap_destroy(&flat);
  free(gran), free(root), free(zero_leaf), free(leaves), free(ht), free(sa), free(pick), free(t);
  if (bad) {
    fprintf(stderr, "bench_amap: %ld wrong lookups with %zu blocks\n", bad, n);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *blocks = "1000,100000,2000000";
  int rounds = 7;
  long M = 1000000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--blocks") && i + 1 < argc) blocks = argv[++i];
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--ops") && i + 1 < argc) M = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_amap [--blocks N,...] [--rounds R] [--ops M]\n");
      return 2;
    }
  }
  if (rounds < 1 || M < 1) {
    fprintf(stderr, "bench_amap: --rounds and --ops must be positive\n");
    return 2;
  }
  printf("order,blocks,structure,ns_per_op,bytes_per_block\n");
  int rc = 0;
  for (int o = 0; o < 2; o++) {
    for (const char *p = blocks; *p;) {
      char *end;
      unsigned long long n = strtoull(p, &end, 10);
      if (end == p || n < 1 || n > 100000000ull) {
        fprintf(stderr, "bench_amap: bad --blocks list '%s'\n", blocks);
        return 2;
      }
      int r = run((size_t)n, rounds, M, o == 1);
      if (r) rc = r;
      p = *end == ',' ? end + 1 : end;
    }
  }
  return rc;
}
