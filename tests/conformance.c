/* conformance.c: the contract of tb_alloc.h, written once and run for every
 * registered allocator at a chosen check level:
 *
 *   test_conformance ALLOCATOR LEVEL
 *
 * An allocator is exempt only from what its capabilities (TB_CAP_*) say it
 * cannot do: `bump` never frees, `glibc` does not live on our spaces and
 * cannot be validated from outside.
 */
#define _DEFAULT_SOURCE /* mincore */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tb_alloc.h"
#include "tb_testutil.h"

static const tb_allocator_t *A;
static int LEVEL;
static tb_heap_t *H;

static void setup(void) {
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  H = A->create(&o);
  ck_assert_ptr_nonnull(H);
}

static void teardown(void) {
  A->destroy(H);
  H = NULL;
}

/* At check level 3 every allocator that can be validated is, after every
 * operation of the randomized tests. */
static void validate(tb_heap_t *h, const char *after) {
  char why[256] = "";
  if (!A->check(h, why, sizeof why)) ck_abort_msg("%s: heap check failed after %s: %s", A->name, after, why);
}

static bool can(unsigned cap) { return (A->caps & cap) != 0; }

static void release(tb_heap_t *h, void *p) {
  if (can(TB_CAP_FREE)) A->free(h, p);
}

/* ---- basic contract ------------------------------------------------------- */

static const size_t sizes[] = {0,    1,    7,    8,    15,   16,    17,    24,     31,     32,     33,
                               48,   63,   64,   100,  127,  128,   255,   256,    500,    504,    505,
                               512,  1000, 1008, 1016, 1024, 1500,  2048,  4000,   4096,   8192,   65536,
                               100000, 262136, 262144, 300000, 1 << 20, 3 << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

START_TEST(t_alignment_and_usable_size) {
  void *ps[NSIZES];
  for (size_t i = 0; i < NSIZES; i++) {
    ps[i] = A->malloc(H, sizes[i]);
    ck_assert_msg(ps[i] != NULL, "malloc(%zu) failed", sizes[i]);
    ck_assert_msg(((uintptr_t)ps[i] & 15u) == 0, "malloc(%zu) = %p not 16-byte aligned", sizes[i], ps[i]);
    size_t u = A->usable_size(H, ps[i]);
    ck_assert_msg(u >= sizes[i], "usable_size %zu < request %zu", u, sizes[i]);
    tb_fill(ps[i], u, (unsigned)i);
  }
  for (size_t i = 0; i < NSIZES; i++) {
    ck_assert_msg(tb_verify(ps[i], A->usable_size(H, ps[i]), (unsigned)i), "block %zu (size %zu) overwritten", i,
                  sizes[i]);
    release(H, ps[i]);
  }
}
END_TEST

START_TEST(t_malloc_zero_is_unique) {
  void *a = A->malloc(H, 0), *b = A->malloc(H, 0);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_ne(a, b);
  release(H, a);
  release(H, b);
}
END_TEST

START_TEST(t_free_null) {
  A->free(H, NULL);
  void *p = A->malloc(H, 10);
  ck_assert_ptr_nonnull(p);
  release(H, p);
  validate(H, "free(NULL)");
}
END_TEST

START_TEST(t_calloc_zeroes) {
  /* Dirty some memory first so calloc cannot pass by luck on fresh pages. */
  for (size_t i = 0; i < NSIZES; i++) {
    void *d = A->malloc(H, sizes[i]);
    ck_assert_ptr_nonnull(d);
    memset(d, 0xAB, A->usable_size(H, d));
    release(H, d);
    unsigned char *p = A->calloc(H, 1, sizes[i]);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(tb_all_zero(p, sizes[i]), "calloc(1, %zu) not zeroed", sizes[i]);
    release(H, p);
  }
  unsigned char *q = A->calloc(H, 37, 13);
  ck_assert_ptr_nonnull(q);
  ck_assert(tb_all_zero(q, 37 * 13));
  release(H, q);
}
END_TEST

/* Pages of [p, p + n) that are resident (mincore), or -1 when it cannot tell. */
static long resident_pages(const void *p, size_t n) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t a = ((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1), e = ((uintptr_t)p + n) & ~(uintptr_t)(pg - 1);
  if (e <= a) return 0;
  size_t np = (e - a) / pg;
  unsigned char *v = malloc(np);
  if (!v) return -1;
  long r = 0;
  if (mincore((void *)a, e - a, v) != 0) r = -1;
  for (size_t i = 0; r >= 0 && i < np; i++) r += v[i] & 1;
  free(v);
  return r;
}

/* The calloc rule of tb_policy.h (tb_calloc_clears), for every allocator:
 * a block reused from a freed one is cleared, a fresh block from the space
 * is zero, and a large block (a fresh mapping from the system) is zero
 * without being written: calloc of 64 MiB leaves its pages untouched (at
 * most the first one, holding the header, is resident before it is read). */
START_TEST(t_calloc_rule) {
  size_t n = 1000;
  unsigned char *d = A->malloc(H, n);
  ck_assert_ptr_nonnull(d);
  memset(d, 0xAB, n);
  release(H, d);
  unsigned char *r = A->calloc(H, 1, n);
  ck_assert_ptr_nonnull(r);
  ck_assert_msg(tb_all_zero(r, n), "%s: calloc of a reused block not cleared", A->name);
  if (can(TB_CAP_FREE) && strcmp(A->name, "glibc") != 0)
    ck_assert_msg(r == d, "%s: calloc did not reuse the freed block (the rule is not exercised)", A->name);
  unsigned char *f = A->calloc(H, 1, 3000);
  ck_assert_ptr_nonnull(f);
  ck_assert_msg(tb_all_zero(f, 3000), "%s: calloc of a fresh block not zero", A->name);
  size_t big = (size_t)64 << 20;
  unsigned char *l = A->calloc(H, 1, big);
  ck_assert_ptr_nonnull(l);
  long res = resident_pages(l, big);
  ck_assert_msg(res >= 0, "mincore failed");
  ck_assert_msg(res <= 1, "%s: calloc of %zu bytes touched %ld pages of a fresh mapping", A->name, big, res);
  ck_assert_msg(tb_all_zero(l, big), "%s: large calloc not zero", A->name);
  release(H, l);
  release(H, f);
  release(H, r);
}
END_TEST

START_TEST(t_calloc_overflow) {
  errno = 0;
  ck_assert_ptr_null(A->calloc(H, SIZE_MAX / 2, 3));
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(A->calloc(H, (size_t)1 << 33, (size_t)1 << 33));
  ck_assert_int_eq(errno, ENOMEM);
  void *p = A->calloc(H, 4, 4);
  ck_assert_ptr_nonnull(p);
  release(H, p);
}
END_TEST

START_TEST(t_huge_requests) {
  const size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX / 2, (size_t)1 << 62, (size_t)1 << 60};
  void *keep = A->malloc(H, 100);
  ck_assert_ptr_nonnull(keep);
  tb_fill(keep, 100, 7);
  for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
    errno = 0;
    ck_assert_msg(A->malloc(H, huge[i]) == NULL, "malloc(%zu) succeeded", huge[i]);
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(A->aligned_alloc(H, 4096, huge[i]));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(A->realloc(H, keep, huge[i]));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_msg(tb_verify(keep, 100, 7), "failed realloc damaged its block");
  }
  validate(H, "huge requests");
  void *p = A->malloc(H, 1000);
  ck_assert_ptr_nonnull(p);
  release(H, p);
  release(H, keep);
}
END_TEST

/* ---- realloc ---------------------------------------------------------------- */

static void *grow_and_check(void *p, size_t *have, size_t want, unsigned *seed) {
  void *q = A->realloc(H, p, want);
  ck_assert_msg(q != NULL, "realloc to %zu failed", want);
  ck_assert_msg(((uintptr_t)q & 15u) == 0, "realloc result unaligned");
  size_t keep = *have < want ? *have : want;
  ck_assert_msg(tb_verify(q, keep, *seed), "realloc %zu -> %zu lost content", *have, want);
  ck_assert(A->usable_size(H, q) >= want);
  *seed += 1;
  tb_fill(q, want, *seed);
  *have = want;
  return q;
}

START_TEST(t_realloc_keeps_content) {
  const size_t steps[] = {1, 9, 24, 100, 50, 500, 1008, 2000, 1200, 70000, 300000, 40, 2 << 20, 16, 0};
  for (int blocked = 0; blocked < 2; blocked++) {
    size_t have = 0;
    void *p = A->realloc(H, NULL, 1); /* realloc(NULL, n) allocates */
    ck_assert_ptr_nonnull(p);
    have = 1;
    unsigned seed = 3;
    tb_fill(p, 1, seed);
    void *blocker[16];
    size_t nb = 0;
    for (size_t i = 0; steps[i]; i++) {
      /* With `blocked`, a neighbour allocated right after the block keeps
       * it from growing in place, so the moving path is exercised too. */
      if (blocked && nb < 16) blocker[nb++] = A->malloc(H, 32);
      p = grow_and_check(p, &have, steps[i], &seed);
      validate(H, "realloc");
    }
    ck_assert_ptr_null(A->realloc(H, p, 0)); /* realloc(p, 0) frees p */
    for (size_t i = 0; i < nb; i++) release(H, blocker[i]);
    validate(H, "realloc(p, 0)");
  }
}
END_TEST

START_TEST(t_realloc_in_place_shrink_then_grow) {
  /* Shrinking never moves a block in an allocator that can split; at least
   * the content must survive either way. */
  unsigned char *p = A->malloc(H, 4000);
  ck_assert_ptr_nonnull(p);
  tb_fill(p, 4000, 11);
  unsigned char *q = A->realloc(H, p, 100);
  ck_assert_ptr_nonnull(q);
  ck_assert(tb_verify(q, 100, 11));
  unsigned char *r = A->realloc(H, q, 3000);
  ck_assert_ptr_nonnull(r);
  ck_assert(tb_verify(r, 100, 11));
  release(H, r);
}
END_TEST

/* ---- aligned allocation ---------------------------------------------------- */

START_TEST(t_aligned_every_power_of_two) {
  const size_t ns[] = {0, 1, 7, 16, 24, 100, 1000, 5000, 70000};
  for (size_t a = 1; a <= 65536; a <<= 1) {
    void *ps[sizeof ns / sizeof ns[0] + 3];
    size_t k = 0;
    size_t req[sizeof ns / sizeof ns[0] + 3];
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) req[k++] = ns[i];
    req[k++] = a;
    req[k++] = a + 1;
    req[k++] = 3 * a;
    for (size_t i = 0; i < k; i++) {
      ps[i] = A->aligned_alloc(H, a, req[i]);
      ck_assert_msg(ps[i] != NULL, "aligned_alloc(%zu, %zu) failed", a, req[i]);
      size_t want = a < 16 ? 16 : a;
      ck_assert_msg(((uintptr_t)ps[i] & (want - 1)) == 0, "aligned_alloc(%zu, %zu) = %p", a, req[i], ps[i]);
      ck_assert(A->usable_size(H, ps[i]) >= req[i]);
      tb_fill(ps[i], req[i], (unsigned)(a + i));
      validate(H, "aligned_alloc");
    }
    for (size_t i = 0; i < k; i++) {
      ck_assert_msg(tb_verify(ps[i], req[i], (unsigned)(a + i)), "aligned block (%zu, %zu) overwritten", a, req[i]);
      release(H, ps[i]);
      validate(H, "free of an aligned block");
    }
  }
}
END_TEST

START_TEST(t_aligned_rejects_non_power_of_two) {
  const size_t bad[] = {0, 3, 24, 48, 100, 65537};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    errno = 0;
    ck_assert_msg(A->aligned_alloc(H, bad[i], 64) == NULL, "aligned_alloc(%zu) accepted", bad[i]);
    ck_assert_int_eq(errno, EINVAL);
  }
}
END_TEST

START_TEST(t_aligned_large_alignment) {
  /* At least 1 MiB alignment works (the inline and oob designs promise it). */
  void *p = A->aligned_alloc(H, (size_t)1 << 20, 1000);
  ck_assert_ptr_nonnull(p);
  ck_assert(((uintptr_t)p & ((1u << 20) - 1)) == 0);
  tb_fill(p, 1000, 5);
  void *q = A->realloc(H, p, 5000);
  ck_assert_ptr_nonnull(q);
  ck_assert(tb_verify(q, 1000, 5));
  release(H, q);
  validate(H, "1 MiB alignment");
}
END_TEST

/* ---- spaces ------------------------------------------------------------------ */

START_TEST(t_fixed_space_exhaustion) {
  static _Alignas(64) unsigned char buf[256 << 10];
  space_t sp;
  ck_assert_int_eq(space_init_fixed(&sp, buf, sizeof buf), 0);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &sp};
  tb_heap_t *h = A->create(&o);
  ck_assert_ptr_nonnull(h);
  void *ps[8192];
  size_t n = 0;
  for (;;) {
    ck_assert_msg(n < 8192, "a 256 KiB space held 8192 blocks of 100 bytes");
    errno = 0;
    void *p = A->malloc(h, 100);
    if (!p) {
      ck_assert_int_eq(errno, ENOMEM);
      break;
    }
    ck_assert(space_contains(&sp, p));
    tb_fill(p, 100, (unsigned)n);
    ps[n++] = p;
  }
  ck_assert_msg(n > 100, "only %zu blocks fit", n);
  errno = 0;
  ck_assert_ptr_null(A->malloc(h, 200 << 10));
  ck_assert_int_eq(errno, ENOMEM);
  validate(h, "exhaustion");
  if (can(TB_CAP_FREE)) {
    for (size_t i = 0; i < n; i += 2) A->free(h, ps[i]);
    validate(h, "frees after exhaustion");
    for (size_t i = 0; i < n; i += 2) {
      ps[i] = A->malloc(h, 100);
      ck_assert_msg(ps[i] != NULL, "heap unusable after exhaustion (block %zu)", i);
      tb_fill(ps[i], 100, (unsigned)i);
    }
    for (size_t i = 0; i < n; i++) ck_assert_msg(tb_verify(ps[i], 100, (unsigned)i), "block %zu damaged", i);
    for (size_t i = 0; i < n; i++) A->free(h, ps[i]);
    /* Everything freed: one large block fits again. */
    void *big = A->malloc(h, 128 << 10);
    ck_assert_msg(big != NULL, "freed heap does not merge back to one block");
    A->free(h, big);
    validate(h, "after all frees");
  }
  A->destroy(h);
}
END_TEST

START_TEST(t_injected_growth_failure) {
  space_os_failing_t f;
  space_os_failing_init(&f, NULL);
  space_t sp;
  space_config_t cfg = {.initial = 64 << 10, .os = &f.os};
  ck_assert_int_eq(space_init_mmap(&sp, &cfg), 0);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &sp};
  tb_heap_t *h = A->create(&o);
  ck_assert_ptr_nonnull(h);
  f.commits_left = 0; /* every later commit fails */
  f.maps_left = 0;    /* and so does every mapping straight from the system */
  void *small = A->malloc(h, 1000);
  ck_assert_ptr_nonnull(small);
  errno = 0;
  ck_assert_ptr_null(A->malloc(h, 200 << 10)); /* needs growth */
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(A->malloc(h, 1 << 20)); /* a large block */
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert(f.failures >= 1);
  validate(h, "failed growth");
  f.commits_left = -1;
  f.maps_left = -1;
  void *p = A->malloc(h, 200 << 10);
  ck_assert_msg(p != NULL, "heap did not grow once the OS let it");
  tb_fill(p, 200 << 10, 9);
  ck_assert(tb_verify(p, 200 << 10, 9));
  release(h, p);
  release(h, small);
  validate(h, "growth after failure");
  A->destroy(h);
  space_destroy(&sp);
}
END_TEST

START_TEST(t_two_heaps_coexist) {
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  tb_heap_t *h2 = A->create(&o);
  ck_assert_ptr_nonnull(h2);
  void *a[64], *b[64];
  for (int i = 0; i < 64; i++) {
    a[i] = A->malloc(H, 24 + 8 * (size_t)i);
    b[i] = A->malloc(h2, 24 + 8 * (size_t)i);
    ck_assert(a[i] && b[i]);
    tb_fill(a[i], 24 + 8 * (size_t)i, (unsigned)i);
    tb_fill(b[i], 24 + 8 * (size_t)i, 1000u + (unsigned)i);
  }
  for (int i = 0; i < 64; i += 2) release(h2, b[i]);
  for (int i = 0; i < 64; i++) ck_assert(tb_verify(a[i], 24 + 8 * (size_t)i, (unsigned)i));
  /* A heap on its own space takes its live blocks with it on destroy; the
   * process-wide glibc heap cannot, so its blocks are freed first. */
  if (!can(TB_CAP_SPACE))
    for (int i = 1; i < 64; i += 2) release(h2, b[i]);
  A->destroy(h2);
  for (int i = 0; i < 64; i++) {
    ck_assert(tb_verify(a[i], 24 + 8 * (size_t)i, (unsigned)i));
    release(H, a[i]);
  }
}
END_TEST

START_TEST(t_stats_are_sane) {
  tb_stats_t st;
  void *p = A->malloc(H, 5000);
  ck_assert_ptr_nonnull(p);
  A->stats(H, &st);
  ck_assert_msg(st.committed_bytes != TB_STAT_NA, "committed_bytes not reported");
  ck_assert(st.committed_bytes >= 5000);
  if (st.live_bytes != TB_STAT_NA) {
    ck_assert(st.live_bytes >= 5000);
    ck_assert(st.live_bytes <= st.committed_bytes);
  }
  if (st.metadata_bytes != TB_STAT_NA) ck_assert(st.metadata_bytes > 0);
  if (st.live_blocks != TB_STAT_NA) ck_assert_uint_eq(st.live_blocks, 1);
  release(H, p);
}
END_TEST

/* ---- randomized sequences against a shadow model -------------------------------- */

static void random_run(tb_heap_t *h, uint64_t seed, long nops, size_t max_live, bool check_each) {
  tb_shadow_t sh;
  tb_shadow_init(&sh, max_live);
  tb_rng_t r = {seed};
  for (long op = 0; op < nops; op++) {
    unsigned k = (unsigned)(tb_rand(&r) % 100);
    size_t n = tb_rand_size(&r);
    if (sh.n > 0 && (k < 40 || sh.n == max_live)) { /* free */
      size_t i = tb_rand(&r) % sh.n;
      ck_assert_msg(tb_verify(sh.b[i].p, sh.b[i].n, sh.b[i].seed), "op %ld: live block %p (%zu B) damaged", op,
                    sh.b[i].p, sh.b[i].n);
      release(h, sh.b[i].p);
      tb_shadow_remove(&sh, i);
    } else if (sh.n > 0 && k < 55) { /* realloc */
      size_t i = tb_rand(&r) % sh.n;
      tb_block_t b = sh.b[i];
      tb_shadow_remove(&sh, i);
      void *q = A->realloc(h, b.p, n ? n : 1);
      ck_assert_msg(q != NULL, "op %ld: realloc(%zu) failed", op, n);
      size_t keep = b.n < n ? b.n : n;
      ck_assert_msg(tb_verify(q, keep, b.seed), "op %ld: realloc %zu -> %zu lost content", op, b.n, n);
      tb_fill(q, n, (unsigned)op);
      tb_shadow_add(&sh, q, n, (unsigned)op, A->usable_size(h, q));
    } else {
      void *p;
      if (k < 65) {
        p = A->calloc(h, 1, n);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(tb_all_zero(p, n), "op %ld: calloc not zero", op);
      } else if (k < 75) {
        size_t a = (size_t)1 << (tb_rand(&r) % 13);
        p = A->aligned_alloc(h, a, n);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(((uintptr_t)p & ((a < 16 ? 16 : a) - 1)) == 0, "op %ld: misaligned", op);
      } else {
        p = A->malloc(h, n);
        ck_assert_msg(p != NULL, "op %ld: malloc(%zu) failed", op, n);
      }
      ck_assert_msg(((uintptr_t)p & 15u) == 0, "op %ld: unaligned", op);
      tb_fill(p, n, (unsigned)op);
      tb_shadow_add(&sh, p, n, (unsigned)op, A->usable_size(h, p));
    }
    const char *clash = tb_shadow_overlap(&sh);
    ck_assert_msg(clash == NULL, "op %ld: %s", op, clash ? clash : "");
    if (check_each) validate(h, "a random operation");
  }
  for (size_t i = 0; i < sh.n; i++) {
    ck_assert_msg(tb_verify(sh.b[i].p, sh.b[i].n, sh.b[i].seed), "final: block %p damaged", sh.b[i].p);
    release(h, sh.b[i].p);
  }
  validate(h, "freeing everything");
  tb_shadow_free(&sh);
}

START_TEST(t_random_sequences) {
  long nops = tb_env_long("TB_TEST_OPS", 20000);
  random_run(H, 0x5eed0000u + (uint64_t)_i, nops, 600, LEVEL >= 3);
}
END_TEST

/* ---- threads: a locked heap shared by two threads ------------------------------- */

typedef struct {
  tb_heap_t *h;
  uint64_t seed;
  int bad;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  tb_rng_t r = {w->seed};
  void *live[128] = {0};
  size_t sz[128] = {0};
  for (int op = 0; op < 20000; op++) {
    size_t i = tb_rand(&r) % 128;
    if (live[i]) {
      if (!tb_verify(live[i], sz[i], (unsigned)i + (unsigned)w->seed)) w->bad++;
      release(w->h, live[i]);
      live[i] = NULL;
    } else {
      sz[i] = tb_rand_size(&r);
      live[i] = A->malloc(w->h, sz[i]);
      if (!live[i]) {
        w->bad++;
        continue;
      }
      tb_fill(live[i], sz[i], (unsigned)i + (unsigned)w->seed);
    }
  }
  for (size_t i = 0; i < 128; i++) release(w->h, live[i]);
  return NULL;
}

START_TEST(t_locked_heap_two_threads) {
  tb_heap_opts_t o = {.mode = TB_MODE_LOCKED};
  tb_heap_t *h = A->create(&o);
  ck_assert_ptr_nonnull(h);
  pthread_t t[2];
  worker_t w[2] = {{h, 1, 0}, {h, 2, 0}};
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  ck_assert_int_eq(w[0].bad + w[1].bad, 0);
  validate(h, "two threads");
  A->destroy(h);
}
END_TEST

/* ---- detected misuse (expected signals) ------------------------------------------ */

START_TEST(t_double_free_aborts) {
  void *p = A->malloc(H, 40);
  void *keep = A->malloc(H, 40); /* keeps p from merging into the top */
  (void)keep;
  A->free(H, p);
  A->free(H, p);
}
END_TEST

START_TEST(t_interior_free_aborts) {
  char *p = A->malloc(H, 256);
  A->free(H, p + 32);
}
END_TEST

START_TEST(t_foreign_free_aborts) {
  static _Alignas(16) char not_ours[64];
  (void)A->malloc(H, 16);
  A->free(H, not_ours + 16);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------- */

static Suite *conformance_suite(void) {
  static char name[64]; /* Check keeps the pointer for the whole run */
  snprintf(name, sizeof name, "conformance:%s:l%d", A->name, LEVEL);
  Suite *s = suite_create(name);
  TCase *tc = tcase_create("contract");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, t_alignment_and_usable_size);
  tcase_add_test(tc, t_malloc_zero_is_unique);
  tcase_add_test(tc, t_free_null);
  tcase_add_test(tc, t_calloc_zeroes);
  tcase_add_test(tc, t_calloc_rule);
  tcase_add_test(tc, t_calloc_overflow);
  tcase_add_test(tc, t_huge_requests);
  tcase_add_test(tc, t_realloc_keeps_content);
  tcase_add_test(tc, t_realloc_in_place_shrink_then_grow);
  tcase_add_test(tc, t_aligned_every_power_of_two);
  tcase_add_test(tc, t_aligned_rejects_non_power_of_two);
  tcase_add_test(tc, t_aligned_large_alignment);
  tcase_add_test(tc, t_two_heaps_coexist);
  tcase_add_test(tc, t_locked_heap_two_threads);
  tcase_add_loop_test(tc, t_random_sequences, 0, 3);
  if (can(TB_CAP_STATS)) tcase_add_test(tc, t_stats_are_sane);
  if (can(TB_CAP_SPACE)) {
    tcase_add_test(tc, t_fixed_space_exhaustion);
    tcase_add_test(tc, t_injected_growth_failure);
  }
  suite_add_tcase(s, tc);
  if (can(TB_CAP_DETECT_FREE) && LEVEL >= 1) {
    TCase *tm = tcase_create("misuse");
    tcase_add_checked_fixture(tm, setup, teardown);
    tcase_add_test_raise_signal(tm, t_double_free_aborts, SIGABRT);
    tcase_add_test_raise_signal(tm, t_interior_free_aborts, SIGABRT);
    tcase_add_test_raise_signal(tm, t_foreign_free_aborts, SIGABRT);
    suite_add_tcase(s, tm);
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ALLOCATOR LEVEL\n", argv[0]);
    return 2;
  }
  LEVEL = atoi(argv[2]);
  A = tb_allocator_find(argv[1], LEVEL);
  if (!A) {
    fprintf(stderr, "%s: no allocator '%s' at check level %s\n", argv[0], argv[1], argv[2]);
    return 2;
  }
  return tb_test_run(conformance_suite(), NULL);
}
