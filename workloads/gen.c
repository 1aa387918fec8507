/* gen.c: the trace generators (gen.h): the article's six microbenchmarks,
 * size distributions with lifetimes, linked structures traversed
 * repeatedly, a larson-like server, xmalloc-like producer-consumer, and the
 * cache-scratch / cache-thrash false-sharing patterns. Every choice comes
 * from a splitmix64 stream seeded with `seed`, so a trace depends only on
 * the generator, its parameters and the seed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* ---- generation context: ops out, ids recycled per thread -------------------- */

#define GEN_MAX_THREADS 256

typedef struct {
  tb_trace_writer_t *w;
  uint64_t rng;
  int failed;
  uint32_t next_id;
  uint32_t *pool[GEN_MAX_THREADS]; /* ids freed by each thread, reused by it first (no needless syncs) */
  size_t npool[GEN_MAX_THREADS], cappool[GEN_MAX_THREADS];
} g_t;

static uint64_t rnd(g_t *g) {
  uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rnd_range(g_t *g, uint64_t lo, uint64_t hi) { return lo + rnd(g) % (hi - lo + 1); }

static void emit(g_t *g, uint32_t th, tb_op_t op) {
  if (!g->failed && tb_trace_write(g->w, th, &op)) g->failed = 1;
}

static uint32_t new_id(g_t *g, uint32_t th) {
  if (g->npool[th]) return g->pool[th][--g->npool[th]];
  return g->next_id++;
}

static uint32_t g_malloc(g_t *g, uint32_t th, uint64_t size) {
  uint32_t id = new_id(g, th);
  emit(g, th, (tb_op_t){.code = TB_OP_MALLOC, .id = id, .arg = size});
  return id;
}

static void g_free(g_t *g, uint32_t th, uint32_t id) {
  emit(g, th, (tb_op_t){.code = TB_OP_FREE, .id = id});
  if (g->npool[th] == g->cappool[th]) {
    size_t c = g->cappool[th] ? g->cappool[th] * 2 : 256;
    uint32_t *q = realloc(g->pool[th], c * sizeof *q);
    if (!q) {
      g->failed = 1;
      return;
    }
    g->pool[th] = q;
    g->cappool[th] = c;
  }
  g->pool[th][g->npool[th]++] = id;
}

static void g_touch(g_t *g, uint32_t th, int code, uint32_t id, uint64_t off, uint64_t len) {
  if (len == 0) return;
  emit(g, th, (tb_op_t){.code = (uint8_t)code, .id = id, .arg = off | len << 32});
}

static void g_done(g_t *g) {
  for (int i = 0; i < GEN_MAX_THREADS; i++) free(g->pool[i]);
}

/* ---- parameters --------------------------------------------------------------- */

static const char *param(const tb_gen_params_t *p, const char *key) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->key[i], key)) return p->val[i];
  return NULL;
}

/* Numeric parameter with default and range; -1 with a message when bad. */
static int num(const tb_gen_params_t *p, const char *key, uint64_t dflt, uint64_t lo, uint64_t hi, uint64_t *out,
               char *err, size_t errlen) {
  const char *v = param(p, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end || !*v || *v == '-' || x < lo || x > hi) {
    snprintf(err, errlen, "parameter %s=%s: expected a whole number in %llu..%llu", key, v, (unsigned long long)lo,
             (unsigned long long)hi);
    return -1;
  }
  *out = x;
  return 0;
}

/* Keyword parameter: index of v in the NULL-terminated list. */
static int word(const tb_gen_params_t *p, const char *key, const char *const *words, int *out, char *err,
                size_t errlen) {
  const char *v = param(p, key);
  *out = 0;
  if (!v) return 0;
  for (int i = 0; words[i]; i++)
    if (!strcmp(v, words[i])) {
      *out = i;
      return 0;
    }
  snprintf(err, errlen, "parameter %s=%s: expected one of", key, v);
  for (int i = 0; words[i]; i++) {
    size_t l = strlen(err);
    snprintf(err + l, errlen - l, "%s%s", i ? "|" : " ", words[i]);
  }
  return -1;
}

#define NUM(key, d, lo, hi, var) \
  uint64_t var;                  \
  if (num(p, key, d, lo, hi, &var, err, errlen)) return -1

/* ---- the article's six microbenchmarks --------------------------------------- */

static const char *const k_n[] = {"n", NULL};

static int gen_one_alloc(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  NUM("n", 100000, 1, 1u << 30, n);
  for (uint64_t i = 0; i < n; i++) g_free(g, 0, g_malloc(g, 0, 1));
  return 0;
}

static int gen_one_alloc_fast(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  NUM("n", 100000, 1, 1u << 30, n);
  uint32_t a = g_malloc(g, 0, 1), held = g_malloc(g, 0, 1); /* held sits above a: free never meets the top */
  g_free(g, 0, a);
  for (uint64_t i = 0; i < n; i++) g_free(g, 0, g_malloc(g, 0, 1));
  g_free(g, 0, held);
  return 0;
}

static int gen_hundred(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen, bool lifo) {
  NUM("n", 10000, 1, 1u << 26, n);
  uint32_t ids[99];
  for (uint64_t r = 0; r < n; r++) {
    for (int s = 1; s <= 99; s++) ids[s - 1] = g_malloc(g, 0, (uint64_t)s);
    for (int k = 0; k < 99; k++) g_free(g, 0, ids[lifo ? 98 - k : k]);
  }
  return 0;
}
static int gen_hundred_fifo(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  return gen_hundred(p, g, err, errlen, false);
}
static int gen_hundred_lifo(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  return gen_hundred(p, g, err, errlen, true);
}

static int gen_realloc(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen, bool copy) {
  NUM("n", 10000, 1, 1u << 26, n);
  uint32_t pins[100];
  for (uint64_t r = 0; r < n; r++) {
    uint32_t id = g_malloc(g, 0, 1);
    for (int k = 1; k <= 100; k++) {
      if (copy) pins[k - 1] = g_malloc(g, 0, 1); /* a block right after forces the next realloc to move */
      emit(g, 0, (tb_op_t){.code = TB_OP_REALLOC, .id = id, .arg = 1 + 8 * (uint64_t)k});
    }
    g_free(g, 0, id);
    if (copy)
      for (int k = 0; k < 100; k++) g_free(g, 0, pins[k]);
  }
  return 0;
}
static int gen_realloc_inplace(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  return gen_realloc(p, g, err, errlen, false);
}
static int gen_realloc_copy(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  return gen_realloc(p, g, err, errlen, true);
}

/* ---- size distributions and lifetimes ----------------------------------------- */

static uint64_t isqrt(uint64_t x) {
  uint64_t r = 0, b = 1ull << 62;
  while (b > x) b >>= 2;
  while (b) {
    if (x >= r + b) {
      x -= r + b;
      r = (r >> 1) + b;
    } else {
      r >>= 1;
    }
    b >>= 2;
  }
  return r;
}

static unsigned ilog2(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x); }

enum { DIST_UNIFORM, DIST_POW2, DIST_PARETO };
static const char *const dists[] = {"uniform", "pow2", "pareto", NULL};
enum { LIFE_RANDOM, LIFE_LIFO, LIFE_FIFO };
static const char *const lives[] = {"random", "lifo", "fifo", NULL};

/* Size from the distribution, in [lo, hi]. Pareto: P(size > x) = (lo/x)^shape,
 * shape 1 or 2, by inverse transform in integers (u uniform in (0, 2^32]). */
static uint64_t draw_size(g_t *g, int dist, uint64_t lo, uint64_t hi, uint64_t shape) {
  switch (dist) {
  case DIST_POW2: {
    unsigned a = ilog2(lo) + ((lo & (lo - 1)) ? 1 : 0), b = ilog2(hi);
    if (a > b) return lo;
    return 1ull << rnd_range(g, a, b);
  }
  case DIST_PARETO: {
    uint64_t u = (rnd(g) >> 32) + 1; /* 1 .. 2^32 */
    uint64_t s;
    if (shape == 1)
      s = lo * (1ull << 32) / u;
    else
      s = lo * 65536 / isqrt(u);
    return s > hi ? hi : s;
  }
  default:
    return rnd_range(g, lo, hi);
  }
}

static const char *const k_mix[] = {"dist", "life", "min", "max", "shape", "live", "ops", "touch", NULL};

static int gen_mix(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  int dist, life;
  if (word(p, "dist", dists, &dist, err, errlen) || word(p, "life", lives, &life, err, errlen)) return -1;
  NUM("min", 16, 1, 1ull << 30, lo);
  NUM("max", dist == DIST_PARETO ? 65536 : 4096, 1, 1ull << 32, hi);
  NUM("shape", 1, 1, 2, shape);
  NUM("live", 1000, 1, 1u << 24, live);
  NUM("ops", 100000, 1, 1u << 30, ops);
  NUM("touch", 1, 0, 1, touch);
  if (lo > hi) {
    snprintf(err, errlen, "parameter min=%llu is above max=%llu", (unsigned long long)lo, (unsigned long long)hi);
    return -1;
  }
  /* Live objects: a ring (fifo), a stack (lifo) or a bag (random). */
  uint32_t *ring = malloc(live * sizeof *ring);
  uint64_t *sz = malloc(live * sizeof *sz);
  if (!ring || !sz) {
    free(ring);
    free(sz);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  size_t head = 0, n = 0;
  for (uint64_t i = 0; i < ops; i++) {
    if (n == live) { /* make room: retire one by the lifetime policy */
      size_t k = life == LIFE_FIFO ? head : life == LIFE_LIFO ? (head + n - 1) % live : (head + rnd(g) % n) % live;
      if (touch) g_touch(g, 0, TB_OP_READ, ring[k], 0, sz[k] < 64 ? sz[k] : 64);
      g_free(g, 0, ring[k]);
      if (life == LIFE_FIFO) {
        head = (head + 1) % live;
      } else {
        size_t last = (head + n - 1) % live;
        ring[k] = ring[last];
        sz[k] = sz[last];
      }
      n--;
    }
    uint64_t s = draw_size(g, dist, lo, hi, shape);
    size_t slot = (head + n++) % live;
    ring[slot] = g_malloc(g, 0, s);
    sz[slot] = s;
    if (touch) g_touch(g, 0, TB_OP_WRITE, ring[slot], 0, s);
  }
  while (n) {
    size_t k = life == LIFE_LIFO ? (head + n - 1) % live : head;
    g_free(g, 0, ring[k]);
    if (life != LIFE_LIFO) head = (head + 1) % live;
    n--;
  }
  free(ring);
  free(sz);
  return 0;
}

/* ---- linked structures, built then traversed ---------------------------------- */

static const char *const k_list[] = {"nodes", "size", "passes", "noise", NULL};

/* A singly linked list: node = {next (8), key (8), payload}; built with
 * `noise` random-size blocks allocated between nodes and freed after the
 * build (holes, as a real program's other data leaves), then traversed
 * `passes` times reading next and key of each node. */
static int gen_list(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  NUM("nodes", 10000, 1, 1u << 24, nodes);
  NUM("size", 32, 16, 1u << 20, size);
  NUM("passes", 10, 0, 1u << 20, passes);
  NUM("noise", 1, 0, 16, noise);
  uint32_t *id = malloc(nodes * sizeof *id), *junk = malloc(nodes * noise * sizeof *junk + 1);
  if (!id || !junk) {
    free(id);
    free(junk);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  size_t nj = 0;
  for (uint64_t i = 0; i < nodes; i++) {
    id[i] = g_malloc(g, 0, size);
    g_touch(g, 0, TB_OP_WRITE, id[i], 0, size); /* initialise the node */
    if (i) g_touch(g, 0, TB_OP_WRITE, id[i - 1], 0, 8); /* link it */
    for (uint64_t k = 0; k < noise; k++) junk[nj++] = g_malloc(g, 0, rnd_range(g, 8, 4 * size));
  }
  for (size_t k = 0; k < nj; k++) g_free(g, 0, junk[k]);
  for (uint64_t r = 0; r < passes; r++)
    for (uint64_t i = 0; i < nodes; i++) g_touch(g, 0, TB_OP_READ, id[i], 0, 16);
  for (uint64_t i = 0; i < nodes; i++) g_free(g, 0, id[i]);
  free(id);
  free(junk);
  return 0;
}

static const char *const k_tree[] = {"nodes", "size", "passes", NULL};

/* A binary search tree of random keys: node = {left, right, key, payload}.
 * Insertion reads every node on its path and writes the parent's link;
 * each pass is an in-order walk reading each node's links and key. Nodes
 * are freed in random order at the end. */
static int gen_tree(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  NUM("nodes", 10000, 1, 1u << 24, nodes);
  NUM("size", 48, 24, 1u << 20, size);
  NUM("passes", 10, 0, 1u << 20, passes);
  uint32_t *id = malloc(nodes * sizeof *id), *left = malloc(nodes * sizeof *left), *right = malloc(nodes * sizeof *right),
           *stack = malloc((nodes + 1) * sizeof *stack);
  uint64_t *key = malloc(nodes * sizeof *key);
  if (!id || !left || !right || !key || !stack) {
    free(id), free(left), free(right), free(key), free(stack);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  const uint32_t NIL = UINT32_MAX;
  for (uint64_t i = 0; i < nodes; i++) {
    key[i] = rnd(g);
    left[i] = right[i] = NIL;
    id[i] = g_malloc(g, 0, size);
    g_touch(g, 0, TB_OP_WRITE, id[i], 0, size);
    if (i == 0) continue;
    uint32_t cur = 0;
    for (;;) {
      g_touch(g, 0, TB_OP_READ, id[cur], 0, 24);
      uint32_t *next = key[i] < key[cur] ? &left[cur] : &right[cur];
      if (*next == NIL) {
        *next = (uint32_t)i;
        g_touch(g, 0, TB_OP_WRITE, id[cur], key[i] < key[cur] ? 0 : 8, 8);
        break;
      }
      cur = *next;
    }
  }
  for (uint64_t r = 0; r < passes; r++) { /* iterative in-order walk */
    size_t sp = 0;
    uint32_t cur = 0;
    while (cur != NIL || sp) {
      while (cur != NIL) {
        g_touch(g, 0, TB_OP_READ, id[cur], 0, 8);
        stack[sp++] = cur;
        cur = left[cur];
      }
      cur = stack[--sp];
      g_touch(g, 0, TB_OP_READ, id[cur], 8, 16);
      cur = right[cur];
    }
  }
  for (uint64_t i = nodes; i > 0; i--) { /* free in random order (Fisher-Yates) */
    uint64_t k = rnd(g) % i;
    g_free(g, 0, id[k]);
    id[k] = id[i - 1];
  }
  free(id), free(left), free(right), free(key), free(stack);
  return 0;
}

/* ---- multi-threaded models ----------------------------------------------------- */

static const char *const k_larson[] = {"threads", "slots", "rounds", "ops", "min", "max", NULL};

/* larson-like server: each thread owns `slots` slots; in round r thread t
 * works on the slots of thread (t + r) % threads (larson's threads hand
 * their arrays to their successors), so most frees are of objects another
 * thread allocated. Each op frees a random slot's object and puts a new
 * one of random size there, writing its first 16 bytes. */
static int gen_larson(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  NUM("threads", 4, 1, GEN_MAX_THREADS, T);
  NUM("slots", 1000, 1, 1u << 20, S);
  NUM("rounds", 10, 1, 1u << 20, rounds);
  NUM("ops", 2000, 1, 1u << 24, ops);
  NUM("min", 16, 1, 1u << 30, lo);
  NUM("max", 512, 1, 1u << 30, hi);
  if (lo > hi) {
    snprintf(err, errlen, "parameter min is above max");
    return -1;
  }
  uint32_t *slot = malloc(T * S * sizeof *slot);
  if (!slot) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (uint64_t t = 0; t < T; t++)
    for (uint64_t s = 0; s < S; s++) slot[t * S + s] = g_malloc(g, (uint32_t)t, rnd_range(g, lo, hi));
  for (uint64_t r = 0; r < rounds; r++)
    for (uint64_t t = 0; t < T; t++) {
      uint32_t *region = slot + ((t + r) % T) * S;
      for (uint64_t i = 0; i < ops; i++) {
        uint64_t k = rnd(g) % S, s = rnd_range(g, lo, hi);
        g_free(g, (uint32_t)t, region[k]);
        region[k] = g_malloc(g, (uint32_t)t, s);
        g_touch(g, (uint32_t)t, TB_OP_WRITE, region[k], 0, s < 16 ? s : 16);
      }
    }
  for (uint64_t t = 0; t < T; t++)
    for (uint64_t s = 0; s < S; s++) g_free(g, (uint32_t)t, slot[t * S + s]);
  free(slot);
  return 0;
}

static const char *const k_xmalloc[] = {"threads", "batch", "rounds", "min", "max", NULL};

/* xmalloc-test-like producer-consumer: threads pair up, even = producer,
 * odd = its consumer; each round a producer allocates and fills a batch,
 * its consumer reads and frees every object of it. */
static int gen_xmalloc(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  NUM("threads", 4, 2, GEN_MAX_THREADS, T);
  NUM("batch", 100, 1, 1u << 20, batch);
  NUM("rounds", 200, 1, 1u << 20, rounds);
  NUM("min", 16, 1, 1u << 30, lo);
  NUM("max", 256, 1, 1u << 30, hi);
  if (T % 2 || lo > hi) {
    snprintf(err, errlen, T % 2 ? "parameter threads must be even (producer, consumer pairs)" : "parameter min is above max");
    return -1;
  }
  uint32_t *ids = malloc(batch * sizeof *ids);
  uint64_t *sz = malloc(batch * sizeof *sz);
  if (!ids || !sz) {
    free(ids), free(sz);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (uint64_t r = 0; r < rounds; r++)
    for (uint64_t t = 0; t < T; t += 2) {
      for (uint64_t i = 0; i < batch; i++) {
        sz[i] = rnd_range(g, lo, hi);
        ids[i] = g_malloc(g, (uint32_t)t, sz[i]);
        g_touch(g, (uint32_t)t, TB_OP_WRITE, ids[i], 0, sz[i]);
      }
      for (uint64_t i = 0; i < batch; i++) {
        g_touch(g, (uint32_t)t + 1, TB_OP_READ, ids[i], 0, sz[i] < 16 ? sz[i] : 16);
        g_free(g, (uint32_t)t + 1, ids[i]);
      }
    }
  free(ids), free(sz);
  return 0;
}

static const char *const k_cache[] = {"threads", "size", "iters", "rounds", NULL};

/* cache-scratch (passive false sharing): thread 0 allocates one small
 * object per thread (neighbours in memory with most allocators) and hands
 * them out; each thread frees the one it got, allocates its own of the
 * same size (a recycling allocator gives back the shared line) and writes
 * it `iters` times. cache-thrash (active): each thread allocates its own
 * small object, writes it `iters` times, frees it; `rounds` times. */
static int gen_cache(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen, bool scratch) {
  NUM("threads", 4, 1, GEN_MAX_THREADS, T);
  NUM("size", 8, 1, 4096, size);
  NUM("iters", 1000, 1, 1u << 24, iters);
  NUM("rounds", 10, 1, 1u << 20, rounds);
  uint32_t given[GEN_MAX_THREADS];
  for (uint64_t r = 0; r < rounds; r++) {
    if (scratch)
      for (uint64_t t = 0; t < T; t++) given[t] = g_malloc(g, 0, size);
    for (uint64_t t = 0; t < T; t++) {
      if (scratch) g_free(g, (uint32_t)t, given[t]);
      uint32_t id = g_malloc(g, (uint32_t)t, size);
      for (uint64_t i = 0; i < iters; i++) g_touch(g, (uint32_t)t, TB_OP_WRITE, id, 0, size);
      g_free(g, (uint32_t)t, id);
    }
  }
  return 0;
}
static int gen_cache_scratch(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  return gen_cache(p, g, err, errlen, true);
}
static int gen_cache_thrash(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen) {
  return gen_cache(p, g, err, errlen, false);
}

/* ---- registry ------------------------------------------------------------------ */

typedef int (*gen_fn)(const tb_gen_params_t *p, g_t *g, char *err, size_t errlen);

/* Check the keys, seed the stream, run fn. */
static int run_gen(const char *name, const char *const *keys, gen_fn fn, const tb_gen_params_t *p,
                   tb_trace_writer_t *w, char *err, size_t errlen) {
  for (size_t i = 0; i < p->n; i++) {
    bool known = !strcmp(p->key[i], "seed");
    for (size_t k = 0; keys[k]; k++) known = known || !strcmp(p->key[i], keys[k]);
    if (!known) {
      snprintf(err, errlen, "generator %s has no parameter '%s'", name, p->key[i]);
      return -1;
    }
  }
  g_t g = {.w = w};
  uint64_t seed;
  if (num(p, "seed", 1, 0, UINT64_MAX, &seed, err, errlen)) return -1;
  g.rng = seed;
  int rc = fn(p, &g, err, errlen);
  if (!rc && g.failed) {
    snprintf(err, errlen, "writing the trace failed");
    rc = -1;
  }
  g_done(&g);
  return rc;
}

#define WRAP(name, keys)                                                                               \
  static int run_##name(const tb_gen_params_t *p, tb_trace_writer_t *w, char *err, size_t errlen) {   \
    return run_gen(#name, keys, gen_##name, p, w, err, errlen);                                       \
  }
WRAP(one_alloc, k_n)
WRAP(one_alloc_fast, k_n)
WRAP(hundred_fifo, k_n)
WRAP(hundred_lifo, k_n)
WRAP(realloc_inplace, k_n)
WRAP(realloc_copy, k_n)
WRAP(mix, k_mix)
WRAP(list, k_list)
WRAP(tree, k_tree)
WRAP(larson, k_larson)
WRAP(xmalloc, k_xmalloc)
WRAP(cache_scratch, k_cache)
WRAP(cache_thrash, k_cache)

#define G(name, summary, keys) {#name, summary, keys, run_##name}
static const tb_generator_t gens[] = {
    G(one_alloc, "malloc(1) then free, n times (n=100000)", k_n),
    G(one_alloc_fast, "one_alloc while a block above is held (n=100000)", k_n),
    G(hundred_fifo, "allocate 1..99 bytes, free in allocation order; n rounds (n=10000)", k_n),
    G(hundred_lifo, "allocate 1..99 bytes, free in reverse order; n rounds (n=10000)", k_n),
    G(realloc_inplace, "1 byte, realloc +8 bytes 100 times; n rounds (n=10000)", k_n),
    G(realloc_copy, "realloc_inplace with a 1-byte block between steps (n=10000)", k_n),
    G(mix, "sizes dist=uniform|pow2|pareto (min=16 max=4096|65536 shape=1|2), life=random|lifo|fifo, live=1000 ops=100000 touch=1",
      k_mix),
    G(list, "linked list: nodes=10000 size=32, noise=1 blocks between nodes, passes=10 traversals", k_list),
    G(tree, "binary search tree: nodes=10000 size=48, passes=10 in-order walks, random-order free", k_tree),
    G(larson, "server: threads=4 slots=1000 rounds=10 ops=2000 min=16 max=512, cross-thread frees", k_larson),
    G(xmalloc, "producer-consumer pairs: threads=4 batch=100 rounds=200 min=16 max=256", k_xmalloc),
    G(cache_scratch, "passive false sharing: threads=4 size=8 iters=1000 rounds=10", k_cache),
    G(cache_thrash, "active false sharing: threads=4 size=8 iters=1000 rounds=10", k_cache),
};
#define NGENS (sizeof gens / sizeof gens[0])

const tb_generator_t *tb_generator_at(size_t i) { return i < NGENS ? &gens[i] : NULL; }

const tb_generator_t *tb_generator_find(const char *name) {
  for (size_t i = 0; i < NGENS; i++)
    if (!strcmp(gens[i].name, name)) return &gens[i];
  return NULL;
}

int tb_gen_param_add(tb_gen_params_t *p, const char *kv, char *err, size_t errlen) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv || !eq[1]) {
    snprintf(err, errlen, "parameter '%s' is not KEY=VALUE", kv);
    return -1;
  }
  if (p->n == TB_GEN_MAX_PARAMS || (size_t)(eq - kv) >= sizeof p->key[0] || strlen(eq + 1) >= sizeof p->val[0]) {
    snprintf(err, errlen, "parameter '%s': too many or too long", kv);
    return -1;
  }
  for (size_t i = 0; i < p->n; i++)
    if (strlen(p->key[i]) == (size_t)(eq - kv) && !memcmp(p->key[i], kv, (size_t)(eq - kv))) {
      snprintf(err, errlen, "parameter '%.*s' given twice", (int)(eq - kv), kv);
      return -1;
    }
  memcpy(p->key[p->n], kv, (size_t)(eq - kv));
  p->key[p->n][eq - kv] = 0;
  strcpy(p->val[p->n], eq + 1);
  p->n++;
  return 0;
}

int tb_gen_parse_spec(const char *spec, const tb_generator_t **gen, tb_gen_params_t *p, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  char buf[1024];
  if (strlen(spec) >= sizeof buf) {
    snprintf(err, errlen, "generator spec too long");
    return -1;
  }
  strcpy(buf, spec);
  char *save = NULL, *tok = strtok_r(buf, ":,", &save);
  if (!tok || !(*gen = tb_generator_find(tok))) {
    snprintf(err, errlen, "unknown generator '%s' (testbed gen --list names them)", tok ? tok : "");
    return -1;
  }
  while ((tok = strtok_r(NULL, ":,", &save)))
    if (tb_gen_param_add(p, tok, err, errlen)) return -1;
  return 0;
}

int tb_gen_to_file(const tb_generator_t *gen, const tb_gen_params_t *p, const char *path, tb_trace_format_t fmt,
                   tb_compress_t comp, char *err, size_t errlen) {
  char prov[1200];
  int n = snprintf(prov, sizeof prov, "generated by testbed gen %s", gen->name);
  for (size_t i = 0; i < p->n && n > 0 && (size_t)n < sizeof prov; i++)
    n += snprintf(prov + n, sizeof prov - (size_t)n, " %s=%s", p->key[i], p->val[i]);
  char werr[512];
  tb_trace_writer_t *w = tb_trace_writer_open(path, fmt, comp, prov, werr, sizeof werr);
  if (!w) {
    snprintf(err, errlen, "%s", werr);
    return -1;
  }
  int rc = gen->run(p, w, err, errlen);
  if (rc) {
    tb_trace_writer_abort(w);
    return -1;
  }
  if (tb_trace_writer_close(w, werr, sizeof werr)) {
    snprintf(err, errlen, "%s", werr);
    return -1;
  }
  return 0;
}
