/* cmd_bench.c: `testbed bench seed`: the six microbenchmarks of the
 * original article (one_alloc, one_alloc_fast, hundred_fifo, hundred_lifo,
 * realloc_inplace, realloc_copy), run side by side with glibc in one
 * process.
 *
 * Fairness: every allocator, glibc included, is called through its
 * tb_allocator_t table (the same indirect call for all); the designs are
 * the check level 0 copies; within each round every benchmark runs for
 * every allocator in turn (glibc first), so drift of the machine hits all
 * alike; the ratio to glibc is taken per round and its median over rounds
 * is reported, with the median ns per operation. Time is the thread's CPU
 * time (see now_ns).
 *
 * Operations (what ns_per_op divides by):
 *   one_alloc, one_alloc_fast   one malloc(1) + its free
 *   hundred_fifo, hundred_lifo  one malloc(1..99) + its free
 *   realloc_inplace             one realloc step (+8 bytes)
 *   realloc_copy                one realloc step plus the 1-byte malloc
 *                               between steps (and its free at the end)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tb_alloc.h"
#include "tb_cli.h"
#include "tb_lock.h"

#define BENCH_MAX_ENTRIES 32
#define BENCH_DEFAULT_ROUNDS 31
#define BENCH_MAX_ROUNDS 100000

typedef struct bench_entry_s {
  const tb_allocator_t *a;
  tb_heap_t *h;
  const char *mode; /* single, locked, system */
} bench_entry_t;

/* A benchmark: runs `reps` repetitions on heap h; returns operations done,
 * or -1 if the allocator failed. */
typedef long (*bench_fn_t)(const tb_allocator_t *a, tb_heap_t *h, long reps);

static long b_one_alloc(const tb_allocator_t *a, tb_heap_t *h, long reps) {
  for (long i = 0; i < reps; i++) {
    void *p = a->malloc(h, 1);
    if (!p) return -1;
    a->free(h, p);
  }
  return reps;
}

static long b_one_alloc_fast(const tb_allocator_t *a, tb_heap_t *h, long reps) {
  /* x then a held block above it; x freed: the loop's block is never next
   * to the top. */
  void *x = a->malloc(h, 1), *hold = a->malloc(h, 1);
  if (!x || !hold) return -1;
  a->free(h, x);
  for (long i = 0; i < reps; i++) {
    void *p = a->malloc(h, 1);
    if (!p) return -1;
    a->free(h, p);
  }
  a->free(h, hold);
  return reps;
}

static long b_hundred(const tb_allocator_t *a, tb_heap_t *h, long reps, bool lifo) {
  void *p[100];
  for (long i = 0; i < reps; i++) {
    for (size_t k = 1; k < 100; k++)
      if (!(p[k] = a->malloc(h, k))) return -1;
    if (lifo)
      for (size_t k = 99; k >= 1; k--) a->free(h, p[k]);
    else
      for (size_t k = 1; k < 100; k++) a->free(h, p[k]);
  }
  return reps * 99;
}
static long b_hundred_fifo(const tb_allocator_t *a, tb_heap_t *h, long reps) { return b_hundred(a, h, reps, false); }
static long b_hundred_lifo(const tb_allocator_t *a, tb_heap_t *h, long reps) { return b_hundred(a, h, reps, true); }

static long b_realloc(const tb_allocator_t *a, tb_heap_t *h, long reps, bool between) {
  void *q[101];
  for (long i = 0; i < reps; i++) {
    void *p = a->malloc(h, 1);
    if (!p) return -1;
    for (size_t k = 1; k <= 100; k++) {
      if (between && !(q[k] = a->malloc(h, 1))) return -1;
      void *r = a->realloc(h, p, 1 + 8 * k);
      if (!r) return -1;
      p = r;
    }
    a->free(h, p);
    if (between)
      for (size_t k = 1; k <= 100; k++) a->free(h, q[k]);
  }
  return reps * 100;
}
static long b_realloc_inplace(const tb_allocator_t *a, tb_heap_t *h, long reps) { return b_realloc(a, h, reps, false); }
static long b_realloc_copy(const tb_allocator_t *a, tb_heap_t *h, long reps) { return b_realloc(a, h, reps, true); }

static const struct {
  const char *name;
  bench_fn_t fn;
  long reps; /* per measurement: about 100k-200k operations */
} benches[] = {
    {"one_alloc", b_one_alloc, 200000},
    {"one_alloc_fast", b_one_alloc_fast, 200000},
    {"hundred_fifo", b_hundred_fifo, 2000},
    {"hundred_lifo", b_hundred_lifo, 2000},
    {"realloc_inplace", b_realloc_inplace, 1000},
    {"realloc_copy", b_realloc_copy, 1000},
};
#define NBENCH (sizeof benches / sizeof benches[0])

/* The CPU time of this thread, not wall time: on a shared machine another
 * process that takes the CPU during a measurement would otherwise be
 * counted, and because every round runs the same sequence of measurements
 * with the same durations, the interruptions can lock into phase with it
 * and hit the same allocator in every round (seen: one allocator 3x slower
 * in all 31 rounds of one run and not in the next), which no median
 * removes. The clock is read twice per measurement of 100k+ operations. */
static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed bench seed [--allocators LIST] [--rounds N] [--lock-always] [--csv]\n\n"
          "Runs the six microbenchmarks (one_alloc, one_alloc_fast, hundred_fifo,\n"
          "hundred_lifo, realloc_inplace, realloc_copy) for glibc and each allocator,\n"
          "interleaved within each round, and prints the median ns per operation and\n"
          "the median over rounds of the per-round ratio to glibc. Designs run at check\n"
          "level 0 in modes single and locked; glibc's mode is system.\n\n"
          "  --allocators LIST  comma-separated names (default: every design); glibc is\n"
          "                     always measured, as the baseline\n"
          "  --rounds N         rounds (default %d)\n"
          "  --lock-always      locked mode takes its lock even while the process is\n"
          "                     single-threaded (default: skipped then, as glibc does)\n"
          "  --csv              print benchmark,allocator,mode,ns_per_op,ratio_vs_glibc\n",
          BENCH_DEFAULT_ROUNDS);
}

static int add_entries(bench_entry_t *e, size_t *n, const tb_allocator_t *a) {
  for (size_t i = 0; i < *n; i++)
    if (e[i].a == a) return 0; /* named twice */
  if (!(a->caps & TB_CAP_FREE)) return tb_cli_usage_error("bench", "allocator '%s' never frees; it cannot run these benchmarks", a->name);
  int modes = a->check_level >= 0 ? 2 : 1;
  if (*n + (size_t)modes > BENCH_MAX_ENTRIES) return tb_cli_usage_error("bench", "too many allocators");
  for (int m = 0; m < modes; m++) {
    e[*n].a = a;
    e[*n].mode = a->check_level < 0 ? "system" : m == 0 ? "single" : "locked";
    (*n)++;
  }
  return 0;
}

static int bench_main(int argc, char **argv) {
  const char *list = NULL;
  unsigned long long rounds = BENCH_DEFAULT_ROUNDS;
  bool csv = false, lock_always = false;
  if (argc < 2) return tb_cli_usage_error("bench", "missing benchmark set (only 'seed' exists)");
  if (tb_cli_is_help(argv[1])) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "seed")) return tb_cli_usage_error("bench", "unknown benchmark set '%s' (only 'seed' exists)", argv[1]);
  for (int i = 2; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--csv")) {
      csv = true;
    } else if (!strcmp(argv[i], "--lock-always")) {
      lock_always = true;
    } else if (!strcmp(argv[i], "--allocators")) {
      if (++i >= argc) return tb_cli_usage_error("bench", "--allocators needs a list");
      list = argv[i];
    } else if (!strcmp(argv[i], "--rounds")) {
      if (++i >= argc) return tb_cli_usage_error("bench", "--rounds needs a number");
      if (!tb_cli_parse_u64(argv[i], &rounds) || rounds < 1 || rounds > BENCH_MAX_ROUNDS)
        return tb_cli_usage_error("bench", "--rounds must be a whole number from 1 to %d, got '%s'", BENCH_MAX_ROUNDS, argv[i]);
    } else {
      return tb_cli_usage_error("bench", "unknown option '%s'", argv[i]);
    }
  }

  if (lock_always) tb_lock_force_always(true);
  bench_entry_t e[BENCH_MAX_ENTRIES];
  size_t ne = 0;
  const tb_allocator_t *glibc = tb_allocator_find("glibc", 0);
  if (!glibc) {
    fprintf(stderr, "testbed bench: glibc is not registered in this build\n");
    return 1;
  }
  int rc = add_entries(e, &ne, glibc);
  if (rc) return rc;
  if (list) {
    char buf[512];
    if (strlen(list) >= sizeof buf) return tb_cli_usage_error("bench", "--allocators list too long");
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      const tb_allocator_t *a = tb_allocator_find(tok, 0);
      if (!a) return tb_cli_usage_error("bench", "unknown allocator '%s' (see testbed list)", tok);
      if ((rc = add_entries(e, &ne, a))) return rc;
    }
  } else {
    const tb_allocator_t *a;
    for (size_t i = 0; (a = tb_allocator_at(i, 0)) != NULL; i++)
      if (a->check_level >= 0 && (rc = add_entries(e, &ne, a))) return rc;
  }

  for (size_t i = 0; i < ne; i++) {
    tb_heap_opts_t o = {.mode = strcmp(e[i].mode, "locked") ? TB_MODE_SINGLE : TB_MODE_LOCKED};
    e[i].h = e[i].a->create(&o);
    if (!e[i].h) {
      fprintf(stderr, "testbed bench: cannot create a %s heap: %s\n", e[i].a->name, strerror(errno));
      for (size_t j = 0; j < i; j++) e[j].a->destroy(e[j].h);
      return 1;
    }
  }
  size_t nr = (size_t)rounds;
  double *ns = calloc(NBENCH * ne * nr, sizeof *ns); /* [bench][entry][round] */
  double *tmp = calloc(nr, sizeof *tmp);
  int status = 0;
  if (!ns || !tmp) {
    fprintf(stderr, "testbed bench: out of memory\n");
    status = 1;
    goto out;
  }
  /* One warm-up round (not recorded), then the measured rounds. */
  for (size_t r = 0; r <= nr && !status; r++)
    for (size_t b = 0; b < NBENCH && !status; b++)
      for (size_t i = 0; i < ne; i++) {
        long reps = r == 0 ? benches[b].reps / 10 : benches[b].reps;
        double t0 = now_ns();
        long ops = benches[b].fn(e[i].a, e[i].h, reps);
        double t1 = now_ns();
        if (ops < 0) {
          fprintf(stderr, "testbed bench: %s (%s) failed to allocate in %s\n", e[i].a->name, e[i].mode, benches[b].name);
          status = 1;
          break;
        }
        if (r > 0) ns[(b * ne + i) * nr + (r - 1)] = (t1 - t0) / (double)ops;
      }
  if (status) goto out;

  if (csv)
    printf("benchmark,allocator,mode,ns_per_op,ratio_vs_glibc\n");
  else
    printf("testbed bench seed: %zu rounds, designs at check level 0, statistics %s, locked mode %s; "
           "ratio = median over rounds of (ns / glibc ns in the same round)\n\n"
           "%-16s %-8s %-7s %9s %8s  %s\n",
           nr, tb_stats_enabled() ? "on" : "off", lock_always ? "always locks" : "skips the lock while single-threaded",
           "benchmark", "allocator", "mode", "ns/op", "ratio", "ratio min..max");
  for (size_t b = 0; b < NBENCH; b++)
    for (size_t i = 0; i < ne; i++) {
      const double *v = &ns[(b * ne + i) * nr], *g = &ns[(b * ne + 0) * nr];
      for (size_t r = 0; r < nr; r++) tmp[r] = v[r] / g[r];
      double rmin = tmp[0], rmax = tmp[0];
      for (size_t r = 1; r < nr; r++) {
        if (tmp[r] < rmin) rmin = tmp[r];
        if (tmp[r] > rmax) rmax = tmp[r];
      }
      double ratio = median(tmp, nr);
      memcpy(tmp, v, nr * sizeof *tmp);
      double med = median(tmp, nr);
      if (csv)
        printf("%s,%s,%s,%.3f,%.4f\n", benches[b].name, e[i].a->name, e[i].mode, med, ratio);
      else
        printf("%-16s %-8s %-7s %9.2f %8.3f  %.3f..%.3f\n", benches[b].name, e[i].a->name, e[i].mode, med, ratio, rmin, rmax);
    }
out:
  free(ns);
  free(tmp);
  for (size_t i = 0; i < ne; i++) e[i].a->destroy(e[i].h);
  return status;
}

const tb_command_t tb_cmd_bench = {"bench", "microbenchmarks side by side with glibc (bench seed)", bench_main};
