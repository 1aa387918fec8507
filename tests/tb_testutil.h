/* tb_testutil.h: helpers for the Check suites: fill patterns, a seeded
 * generator, a shadow model of live blocks that catches overlap, scratch
 * directories and the run of a suite. */
#ifndef TB_TESTUTIL_H
#define TB_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Byte k of a block filled with seed s. Depends on both so that a block
 * moved onto another's place, or shifted by a word, is caught. */
static inline unsigned char tb_pattern(size_t k, unsigned s) {
  return (unsigned char)((k * 131u + s * 7u + (k >> 8)) ^ (s >> 3));
}

static inline void tb_fill(void *p, size_t n, unsigned s) {
  unsigned char *c = p;
  for (size_t k = 0; k < n; k++) c[k] = tb_pattern(k, s);
}

static inline bool tb_verify(const void *p, size_t n, unsigned s) {
  const unsigned char *c = p;
  for (size_t k = 0; k < n; k++)
    if (c[k] != tb_pattern(k, s)) return false;
  return true;
}

/* Check records every ck_assert it passes (a write to a file), so tests
 * keep assertions out of per-byte loops and check whole ranges at once. */
static inline bool tb_all_zero(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t k = 0; k < n; k++)
    if (c[k]) return false;
  return true;
}

/* splitmix64: small, seeded, the same on every platform. */
typedef struct {
  uint64_t s;
} tb_rng_t;

static inline uint64_t tb_rand(tb_rng_t *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Mostly small sizes, some medium, a few large (beyond the large-block
 * threshold), so every path of an allocator is taken. */
static inline size_t tb_rand_size(tb_rng_t *r) {
  unsigned k = (unsigned)(tb_rand(r) % 1000);
  if (k < 700) return (size_t)(tb_rand(r) % 256);
  if (k < 950) return (size_t)(tb_rand(r) % 4096);
  if (k < 995) return (size_t)(tb_rand(r) % 65536);
  return (size_t)(tb_rand(r) % (600 << 10));
}

/* A fresh scratch directory $TMPDIR/tb-NAME-XXXXXX (TMPDIR defaults to
 * /tmp) in buf; false when it cannot be made. */
static inline bool tb_test_tmpdir(char *buf, size_t len, const char *name) {
  const char *t = getenv("TMPDIR");
  int n = snprintf(buf, len, "%s/tb-%s-XXXXXX", t && *t ? t : "/tmp", name);
  return n > 0 && (size_t)n < len && mkdtemp(buf) != NULL;
}

/* Run suite s and, when dir is given, remove that scratch directory; the
 * test program's exit status (0 when every test passed and the directory
 * went away). */
static inline int tb_test_run(Suite *s, const char *dir) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) failed++;
  }
  return failed ? 1 : 0;
}

static inline long tb_env_long(const char *name, long dflt) {
  const char *v = getenv(name);
  return v && *v ? strtol(v, NULL, 10) : dflt;
}

typedef struct {
  void *p;
  size_t n;      /* bytes the test wrote */
  size_t usable; /* bytes the allocator promised */
  unsigned seed;
} tb_block_t;

typedef struct {
  tb_block_t *b;
  size_t n, cap;
  char msg[160];
} tb_shadow_t;

static inline void tb_shadow_init(tb_shadow_t *s, size_t cap) {
  s->b = calloc(cap, sizeof *s->b);
  s->n = 0;
  s->cap = cap;
}

static inline void tb_shadow_free(tb_shadow_t *s) { free(s->b); }

static inline void tb_shadow_add(tb_shadow_t *s, void *p, size_t n, unsigned seed, size_t usable) {
  s->b[s->n++] = (tb_block_t){p, n, usable, seed};
}

static inline void tb_shadow_remove(tb_shadow_t *s, size_t i) { s->b[i] = s->b[--s->n]; }

/* Whether the newest block overlaps any other live block (by usable size);
 * returns a description or NULL. */
static inline const char *tb_shadow_overlap(tb_shadow_t *s) {
  if (s->n == 0) return NULL;
  const tb_block_t *nb = &s->b[s->n - 1];
  uintptr_t a0 = (uintptr_t)nb->p, a1 = a0 + (nb->usable ? nb->usable : 1);
  for (size_t i = 0; i + 1 < s->n; i++) {
    uintptr_t b0 = (uintptr_t)s->b[i].p, b1 = b0 + (s->b[i].usable ? s->b[i].usable : 1);
    if (a0 < b1 && b0 < a1) {
      snprintf(s->msg, sizeof s->msg, "block %p+%zu overlaps live block %p+%zu", nb->p, nb->usable, s->b[i].p,
               s->b[i].usable);
      return s->msg;
    }
  }
  return NULL;
}

#endif /* TB_TESTUTIL_H */
