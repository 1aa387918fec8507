/* test_placement.c: where the designs put every block, on real and
 * generated workloads.
 *
 * Each workload (the corpus traces workloads/traces/NAME.tbt.zst and every
 * generator at a small size) is replayed at check level 0 on one heap per
 * design, on an mmap space of its own, ops in the trace's global order
 * (threads interleaved as recorded, one heap in single mode), touches
 * skipped. A replay is summed up by a placement fingerprint: the number of
 * blocks handed out and an FNV-1a hash over the offset of every block from
 * its space's base (large blocks, which come straight from the system,
 * count as one marker: only blocks in the space have a placement), and by
 * the counters and gauges that describe the decisions (splits, merges, bin
 * steps, reallocs in place, growth; live, free and top bytes at the end).
 *
 * Two claims are tested:
 *   1. Behaviour is unchanged: the fingerprint of every design and workload
 *      equals the one recorded in the golden file (tests/oob/placement.golden,
 *      made from the code before the decision procedures were shared,
 *      allocators/common/tb_decide.h). `test_placement --write GOLDEN DIR`
 *      rewrites it; do that only for a deliberate policy change, and say so.
 *   2. oob-m32 places every block exactly where inline does: identical
 *      fingerprints and identical decision counters on every workload.
 *
 * Usage: test_placement GOLDEN TRACEDIR   (exit 0: all hold)
 * Without zstd support the corpus traces cannot be read; they are then
 * skipped (said on stderr) and only the generators are compared.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "tb_alloc.h"
#include "trace.h"

/* The generated workloads: every generator, sized so that the whole test
 * takes seconds at level 0. */
static const char *const GENS[] = {
    "one_alloc:n=20000",
    "one_alloc_fast:n=20000",
    "hundred_fifo:n=1000",
    "hundred_lifo:n=1000",
    "realloc_inplace:n=500",
    "realloc_copy:n=500",
    "mix:ops=50000:dist=uniform:life=random",
    "mix:ops=50000:dist=pow2:life=lifo:max=65536",
    "mix:ops=50000:dist=pareto:life=fifo:max=65536:seed=7",
    "list:nodes=5000:passes=1",
    "tree:nodes=5000:passes=1",
    "larson:rounds=3",
    "xmalloc:rounds=20",
    "cache_scratch:rounds=2",
    "cache_thrash:rounds=2",
    NULL,
};
static const char *const CORPUS[] = {"gcc", "perl", "python3", "sqlite3", NULL};
/* Designs with a golden fingerprint (those that existed when it was made). */
static const char *const GOLDEN_DESIGNS[] = {"inline", "oob", "oob-array", NULL};

/* The decision counters and end gauges a fingerprint holds, in file order. */
#define FP_FIELDS(X)                                                                                   \
  X(mallocs) X(frees) X(reallocs) X(realloc_inplace) X(splits) X(merges) X(bin_steps) X(grows) X(live_blocks) \
  X(free_blocks) X(free_bytes) X(top_bytes) X(largest_free) X(large_blocks)

typedef struct {
  uint64_t blocks, hash;
#define FP_MEMBER(f) uint64_t f;
  FP_FIELDS(FP_MEMBER)
#undef FP_MEMBER
} fp_t;

static void fp_mix(uint64_t *h, uint64_t v) {
  for (int k = 0; k < 8; k++) {
    *h ^= (v >> (8 * k)) & 0xff;
    *h *= 0x100000001b3ull;
  }
}

#define LARGE_MARK ((uint64_t)1 << 63)
#define NULL_MARK (~(uint64_t)0)

static uint64_t place(const space_t *sp, const void *p) {
  if (!p) return NULL_MARK;
  const uint8_t *c = p;
  if (c >= sp->base && c < sp->base + sp->reserved) return (uint64_t)(c - sp->base);
  return LARGE_MARK;
}

/* Replay trace t on a fresh heap of allocator a; false with a message. */
static bool replay(const tb_allocator_t *a, const tb_trace_t *t, fp_t *fp, char *err, size_t errlen) {
  memset(fp, 0, sizeof *fp);
  fp->hash = 0xcbf29ce484222325ull;
  space_t sp;
  int rc = space_init_mmap(&sp, NULL);
  if (rc) {
    snprintf(err, errlen, "space_init_mmap: %s", strerror(rc));
    return false;
  }
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &sp};
  tb_heap_t *h = a->create(&o);
  void **ptr = calloc(t->nobjects ? t->nobjects : 1, sizeof *ptr);
  size_t *at = calloc(t->nthreads ? t->nthreads : 1, sizeof *at);
  bool ok = h && ptr && at;
  if (!ok) snprintf(err, errlen, "cannot create the heap or the replay tables");
  for (size_t r = 0; ok && r < t->nruns; r++) {
    uint32_t th = t->run_thread[r];
    for (uint32_t c = 0; ok && c < t->run_count[r];) {
      const tb_op_t *op = &t->ops[th][at[th]++];
      if (op->code == TB_OP_SYNC) continue;
      c++;
      void *q = NULL;
      bool made = true;
      switch (op->code) {
      case TB_OP_MALLOC: q = a->malloc(h, op->arg); break;
      case TB_OP_CALLOC: q = a->calloc(h, 1, op->arg); break;
      case TB_OP_ALIGNED: q = a->aligned_alloc(h, (size_t)1 << op->align, op->arg); break;
      case TB_OP_REALLOC:
        q = a->realloc(h, ptr[op->id], op->arg);
        if (!q && op->arg == 0) { /* realloc(p, 0) freed it */
          ptr[op->id] = NULL;
          made = false;
        }
        break;
      case TB_OP_FREE:
        a->free(h, ptr[op->id]);
        ptr[op->id] = NULL;
        made = false;
        break;
      default: made = false; break; /* touches: no decision */
      }
      if (!made) continue;
      if (!q) {
        snprintf(err, errlen, "op %llu (code %u, size %llu) failed", (unsigned long long)fp->blocks, op->code,
                 (unsigned long long)op->arg);
        ok = false;
        break;
      }
      ptr[op->id] = q;
      fp->blocks++;
      fp_mix(&fp->hash, place(&sp, q));
    }
  }
  if (ok) {
    char why[256] = "";
    if (!a->check(h, why, sizeof why)) {
      snprintf(err, errlen, "heap check after the replay: %s", why);
      ok = false;
    }
    tb_stats_t st;
    a->stats(h, &st);
#define FP_COPY(f) fp->f = st.f;
    FP_FIELDS(FP_COPY)
#undef FP_COPY
  }
  if (h) a->destroy(h);
  space_destroy(&sp);
  free(ptr);
  free(at);
  return ok;
}

static void fp_format(const fp_t *fp, char *buf, size_t len) {
  int n = snprintf(buf, len, "blocks=%llu hash=%016llx", (unsigned long long)fp->blocks,
                   (unsigned long long)fp->hash);
#define FP_FMT(f)                                                                              \
  if (n > 0 && (size_t)n < len) n += snprintf(buf + n, len - (size_t)n, " " #f "=%llu", (unsigned long long)fp->f);
  FP_FIELDS(FP_FMT)
#undef FP_FMT
}

typedef struct {
  char name[128];
  tb_trace_t t;
} wl_t;

static int load_workloads(const char *dir, wl_t *wl, size_t cap, size_t *n) {
  char tmp[] = "/tmp/tb-placement-XXXXXX";
  if (!mkdtemp(tmp)) {
    perror("test_placement: mkdtemp");
    return -1;
  }
  char err[512], path[1024];
  *n = 0;
  for (size_t i = 0; GENS[i]; i++) {
    const tb_generator_t *g;
    tb_gen_params_t p;
    if (*n == cap) break;
    snprintf(path, sizeof path, "%s/g%zu.tbt", tmp, i);
    if (tb_gen_parse_spec(GENS[i], &g, &p, err, sizeof err) ||
        tb_gen_to_file(g, &p, path, TB_TRACE_BINARY, TB_COMPRESS_NONE, err, sizeof err) ||
        tb_trace_load(path, &wl[*n].t, err, sizeof err)) {
      fprintf(stderr, "test_placement: gen:%s: %s\n", GENS[i], err);
      return -1;
    }
    unlink(path);
    snprintf(wl[*n].name, sizeof wl[*n].name, "gen:%s", GENS[i]);
    (*n)++;
  }
  rmdir(tmp);
#ifdef TB_HAVE_ZSTD
  for (size_t i = 0; CORPUS[i] && *n < cap; i++) {
    snprintf(path, sizeof path, "%s/%s.tbt.zst", dir, CORPUS[i]);
    if (tb_trace_load(path, &wl[*n].t, err, sizeof err)) {
      fprintf(stderr, "test_placement: %s\n", err);
      return -1;
    }
    snprintf(wl[*n].name, sizeof wl[*n].name, "%s", CORPUS[i]);
    (*n)++;
  }
#else
  (void)dir;
  fprintf(stderr, "test_placement: built without zstd: the corpus traces are skipped\n");
#endif
  return 0;
}

/* The golden line of (design, workload), or NULL. */
static const char *golden_find(char **lines, size_t n, const char *design, const char *wl) {
  size_t dl = strlen(design), wll = strlen(wl);
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i];
    if (!strncmp(l, design, dl) && l[dl] == ' ' && !strncmp(l + dl + 1, wl, wll) && l[dl + 1 + wll] == ' ')
      return l + dl + 1 + wll + 1;
  }
  return NULL;
}

int main(int argc, char **argv) {
  bool write = argc == 4 && !strcmp(argv[1], "--write");
  if (argc != 3 && !write) {
    fprintf(stderr, "usage: test_placement [--write] GOLDEN TRACEDIR\n");
    return 2;
  }
  const char *golden = argv[write ? 2 : 1], *dir = argv[write ? 3 : 2];
  enum { MAXW = 32 };
  static wl_t wl[MAXW];
  size_t nw;
  if (load_workloads(dir, wl, MAXW, &nw)) return 1;

  char **lines = NULL;
  size_t nlines = 0;
  if (!write) {
    FILE *f = fopen(golden, "r");
    if (!f) {
      fprintf(stderr, "test_placement: %s: %s\n", golden, strerror(errno));
      return 1;
    }
    char buf[1024];
    size_t lineno = 0;
    while (fgets(buf, sizeof buf, f)) {
      lineno++;
      if (buf[0] == '#' || buf[0] == '\n') continue;
      buf[strcspn(buf, "\n")] = '\0';
      if (!strchr(buf, ' ')) {
        fprintf(stderr, "test_placement: %s:%zu: malformed line\n", golden, lineno);
        return 1;
      }
      lines = realloc(lines, (nlines + 1) * sizeof *lines);
      lines[nlines++] = strdup(buf);
    }
    fclose(f);
  }
  FILE *out = NULL;
  if (write) {
    out = fopen(golden, "w");
    if (!out) {
      fprintf(stderr, "test_placement: %s: %s\n", golden, strerror(errno));
      return 1;
    }
    fprintf(out, "# Placement fingerprints (tests/oob/test_placement.c): design workload fingerprint.\n"
                 "# Made by `test_placement --write`; the test asserts that the designs still decide so.\n");
  }

  int failures = 0, compared = 0;
  char err[512], a[1024], b[1024];
  for (size_t w = 0; w < nw; w++) {
    fp_t ref = {0};
    bool have_ref = false;
    for (size_t d = 0; GOLDEN_DESIGNS[d]; d++) {
      const tb_allocator_t *A = tb_allocator_find(GOLDEN_DESIGNS[d], 0);
      if (!A) continue;
      fp_t fp;
      if (!replay(A, &wl[w].t, &fp, err, sizeof err)) {
        fprintf(stderr, "FAIL %s on %s: %s\n", GOLDEN_DESIGNS[d], wl[w].name, err);
        failures++;
        continue;
      }
      fp_format(&fp, a, sizeof a);
      if (!strcmp(GOLDEN_DESIGNS[d], "inline")) {
        ref = fp;
        have_ref = true;
      }
      if (write) {
        fprintf(out, "%s %s %s\n", GOLDEN_DESIGNS[d], wl[w].name, a);
        continue;
      }
      const char *g = golden_find(lines, nlines, GOLDEN_DESIGNS[d], wl[w].name);
      compared++;
      if (!g) {
        fprintf(stderr, "FAIL %s on %s: no golden fingerprint in %s\n", GOLDEN_DESIGNS[d], wl[w].name, golden);
        failures++;
      } else if (strcmp(g, a)) {
        fprintf(stderr, "FAIL %s on %s decides differently from the golden file:\n  golden %s\n  now    %s\n",
                GOLDEN_DESIGNS[d], wl[w].name, g, a);
        failures++;
      }
    }
    /* oob-m32 against inline, in this process. */
    const tb_allocator_t *M = tb_allocator_find("oob-m32", 0);
    if (M && have_ref) {
      fp_t fp;
      compared++;
      if (!replay(M, &wl[w].t, &fp, err, sizeof err)) {
        fprintf(stderr, "FAIL oob-m32 on %s: %s\n", wl[w].name, err);
        failures++;
      } else {
        fp_format(&ref, a, sizeof a);
        fp_format(&fp, b, sizeof b);
        if (strcmp(a, b)) {
          fprintf(stderr, "FAIL oob-m32 places differently from inline on %s:\n  inline  %s\n  oob-m32 %s\n",
                  wl[w].name, a, b);
          failures++;
        }
      }
    }
  }
  if (write) {
    if (fclose(out)) {
      fprintf(stderr, "test_placement: %s: write failed\n", golden);
      return 1;
    }
    printf("test_placement: wrote %s (%zu workloads)\n", golden, nw);
    for (size_t w = 0; w < nw; w++) tb_trace_free(&wl[w].t);
    return 0;
  }
  for (size_t w = 0; w < nw; w++) tb_trace_free(&wl[w].t);
  for (size_t i = 0; i < nlines; i++) free(lines[i]);
  free(lines);
  printf("test_placement: %d comparisons over %zu workloads, %d failed\n", compared, nw, failures);
  if (compared == 0) {
    fprintf(stderr, "test_placement: nothing was compared\n");
    return 1;
  }
  return failures ? 1 : 0;
}
