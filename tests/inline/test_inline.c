/* test_inline.c: unit tests of the `inline` design through the registry.
 *
 * Layout tests run on a fixed, page-aligned space so that block addresses
 * are known: the first block's user pointer is base + 16. Each structural
 * test runs at check level 0 (where the fast paths are) and at level 3
 * (where every operation also validates the whole heap); both call
 * ops->check() after each step and read the layout back through stats().
 * Misuse tests expect SIGABRT at levels 1 and 3. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_lock.h"
#include "tb_policy.h"
#include "tb_testutil.h"

static const int levels[] = {0, 3};
static const tb_allocator_t *A;
static tb_heap_t *H;
static space_t SP;
static _Alignas(65536) unsigned char buf[1 << 20];
static unsigned char *BASE;

static void use_level(int level) {
  A = tb_allocator_find("inline", level);
  ck_assert_ptr_nonnull(A);
  ck_assert_int_eq(A->check_level, level);
}

/* A fresh heap on the fixed buffer. */
static void fixed_heap(int level) {
  use_level(level);
  ck_assert_int_eq(space_init_fixed(&SP, buf, sizeof buf), 0);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &SP};
  H = A->create(&o);
  ck_assert_ptr_nonnull(H);
  BASE = buf;
}

static void done(void) {
  A->destroy(H);
  H = NULL;
}

static void valid(const char *after) {
  char why[256] = "";
  bool ok = A->check(H, why, sizeof why);
  ck_assert_msg(ok, "check failed after %s: %s", after, why);
}

static tb_stats_t stats(void) {
  tb_stats_t st;
  A->stats(H, &st);
  return st;
}

static void *xmalloc(size_t n) {
  void *p = A->malloc(H, n);
  ck_assert_msg(p != NULL, "malloc(%zu) failed", n);
  return p;
}

/* ---- layout ---------------------------------------------------------------- */

START_TEST(t_first_block_and_sizes) {
  fixed_heap(levels[_i]);
  unsigned char *a = xmalloc(1), *b = xmalloc(24), *c = xmalloc(25), *d = xmalloc(100);
  ck_assert_ptr_eq(a, BASE + 16);         /* header at base + 8 */
  ck_assert_ptr_eq(b, a + 32);            /* malloc(1): MIN_BLOCK 32 */
  ck_assert_ptr_eq(c, b + 32);            /* 24 + 8 = 32 */
  ck_assert_ptr_eq(d, c + 48);            /* 25 + 8 -> 48 */
  ck_assert_uint_eq(A->usable_size(H, a), 24);
  ck_assert_uint_eq(A->usable_size(H, c), 40);
  ck_assert_uint_eq(A->usable_size(H, d), 104); /* 112 - 8 */
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.live_blocks, 4);
  ck_assert_uint_eq(st.live_bytes, 24 + 24 + 40 + 104);
  ck_assert_uint_eq(st.free_blocks, 0);
  ck_assert_uint_eq(st.top_bytes, sizeof buf - 16 - (32 + 32 + 48 + 112));
  ck_assert_uint_eq(st.metadata_bytes > 4 * 8, 1);
  if (st.mallocs != TB_STAT_NA) ck_assert_uint_eq(st.mallocs - st.frees, 4); /* counters: TB_STATS only */
  valid("four mallocs");
  done();
}
END_TEST

/* ---- merging: each neighbour combination --------------------------------------- */

/* Blocks a b c of 112 bytes each and a guard; free the ones in `first`
 * (bit 0 a, bit 2 c), then b; expect one free block of the merged size. */
static void merge_case(int level, unsigned first, uint64_t want_merges, size_t want_bytes) {
  fixed_heap(level);
  void *a = xmalloc(100), *b = xmalloc(100), *c = xmalloc(100), *g = xmalloc(100);
  if (first & 1) A->free(H, a);
  if (first & 4) A->free(H, c);
  tb_stats_t s0 = stats();
  A->free(H, b);
  valid("free b");
  tb_stats_t s1 = stats();
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, want_bytes);
  ck_assert_uint_eq(s1.largest_free >= want_bytes, 1);
  if (s0.merges != TB_STAT_NA) ck_assert_uint_eq(s1.merges - s0.merges, want_merges);
  /* Freeing the guard merges everything into the top: an empty heap. */
  if (!(first & 1)) A->free(H, a);
  if (!(first & 4)) A->free(H, c);
  A->free(H, g);
  valid("free all");
  tb_stats_t s2 = stats();
  ck_assert_uint_eq(s2.free_blocks, 0);
  ck_assert_uint_eq(s2.top_bytes, sizeof buf - 16);
  ck_assert_uint_eq(s2.live_blocks, 0);
  done();
}

START_TEST(t_merge_none) { merge_case(levels[_i], 0, 0, 112); }
END_TEST
START_TEST(t_merge_prev) { merge_case(levels[_i], 1, 1, 224); }
END_TEST
START_TEST(t_merge_next) { merge_case(levels[_i], 4, 1, 224); }
END_TEST
START_TEST(t_merge_both) { merge_case(levels[_i], 5, 2, 336); }
END_TEST

START_TEST(t_merge_top_and_prev) {
  fixed_heap(levels[_i]);
  void *a = xmalloc(100), *b = xmalloc(100);
  A->free(H, a);
  ck_assert_uint_eq(stats().free_blocks, 1);
  A->free(H, b); /* merges with the free a and with the top */
  valid("free b");
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.free_blocks, 0);
  ck_assert_uint_eq(st.top_bytes, sizeof buf - 16);
  ck_assert_ptr_eq(xmalloc(100), a); /* the top starts at the first block again */
  done();
}
END_TEST

/* ---- splitting and the fit rule -------------------------------------------------- */

START_TEST(t_split_from_bin) {
  fixed_heap(levels[_i]);
  void *big = xmalloc(1000), *g = xmalloc(16); /* 1008-byte block, bin 63 */
  A->free(H, big);
  tb_stats_t s0 = stats();
  ck_assert_uint_eq(s0.free_bytes, 1008);
  void *p = xmalloc(100); /* bin 7 empty: the bitmap finds bin 63; split */
  ck_assert_ptr_eq(p, big);
  valid("split");
  tb_stats_t s1 = stats();
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, 1008 - 112);
  if (s0.splits != TB_STAT_NA) ck_assert_uint_eq(s1.splits - s0.splits, 1);
  A->free(H, p); /* merges back with its remainder */
  ck_assert_uint_eq(stats().free_bytes, 1008);
  /* A remainder under MIN_BLOCK is not split off: 984 -> block 992, 16 left. */
  p = xmalloc(984);
  ck_assert_ptr_eq(p, big);
  ck_assert_uint_eq(A->usable_size(H, p), 1000);
  ck_assert_uint_eq(stats().free_blocks, 0);
  valid("no split");
  A->free(H, p);
  A->free(H, g);
  done();
}
END_TEST

START_TEST(t_small_bin_is_lifo) {
  fixed_heap(levels[_i]);
  void *x = xmalloc(40), *g1 = xmalloc(1), *y = xmalloc(40), *g2 = xmalloc(1);
  A->free(H, x);
  A->free(H, y);
  ck_assert_ptr_eq(xmalloc(40), y); /* most recently freed first */
  ck_assert_ptr_eq(xmalloc(40), x);
  valid("lifo");
  (void)g1;
  (void)g2;
  done();
}
END_TEST

START_TEST(t_large_bin_best_fit) {
  fixed_heap(levels[_i]);
  /* Blocks of 1104 and 1056 bytes: both in the large bin 1024..1279. */
  void *p1 = xmalloc(1096), *g1 = xmalloc(1), *p2 = xmalloc(1048), *g2 = xmalloc(1);
  A->free(H, p2);
  A->free(H, p1); /* p1 is the most recent, but p2 fits better */
  tb_stats_t s0 = stats();
  void *q = xmalloc(1040); /* block 1056 */
  ck_assert_ptr_eq(q, p2);
  tb_stats_t s1 = stats();
  if (s0.bin_steps != TB_STAT_NA) ck_assert_uint_ge(s1.bin_steps - s0.bin_steps, 2);
  valid("best fit");
  (void)g1;
  (void)g2;
  done();
}
END_TEST

/* ---- aligned allocation layouts ----------------------------------------------------- */

START_TEST(t_aligned_leader_and_tail) {
  fixed_heap(levels[_i]);
  /* Top user pointer base+16; align 64: leader 48 (>= 32), tail 48 -> top. */
  unsigned char *p = A->aligned_alloc(H, 64, 100);
  ck_assert_ptr_eq(p, BASE + 64);
  valid("aligned");
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.free_blocks, 1);
  ck_assert_uint_eq(st.free_bytes, 48);
  ck_assert_uint_eq(A->usable_size(H, p), 104);
  A->free(H, p);
  valid("free aligned");
  st = stats();
  ck_assert_uint_eq(st.free_blocks, 0);
  ck_assert_uint_eq(st.top_bytes, sizeof buf - 16);
  done();
}
END_TEST

START_TEST(t_aligned_no_leader) {
  fixed_heap(levels[_i]);
  unsigned char *a = xmalloc(40); /* block 48: top user pointer at base + 64 */
  unsigned char *p = A->aligned_alloc(H, 64, 100);
  ck_assert_ptr_eq(p, BASE + 64);
  ck_assert_ptr_eq(p, a + 48);
  valid("aligned, no leader");
  ck_assert_uint_eq(stats().free_blocks, 0); /* tail merged into the top */
  A->free(H, p);
  A->free(H, a);
  valid("free");
  done();
}
END_TEST

START_TEST(t_aligned_short_leader_skips_ahead) {
  fixed_heap(levels[_i]);
  unsigned char *a = xmalloc(8); /* block 32: top user pointer at base + 48 */
  /* base + 64 would leave a 16-byte leader (< MIN_BLOCK): use base + 128;
   * leader 80. The block taken is tb_aligned_take_size(112, 64, 32) = 192,
   * so after the leader exactly the 112-byte block is left (no tail). */
  unsigned char *p = A->aligned_alloc(H, 64, 100);
  ck_assert_ptr_eq(p, BASE + 128);
  valid("aligned, short leader");
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.free_blocks, 1);
  ck_assert_uint_eq(st.free_bytes, 80);
  ck_assert_uint_eq(A->usable_size(H, p), 104);
  A->free(H, p); /* merges with the leader and the top */
  A->free(H, a);
  st = stats();
  ck_assert_uint_eq(st.free_blocks, 0);
  ck_assert_uint_eq(st.top_bytes, sizeof buf - 16);
  done();
}
END_TEST

START_TEST(t_aligned_every_power_mmap) {
  use_level(levels[_i]);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  H = A->create(&o);
  ck_assert_ptr_nonnull(H);
  void *ps[32];
  size_t k = 0;
  bool ok = true;
  for (size_t a = 1; a <= ((size_t)1 << 21); a <<= 1) {
    size_t n = 100 + 3 * k;
    void *p = A->aligned_alloc(H, a, n);
    ck_assert_msg(p != NULL, "aligned_alloc(%zu) failed", a);
    ok &= ((uintptr_t)p & ((a < 16 ? 16 : a) - 1)) == 0 && A->usable_size(H, p) >= n;
    tb_fill(p, n, (unsigned)k);
    ps[k++] = p;
  }
  ck_assert_msg(ok, "an aligned block was misaligned or too small");
  void *big = A->aligned_alloc(H, (size_t)1 << 20, 300 << 10); /* large: from the system */
  ck_assert_ptr_nonnull(big);
  ck_assert_uint_eq((uintptr_t)big & ((1u << 20) - 1), 0);
  ck_assert_uint_eq(stats().large_blocks, 1);
  valid("every alignment");
  for (size_t i = 0; i < k; i++) {
    ck_assert_msg(tb_verify(ps[i], 100 + 3 * i, (unsigned)i), "aligned block %zu damaged", i);
    A->free(H, ps[i]);
  }
  A->free(H, big);
  valid("all freed");
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.free_blocks, 0);
  ck_assert_uint_eq(st.live_blocks, 0);
  ck_assert_uint_eq(st.large_blocks, 0);
  done();
}
END_TEST

/* ---- realloc paths ------------------------------------------------------------------ */

START_TEST(t_realloc_shrink_split) {
  fixed_heap(levels[_i]);
  void *p = xmalloc(1000), *g = xmalloc(1);
  tb_fill(p, 1000, 1);
  ck_assert_ptr_eq(A->realloc(H, p, 100), p);
  ck_assert(tb_verify(p, 100, 1));
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.free_blocks, 1);
  ck_assert_uint_eq(st.free_bytes, 1008 - 112);
  ck_assert_uint_eq(A->usable_size(H, p), 104);
  valid("shrink");
  ck_assert_ptr_eq(A->realloc(H, p, 90), p); /* same block size: nothing to split */
  ck_assert_uint_eq(stats().free_bytes, 1008 - 112);
  /* 80 bytes would do, but 112 is within the room of 80 (2 x 80): a small
   * shrink keeps the block whole (tb_realloc_keeps). */
  ck_assert_ptr_eq(A->realloc(H, p, 60), p);
  ck_assert_uint_eq(A->usable_size(H, p), 104);
  ck_assert_uint_eq(stats().free_bytes, 1008 - 112);
  valid("small shrink kept");
  (void)g;
  done();
}
END_TEST

START_TEST(t_realloc_grow_into_free_next) {
  fixed_heap(levels[_i]);
  void *a = xmalloc(100), *b = xmalloc(200), *g = xmalloc(1);
  tb_fill(a, 100, 2);
  A->free(H, b); /* 208-byte free block after a (112) */
  tb_stats_t s0 = stats();
  ck_assert_ptr_eq(A->realloc(H, a, 250), a); /* 112 + 208 = 320 >= 272: split 48 */
  ck_assert(tb_verify(a, 100, 2));
  tb_stats_t s1 = stats();
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, 48);
  if (s0.realloc_inplace != TB_STAT_NA) ck_assert_uint_eq(s1.realloc_inplace - s0.realloc_inplace, 1);
  valid("grow into next");
  ck_assert_ptr_eq(A->realloc(H, a, 300), a); /* takes the 48 whole: 320 - 8 = 312 usable */
  ck_assert_uint_eq(A->usable_size(H, a), 312);
  ck_assert_uint_eq(stats().free_blocks, 0);
  valid("grow into next, no split");
  (void)g;
  done();
}
END_TEST

START_TEST(t_realloc_grow_into_top) {
  fixed_heap(levels[_i]);
  void *a = xmalloc(100);
  tb_fill(a, 100, 3);
  ck_assert_ptr_eq(A->realloc(H, a, 50000), a);
  ck_assert(tb_verify(a, 100, 3));
  ck_assert_uint_eq(stats().top_bytes, sizeof buf - 16 - 50016);
  valid("grow into top");
  done();
}
END_TEST

START_TEST(t_realloc_move_and_fail) {
  fixed_heap(levels[_i]);
  void *a = xmalloc(100), *g = xmalloc(1);
  tb_fill(a, 100, 4);
  void *q = A->realloc(H, a, 1000);
  ck_assert_ptr_ne(q, a);
  ck_assert(tb_verify(q, 100, 4));
  ck_assert_uint_eq(A->usable_size(H, q), tb_realloc_room(1008) - 8); /* a move takes the room of 1008 */
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.free_blocks, 1); /* the old block went to its bin */
  ck_assert_uint_eq(st.free_bytes, 112);
  valid("move");
  /* The next growth fits the room: the block stays whole (the room is not
   * split off again); a real shrink, below half, gives the tail back (to
   * the top here). */
  ck_assert_ptr_eq(A->realloc(H, q, 1500), q);
  ck_assert_uint_eq(A->usable_size(H, q), tb_realloc_room(1008) - 8);
  ck_assert_ptr_eq(A->realloc(H, q, 900), q);
  ck_assert_uint_eq(A->usable_size(H, q), 912 - 8);
  ck_assert_uint_eq(stats().free_bytes, 112);
  valid("room kept, then a real shrink");
  errno = 0;
  ck_assert_ptr_null(A->realloc(H, q, sizeof buf)); /* cannot fit a fixed space */
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert(tb_verify(q, 100, 4));
  valid("failed realloc");
  (void)g;
  done();
}
END_TEST

/* A move whose room does not fit the space takes what the request needs. */
START_TEST(t_realloc_room_fallback) {
  fixed_heap(levels[_i]);
  void *big = xmalloc(800000), *a = xmalloc(100), *g = xmalloc(1);
  tb_fill(a, 100, 6);
  size_t top = stats().top_bytes;
  ck_assert_uint_lt(top, tb_realloc_room(200016)); /* room capped below the large threshold: 262128 */
  ck_assert_uint_ge(top, (size_t)200016);
  void *q = A->realloc(H, a, 200000);
  ck_assert_ptr_nonnull(q);
  ck_assert(tb_verify(q, 100, 6));
  ck_assert_uint_eq(A->usable_size(H, q), 200008);
  valid("room fallback");
  (void)big;
  (void)g;
  done();
}
END_TEST

START_TEST(t_realloc_large) {
  use_level(levels[_i]);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  H = A->create(&o);
  void *p = xmalloc(300 << 10);
  tb_fill(p, 300 << 10, 5);
  ck_assert_uint_eq(stats().large_blocks, 1);
  ck_assert_ptr_eq(A->realloc(H, p, 290 << 10), p); /* still large, fits */
  void *q = A->realloc(H, p, 1000);                  /* no longer large: into the space */
  ck_assert_ptr_ne(q, p);
  ck_assert(tb_verify(q, 1000, 5));
  ck_assert_uint_eq(stats().large_blocks, 0);
  valid("large realloc");
  A->free(H, q);
  done();
}
END_TEST

/* ---- growth and its failure ----------------------------------------------------------- */

START_TEST(t_growth) {
  use_level(levels[_i]);
  space_t sp;
  space_config_t cfg = {.initial = 64 << 10};
  ck_assert_int_eq(space_init_mmap(&sp, &cfg), 0);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &sp};
  H = A->create(&o);
  size_t c0 = sp.committed;
  void *ps[64];
  for (int i = 0; i < 64; i++) ps[i] = xmalloc(4000); /* 256 KB > 64 KiB */
  ck_assert_uint_gt(sp.committed, c0);
  tb_stats_t st = stats();
  if (st.grows != TB_STAT_NA) ck_assert_uint_ge(st.grows, 1);
  ck_assert_uint_eq(st.committed_bytes, sp.committed);
  ck_assert_uint_ge(st.peak_committed_bytes, sp.committed);
  valid("growth");
  for (int i = 0; i < 64; i++) A->free(H, ps[i]);
  ck_assert_uint_eq(stats().top_bytes, sp.committed - 16);
  done();
  space_destroy(&sp);
}
END_TEST

START_TEST(t_growth_failure_injected) {
  use_level(levels[_i]);
  space_os_failing_t f;
  space_os_failing_init(&f, NULL);
  space_t sp;
  space_config_t cfg = {.initial = 64 << 10, .os = &f.os};
  ck_assert_int_eq(space_init_mmap(&sp, &cfg), 0);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &sp};
  H = A->create(&o);
  f.commits_left = 0;
  f.maps_left = 0;
  void *a = xmalloc(30000);
  errno = 0;
  ck_assert_ptr_null(A->malloc(H, 60000)); /* needs growth, which fails */
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(A->malloc(H, 1 << 20)); /* large: the mapping fails */
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(A->aligned_alloc(H, 4096, 60000));
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert_int_ge(f.failures, 2);
  valid("failed growth");
  void *b = xmalloc(20000); /* what fits still works */
  A->free(H, a);
  A->free(H, b);
  f.commits_left = -1;
  void *c = xmalloc(60000);
  tb_fill(c, 60000, 6);
  ck_assert(tb_verify(c, 60000, 6));
  valid("growth after failure");
  A->free(H, c);
  done();
  space_destroy(&sp);
}
END_TEST

START_TEST(t_fixed_space_full) {
  fixed_heap(levels[_i]);
  void *p = xmalloc(sizeof buf - 64); /* the whole top but 32 bytes */
  errno = 0;
  ck_assert_ptr_null(A->malloc(H, 64));
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert_ptr_nonnull(A->malloc(H, 1)); /* the last 32 bytes: top taken whole */
  ck_assert_uint_eq(stats().top_bytes, 0);
  valid("full");
  A->free(H, p);
  valid("freed");
  done();
}
END_TEST

/* ---- locked mode, with the single-thread skip turned off ---------------------------- */

START_TEST(t_locked_slow_paths) {
  use_level(levels[_i]);
  tb_lock_force_always(true);
  tb_heap_opts_t o = {.mode = TB_MODE_LOCKED};
  H = A->create(&o);
  void *p[100];
  for (size_t k = 1; k < 100; k++) p[k] = xmalloc(k * 7);
  for (size_t k = 1; k < 100; k += 2) A->free(H, p[k]);
  for (size_t k = 2; k < 100; k += 2) p[k] = A->realloc(H, p[k], k * 20);
  for (size_t k = 2; k < 100; k += 2) A->free(H, p[k]);
  valid("locked");
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.live_blocks, 0);
  ck_assert_uint_eq(st.free_blocks, 0);
  tb_lock_force_always(false);
  done();
}
END_TEST

/* ---- the fast paths under a whole-heap check after every operation ------------------- */

/* Level 3 validates inside every call but has no fast paths; level 0 has
 * them. Here the level 0 copy runs random sequences (mostly small sizes,
 * so the fast paths and the shortcut merges are taken) with check() after
 * every operation. */
START_TEST(t_random_fast_paths_checked) {
  use_level(0);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  H = A->create(&o);
  enum { NLIVE = 300 };
  void *live[NLIVE] = {0};
  size_t len[NLIVE] = {0};
  tb_rng_t r = {0xfa57u + (uint64_t)_i};
  char why[256] = "";
  long bad_op = -1;
  bool content_ok = true;
  for (long op = 0; op < 30000 && bad_op < 0; op++) {
    size_t i = tb_rand(&r) % NLIVE;
    unsigned k = (unsigned)(tb_rand(&r) % 10);
    size_t n = k < 8 ? (size_t)(tb_rand(&r) % 200) : (size_t)(tb_rand(&r) % 5000);
    if (live[i] && k < 5) {
      content_ok &= tb_verify(live[i], len[i], (unsigned)i);
      A->free(H, live[i]);
      live[i] = NULL;
    } else if (live[i]) {
      void *q = A->realloc(H, live[i], n + 1);
      if (!q) { bad_op = op; snprintf(why, sizeof why, "realloc failed"); break; }
      size_t keep = len[i] < n + 1 ? len[i] : n + 1;
      content_ok &= tb_verify(q, keep, (unsigned)i);
      live[i] = q;
      len[i] = n + 1;
      tb_fill(q, len[i], (unsigned)i);
    } else {
      live[i] = k == 9 ? A->aligned_alloc(H, (size_t)32 << (tb_rand(&r) % 6), n) : A->malloc(H, n);
      if (!live[i]) { bad_op = op; snprintf(why, sizeof why, "allocation failed"); break; }
      len[i] = n;
      tb_fill(live[i], n, (unsigned)i);
    }
    if (!A->check(H, why, sizeof why)) bad_op = op;
  }
  ck_assert_msg(bad_op < 0, "op %ld: %s", bad_op, why);
  ck_assert_msg(content_ok, "a block's content changed");
  for (size_t i = 0; i < NLIVE; i++) A->free(H, live[i]);
  valid("random, all freed");
  tb_stats_t st = stats();
  ck_assert_uint_eq(st.live_blocks, 0);
  ck_assert_uint_eq(st.free_blocks, 0);
  done();
}
END_TEST

/* ---- detected misuse (levels 1 and 3) --------------------------------------------------- */

static const int misuse_levels[] = {1, 3};

START_TEST(t_double_free) {
  fixed_heap(misuse_levels[_i]);
  void *p = xmalloc(40);
  xmalloc(40);
  A->free(H, p);
  A->free(H, p);
}
END_TEST

START_TEST(t_double_free_merged_into_top) {
  fixed_heap(misuse_levels[_i]);
  void *p = xmalloc(40);
  A->free(H, p);
  A->free(H, p);
}
END_TEST

START_TEST(t_double_free_large) {
  use_level(misuse_levels[_i]);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  H = A->create(&o);
  void *p = xmalloc(1 << 20);
  A->free(H, p);
  A->free(H, p);
}
END_TEST

START_TEST(t_interior_free) {
  fixed_heap(misuse_levels[_i]);
  char *p = xmalloc(256);
  memset(p, 0, 256);
  A->free(H, p + 64);
}
END_TEST

START_TEST(t_misaligned_free) {
  fixed_heap(misuse_levels[_i]);
  char *p = xmalloc(256);
  A->free(H, p + 8);
}
END_TEST

START_TEST(t_foreign_free) {
  fixed_heap(misuse_levels[_i]);
  static _Alignas(16) char other[64];
  xmalloc(16);
  A->free(H, other + 16);
}
END_TEST

START_TEST(t_realloc_of_freed) {
  fixed_heap(misuse_levels[_i]);
  void *p = xmalloc(40);
  xmalloc(40);
  A->free(H, p);
  A->realloc(H, p, 100);
}
END_TEST

/* Level 3 catches corruption that no operation touches: a header
 * overwritten after thousands of operations (so the walk is no longer run
 * after each), followed by operations elsewhere, dies at the next walk at
 * the latest when the heap is destroyed. */
START_TEST(t_level3_catches_late_corruption) {
  fixed_heap(3);
  void *keep[64];
  for (int r = 0; r < 3000; r++) {
    void *q = A->malloc(H, (size_t)(16 + r % 200));
    ck_assert_ptr_nonnull(q);
    if (r % 50 < 49) A->free(H, q); /* every 50th block stays, so the heap has many blocks */
    else keep[(r / 50) % 64] = q;
  }
  ((size_t *)keep[3])[-1] = (size_t)1 << 40 | 3; /* the header of a block in use: an absurd size */
  for (int r = 0; r < 10; r++) A->free(H, A->malloc(H, 600)); /* ops that do not touch it */
  done(); /* the last walk, at the latest: SIGABRT */
}
END_TEST

static Suite *inline_suite(void) {
  Suite *s = suite_create("inline");
  TCase *tc = tcase_create("layout");
  tcase_set_timeout(tc, 120);
  int nl = (int)(sizeof levels / sizeof levels[0]);
  tcase_add_loop_test(tc, t_first_block_and_sizes, 0, nl);
  tcase_add_loop_test(tc, t_merge_none, 0, nl);
  tcase_add_loop_test(tc, t_merge_prev, 0, nl);
  tcase_add_loop_test(tc, t_merge_next, 0, nl);
  tcase_add_loop_test(tc, t_merge_both, 0, nl);
  tcase_add_loop_test(tc, t_merge_top_and_prev, 0, nl);
  tcase_add_loop_test(tc, t_split_from_bin, 0, nl);
  tcase_add_loop_test(tc, t_small_bin_is_lifo, 0, nl);
  tcase_add_loop_test(tc, t_large_bin_best_fit, 0, nl);
  tcase_add_loop_test(tc, t_aligned_leader_and_tail, 0, nl);
  tcase_add_loop_test(tc, t_aligned_no_leader, 0, nl);
  tcase_add_loop_test(tc, t_aligned_short_leader_skips_ahead, 0, nl);
  tcase_add_loop_test(tc, t_aligned_every_power_mmap, 0, nl);
  tcase_add_loop_test(tc, t_realloc_shrink_split, 0, nl);
  tcase_add_loop_test(tc, t_realloc_grow_into_free_next, 0, nl);
  tcase_add_loop_test(tc, t_realloc_grow_into_top, 0, nl);
  tcase_add_loop_test(tc, t_realloc_move_and_fail, 0, nl);
  tcase_add_loop_test(tc, t_realloc_room_fallback, 0, nl);
  tcase_add_loop_test(tc, t_realloc_large, 0, nl);
  tcase_add_loop_test(tc, t_growth, 0, nl);
  tcase_add_loop_test(tc, t_growth_failure_injected, 0, nl);
  tcase_add_loop_test(tc, t_fixed_space_full, 0, nl);
  tcase_add_loop_test(tc, t_locked_slow_paths, 0, nl);
  tcase_add_loop_test(tc, t_random_fast_paths_checked, 0, 3);
  suite_add_tcase(s, tc);
  TCase *tm = tcase_create("misuse");
  int nm = (int)(sizeof misuse_levels / sizeof misuse_levels[0]);
  tcase_add_loop_test_raise_signal(tm, t_double_free, SIGABRT, 0, nm);
  tcase_add_loop_test_raise_signal(tm, t_double_free_merged_into_top, SIGABRT, 0, nm);
  tcase_add_loop_test_raise_signal(tm, t_double_free_large, SIGABRT, 0, nm);
  tcase_add_loop_test_raise_signal(tm, t_interior_free, SIGABRT, 0, nm);
  tcase_add_loop_test_raise_signal(tm, t_misaligned_free, SIGABRT, 0, nm);
  tcase_add_loop_test_raise_signal(tm, t_foreign_free, SIGABRT, 0, nm);
  tcase_add_loop_test_raise_signal(tm, t_realloc_of_freed, SIGABRT, 0, nm);
  tcase_add_test_raise_signal(tm, t_level3_catches_late_corruption, SIGABRT);
  suite_add_tcase(s, tm);
  return s;
}

int main(void) {
  return tb_test_run(inline_suite(), NULL);
}
