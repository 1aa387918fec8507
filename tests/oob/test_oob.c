/* test_oob.c: unit tests of the oob design through the common API, for
 * either bin representation: `test_oob [oob|oob-array]` (default oob). The
 * heap's internals are observed through stats() (free blocks and bytes,
 * top bytes, splits, merges, bin steps) and check() (the level-3
 * whole-heap proof), never by reading the allocator's structures. Both
 * variants must pass the same tests with the same figures: they make the
 * same decisions. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_policy.h"
#include "tb_testutil.h"

static const char *NAME = "oob";  /* the variant under test (argv[1]) */
static bool ARRAYS;               /* NAME is the array variant */
static const tb_allocator_t *A;   /* NAME at check level 3 */
static tb_heap_t *H;

/* Block size of a request in oob (MIN_BLOCK 16), as tb_policy.h defines it. */
static size_t bs(size_t n) { return tb_block_size(n, 16); }

static tb_stats_t stats(tb_heap_t *h) {
  tb_stats_t st;
  A->stats(h, &st);
  return st;
}

static tb_stats_t stats1(tb_heap_t *h) {
  tb_stats_t st;
  tb_allocator_find(NAME, 1)->stats(h, &st);
  return st;
}

static void valid1(tb_heap_t *h) {
  char why[256] = "";
  ck_assert_msg(tb_allocator_find(NAME, 1)->check(h, why, sizeof why), "heap check failed: %s", why);
}

static void valid(tb_heap_t *h) {
  char why[256] = "";
  ck_assert_msg(A->check(h, why, sizeof why), "heap check failed: %s", why);
}

static void setup(void) {
  A = tb_allocator_find(NAME, 3);
  ck_assert_ptr_nonnull(A);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  H = A->create(&o);
  ck_assert_ptr_nonnull(H);
}

static void teardown(void) {
  A->destroy(H);
  H = NULL;
}

/* Four neighbours a b c d taken from the top in a row, and a guard after
 * them so that d does not touch the top unless a test wants it to. */
typedef struct {
  char *p[5];
  size_t n[5];
} row_t;

static row_t make_row(size_t n) {
  row_t r;
  for (int i = 0; i < 5; i++) {
    r.n[i] = n + 16 * (size_t)i;
    r.p[i] = A->malloc(H, r.n[i]);
    ck_assert_ptr_nonnull(r.p[i]);
    if (i) ck_assert_msg(r.p[i] == r.p[i - 1] + bs(r.n[i - 1]), "blocks from the top are not adjacent");
  }
  return r;
}

/* ---- merging ------------------------------------------------------------- */

/* A heap of allocator a on a fresh mmap space of `initial` bytes whose
 * OS calls go through the failure injector f (commits succeed until the
 * test sets f->commits_left). */
static tb_heap_t *failing_heap(const tb_allocator_t *a, space_os_failing_t *f, space_t *sp, size_t initial) {
  space_os_failing_init(f, NULL);
  space_config_t cfg = {.initial = initial, .os = &f->os};
  ck_assert_int_eq(space_init_mmap(sp, &cfg), 0);
  tb_heap_opts_t o = {.space = sp};
  tb_heap_t *h = a->create(&o);
  ck_assert_ptr_nonnull(h);
  return h;
}

START_TEST(t_merge_none) {
  row_t r = make_row(100);
  tb_stats_t s0 = stats(H);
  A->free(H, r.p[1]);
  tb_stats_t s1 = stats(H);
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, bs(r.n[1]));
  if (tb_stats_enabled()) ck_assert_uint_eq(s1.merges, s0.merges);
  valid(H);
}
END_TEST

START_TEST(t_merge_prev) {
  row_t r = make_row(100);
  A->free(H, r.p[0]);
  tb_stats_t s0 = stats(H);
  A->free(H, r.p[1]);
  tb_stats_t s1 = stats(H);
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, bs(r.n[0]) + bs(r.n[1]));
  if (tb_stats_enabled()) ck_assert_uint_eq(s1.merges, s0.merges + 1);
  /* The merged block serves a request of the combined size at a's address. */
  void *q = A->malloc(H, bs(r.n[0]) + bs(r.n[1]) - 8);
  ck_assert_ptr_eq(q, r.p[0]);
  valid(H);
}
END_TEST

START_TEST(t_merge_next) {
  row_t r = make_row(100);
  A->free(H, r.p[2]);
  tb_stats_t s0 = stats(H);
  A->free(H, r.p[1]);
  tb_stats_t s1 = stats(H);
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, bs(r.n[1]) + bs(r.n[2]));
  if (tb_stats_enabled()) ck_assert_uint_eq(s1.merges, s0.merges + 1);
  void *q = A->malloc(H, bs(r.n[1]) + bs(r.n[2]) - 8);
  ck_assert_ptr_eq(q, r.p[1]);
  valid(H);
}
END_TEST

START_TEST(t_merge_both) {
  row_t r = make_row(100);
  A->free(H, r.p[0]);
  A->free(H, r.p[2]);
  tb_stats_t s0 = stats(H);
  ck_assert_uint_eq(s0.free_blocks, 2);
  A->free(H, r.p[1]);
  tb_stats_t s1 = stats(H);
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, bs(r.n[0]) + bs(r.n[1]) + bs(r.n[2]));
  if (tb_stats_enabled()) ck_assert_uint_eq(s1.merges, s0.merges + 2);
  valid(H);
}
END_TEST

START_TEST(t_merge_top_and_prev) {
  row_t r = make_row(100);
  tb_stats_t s0 = stats(H);
  A->free(H, r.p[4]); /* last block: joins the top */
  tb_stats_t s1 = stats(H);
  ck_assert_uint_eq(s1.free_blocks, 0);
  ck_assert_uint_eq(s1.top_bytes, s0.top_bytes + bs(r.n[4]));
  A->free(H, r.p[2]); /* a free block in a bin */
  A->free(H, r.p[3]); /* merges with the top and its free predecessor */
  tb_stats_t s2 = stats(H);
  ck_assert_uint_eq(s2.free_blocks, 0);
  ck_assert_uint_eq(s2.top_bytes, s0.top_bytes + bs(r.n[2]) + bs(r.n[3]) + bs(r.n[4]));
  if (tb_stats_enabled()) ck_assert_uint_eq(s2.merges, s0.merges + 3);
  /* The next block comes from the top at c's old place. */
  ck_assert_ptr_eq(A->malloc(H, 8), r.p[2]);
  valid(H);
}
END_TEST

/* ---- splitting and the fit rule -------------------------------------------- */

START_TEST(t_split_small) {
  char *a = A->malloc(H, 1000);
  void *guard = A->malloc(H, 10);
  ck_assert(a && guard);
  A->free(H, a);
  tb_stats_t s0 = stats(H);
  char *b = A->malloc(H, 100); /* first non-empty bin above: a's, split */
  ck_assert_ptr_eq(b, a);
  tb_stats_t s1 = stats(H);
  ck_assert_uint_eq(s1.free_blocks, 1);
  ck_assert_uint_eq(s1.free_bytes, bs(1000) - bs(100));
  if (tb_stats_enabled()) ck_assert_uint_eq(s1.splits, s0.splits + 1);
  /* Exact fit of the remainder: no split. */
  char *c = A->malloc(H, bs(1000) - bs(100) - 8);
  ck_assert_ptr_eq(c, a + bs(100));
  tb_stats_t s2 = stats(H);
  ck_assert_uint_eq(s2.free_blocks, 0);
  if (tb_stats_enabled()) ck_assert_uint_eq(s2.splits, s1.splits);
  valid(H);
}
END_TEST

START_TEST(t_small_bin_lifo) {
  void *x[6];
  for (int i = 0; i < 6; i++) x[i] = A->malloc(H, 40);
  A->free(H, x[0]);
  A->free(H, x[2]);
  A->free(H, x[4]);
  ck_assert_ptr_eq(A->malloc(H, 40), x[4]); /* most recently freed first */
  ck_assert_ptr_eq(A->malloc(H, 40), x[2]);
  valid(H);
}
END_TEST

/* The bin functions of tb_policy.h agree with each other: every bin's
 * smallest size lands in it, the size just below lands in the bin before,
 * sizes beyond the last bin's start land in the last; tb_same_bin_quick
 * never claims two sizes of different bins share one. */
START_TEST(t_bin_index_bounds) {
  bool ok = true;
  unsigned bad = 0;
  for (unsigned i = 1; i < TB_NBINS; i++) {
    size_t lo = tb_bin_min_size(i);
    if (tb_bin_index(lo) != i || (i > 1 && tb_bin_index(lo - TB_ALIGN_SIZE) != i - 1)) {
      ok = false;
      bad = i;
    }
  }
  ck_assert_msg(ok, "bin %u: tb_bin_index and tb_bin_min_size disagree", bad);
  size_t last = tb_bin_min_size(TB_NBINS - 1);
  ck_assert_uint_eq(tb_bin_index(last * 2), TB_NBINS - 1);
  ck_assert_uint_eq(tb_bin_index((size_t)1 << 60), TB_NBINS - 1);
  for (size_t x = TB_ALIGN_SIZE; x < ((size_t)1 << 16); x += TB_ALIGN_SIZE)
    for (size_t y = x; y < x + 4096; y += 7 * TB_ALIGN_SIZE)
      if (tb_same_bin_quick(x, y) && tb_bin_index(x) != tb_bin_index(y)) ok = false;
  ck_assert_msg(ok, "tb_same_bin_quick claimed two bins are one");
  ck_assert(tb_same_bin_quick(1024, 1024 + 240));
  ck_assert(!tb_same_bin_quick(1024, 1024 + 256));
}
END_TEST

START_TEST(t_large_bin_best_fit) {
  /* Three free blocks in large bin [1792, 2048): 2032, 1808, 1920 bytes. */
  const size_t sz[3] = {2032 - 8, 1808 - 8, 1920 - 8};
  char *b[3], *g[3];
  for (int i = 0; i < 3; i++) {
    b[i] = A->malloc(H, sz[i]);
    g[i] = A->malloc(H, 10);
    ck_assert(b[i] && g[i]);
  }
  for (int i = 0; i < 3; i++) A->free(H, b[i]);
  ck_assert_uint_eq(tb_bin_index(2032), tb_bin_index(1808));
  ck_assert_uint_eq(tb_bin_index(1920), tb_bin_index(1808));
  tb_stats_t s0 = stats(H);
  char *q = A->malloc(H, 1904 - 8); /* best fit: the 1920 block, split by 16 */
  ck_assert_ptr_eq(q, b[2]);
  tb_stats_t s1 = stats(H);
  if (tb_stats_enabled()) {
    ck_assert_uint_eq(s1.bin_steps, s0.bin_steps + 3);
    ck_assert_uint_eq(s1.splits, s0.splits + 1);
  }
  ck_assert_uint_eq(s1.free_blocks, 3); /* 2032, 1808 and the 16-byte tail */
  valid(H);
}
END_TEST

/* ---- aligned allocation ----------------------------------------------------- */

START_TEST(t_aligned_layouts) {
  /* (1) From the top with lead padding: the padding becomes a free block. */
  char *a = A->malloc(H, 8); /* moves the top off any large alignment */
  tb_stats_t s0 = stats(H);
  char *p = A->aligned_alloc(H, 4096, 100);
  ck_assert_ptr_nonnull(p);
  ck_assert(((uintptr_t)p & 4095) == 0);
  tb_stats_t s1 = stats(H);
  size_t lead = (size_t)(p - (a + bs(8)));
  ck_assert_msg(lead >= 16 && lead % 16 == 0, "lead padding %zu", lead);
  ck_assert_uint_eq(s1.free_blocks, s0.free_blocks + 1);
  ck_assert_uint_eq(s1.free_bytes, s0.free_bytes + lead);
  /* The tail went back to the top: the top lost only lead + block. */
  ck_assert_uint_eq(s0.top_bytes - s1.top_bytes, lead + bs(100));
  /* The next small block is carved from the lead (first non-empty bin). */
  char *n = A->malloc(H, 8);
  ck_assert_ptr_eq(n, a + bs(8));
  valid(H);
  /* (2) A small alignment: lead padding of 0 or 16 bytes. */
  char *q = A->aligned_alloc(H, 32, 24);
  ck_assert(((uintptr_t)q & 31) == 0);
  char *q2 = A->aligned_alloc(H, 32, 24);
  ck_assert(((uintptr_t)q2 & 31) == 0);
  valid(H);
  /* (3) Aligned from a free block in a bin: a big free block is carved. */
  char *big = A->malloc(H, 20000);
  void *guard = A->malloc(H, 8000); /* too big for the lead's remnant: after big */
  ck_assert_ptr_eq(guard, big + bs(20000));
  A->free(H, big);
  tb_stats_t s2 = stats(H);
  char *r = A->aligned_alloc(H, 1024, 6000); /* needs more than any other free block */
  ck_assert(((uintptr_t)r & 1023) == 0);
  ck_assert_msg(r >= big && r + 6000 <= big + 20000, "aligned block not carved from the free block");
  tb_stats_t s3 = stats(H);
  ck_assert_uint_eq(s3.free_bytes, s2.free_bytes - bs(6000));
  valid(H);
  /* Everything freed merges back: no free block remains besides the top. */
  A->free(H, r);
  A->free(H, guard);
  A->free(H, q2);
  A->free(H, q);
  A->free(H, n);
  A->free(H, p);
  A->free(H, a);
  tb_stats_t s4 = stats(H);
  ck_assert_uint_eq(s4.free_blocks, 0);
  ck_assert_uint_eq(s4.live_blocks, 0);
  valid(H);
}
END_TEST

START_TEST(t_aligned_large_mapped) {
  void *p = A->aligned_alloc(H, (size_t)1 << 20, 300 << 10); /* above the large threshold */
  ck_assert_ptr_nonnull(p);
  ck_assert(((uintptr_t)p & ((1u << 20) - 1)) == 0);
  tb_stats_t s = stats(H);
  ck_assert_uint_eq(s.large_blocks, 1);
  tb_fill(p, 300 << 10, 3);
  ck_assert(tb_verify(p, 300 << 10, 3));
  A->free(H, p);
  ck_assert_uint_eq(stats(H).large_blocks, 0);
  valid(H);
}
END_TEST

/* ---- realloc paths ------------------------------------------------------------- */

START_TEST(t_realloc_shrink_split) {
  char *a = A->malloc(H, 1000);
  void *g = A->malloc(H, 8);
  tb_fill(a, 1000, 1);
  char *b = A->realloc(H, a, 200);
  ck_assert_ptr_eq(b, a);
  ck_assert(tb_verify(b, 200, 1));
  tb_stats_t s = stats(H);
  ck_assert_uint_eq(s.free_blocks, 1);
  ck_assert_uint_eq(s.free_bytes, bs(1000) - bs(200));
  /* A small shrink keeps the block whole: 208 is within the room of 160 (2 x 160). */
  ck_assert_ptr_eq(A->realloc(H, b, 150), a);
  ck_assert_uint_eq(A->usable_size(H, a), bs(200) - 8);
  ck_assert_uint_eq(stats(H).free_bytes, bs(1000) - bs(200));
  /* Shrinking again gives the tail to the free successor (merge). */
  char *c = A->realloc(H, b, 50);
  ck_assert_ptr_eq(c, a);
  s = stats(H);
  ck_assert_uint_eq(s.free_blocks, 1);
  ck_assert_uint_eq(s.free_bytes, bs(1000) - bs(50));
  valid(H);
  A->free(H, g);
  A->free(H, c);
}
END_TEST

START_TEST(t_realloc_grow_top) {
  char *a = A->malloc(H, 10);
  tb_fill(a, 10, 2);
  tb_stats_t s0 = stats(H);
  char *b = A->realloc(H, a, 5000);
  ck_assert_ptr_eq(b, a);
  ck_assert(tb_verify(b, 10, 2));
  tb_stats_t s1 = stats(H);
  ck_assert_uint_eq(s1.top_bytes, s0.top_bytes - (bs(5000) - bs(10)));
  if (tb_stats_enabled()) ck_assert_uint_eq(s1.realloc_inplace, s0.realloc_inplace + 1);
  valid(H);
}
END_TEST

START_TEST(t_realloc_grow_into_next) {
  char *a = A->malloc(H, 100);
  char *b = A->malloc(H, 1000);
  void *g = A->malloc(H, 8);
  tb_fill(a, 100, 4);
  A->free(H, b);
  char *c = A->realloc(H, a, 500); /* takes part of b, the rest stays free */
  ck_assert_ptr_eq(c, a);
  ck_assert(tb_verify(c, 100, 4));
  tb_stats_t s = stats(H);
  ck_assert_uint_eq(s.free_blocks, 1);
  ck_assert_uint_eq(s.free_bytes, bs(100) + bs(1000) - bs(500));
  /* Not enough in the free successor: moves, copies, frees. */
  tb_fill(c, 500, 5);
  char *d = A->realloc(H, c, 5000);
  ck_assert_ptr_ne(d, c);
  ck_assert(tb_verify(d, 500, 5));
  valid(H);
  A->free(H, g);
  A->free(H, d);
}
END_TEST

START_TEST(t_realloc_move_blocked) {
  char *a = A->malloc(H, 100);
  void *g = A->malloc(H, 8); /* in use: a cannot grow in place */
  tb_fill(a, 100, 6);
  char *b = A->realloc(H, a, 300);
  ck_assert_ptr_ne(b, a);
  ck_assert(tb_verify(b, 100, 6));
  ck_assert_uint_eq(A->usable_size(H, b), tb_realloc_room(bs(300)) - 8); /* a move takes the room */
  tb_stats_t s = stats(H);
  ck_assert_uint_eq(s.free_blocks, 1); /* a's old block */
  ck_assert_uint_eq(s.free_bytes, bs(100));
  /* The next growth fits the room: the block stays whole (the room is not
   * split off again); a real shrink, below half, gives the tail back (to
   * the top: b is the last block). */
  uint64_t top = s.top_bytes;
  ck_assert_ptr_eq(A->realloc(H, b, 400), b);
  ck_assert_uint_eq(A->usable_size(H, b), tb_realloc_room(bs(300)) - 8);
  ck_assert_ptr_eq(A->realloc(H, b, 200), b);
  ck_assert_uint_eq(A->usable_size(H, b), bs(200) - 8);
  ck_assert_uint_eq(stats(H).top_bytes, top + tb_realloc_room(bs(300)) - bs(200));
  valid(H);
  A->free(H, g);
  A->free(H, b);
}
END_TEST

START_TEST(t_realloc_large) {
  char *a = A->malloc(H, 300 << 10);
  ck_assert_ptr_nonnull(a);
  tb_fill(a, 300 << 10, 7);
  char *b = A->realloc(H, a, 290 << 10); /* still large, fits the mapping */
  ck_assert_ptr_eq(b, a);
  char *c = A->realloc(H, b, 100); /* no longer large: moves into the space */
  ck_assert(tb_verify(c, 100, 7));
  ck_assert_uint_eq(stats(H).large_blocks, 0);
  valid(H);
  A->free(H, c);
}
END_TEST

/* ---- growth and its failure ------------------------------------------------------ */

START_TEST(t_growth) {
  space_t sp;
  space_config_t cfg = {.initial = 64 << 10};
  ck_assert_int_eq(space_init_mmap(&sp, &cfg), 0);
  tb_heap_opts_t o = {.space = &sp};
  tb_heap_t *h = A->create(&o);
  ck_assert_ptr_nonnull(h);
  size_t c0 = sp.committed;
  void *p = A->malloc(h, 100 << 10);
  ck_assert_ptr_nonnull(p);
  ck_assert(sp.committed > c0);
  tb_stats_t s;
  A->stats(h, &s);
  if (tb_stats_enabled()) ck_assert_uint_ge(s.grows, 1);
  ck_assert_uint_ge(s.committed_bytes, sp.committed);
  valid(h);
  A->destroy(h);
  space_destroy(&sp);
}
END_TEST

START_TEST(t_growth_failure_user_space) {
  space_os_failing_t f;
  space_t sp;
  tb_heap_t *h = failing_heap(A, &f, &sp, 64 << 10);
  char *a = A->malloc(h, 1000);
  tb_fill(a, 1000, 8);
  f.commits_left = 0;
  errno = 0;
  ck_assert_ptr_null(A->malloc(h, 100 << 10));
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(A->realloc(h, a, 100 << 10));
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert(tb_verify(a, 1000, 8));
  ck_assert_int_ge(f.failures, 2);
  valid(h);
  f.commits_left = -1;
  char *b = A->realloc(h, a, 100 << 10);
  ck_assert_ptr_nonnull(b);
  ck_assert(tb_verify(b, 1000, 8));
  valid(h);
  A->destroy(h);
  space_destroy(&sp);
}
END_TEST

START_TEST(t_growth_failure_records) {
  /* The record array is on the same os table: once its commits fail, new
   * blocks fail cleanly even though the user space has room. */
  space_os_failing_t f;
  space_t sp;
  tb_heap_t *h = failing_heap(A, &f, &sp, 1 << 20);
  f.commits_left = 0;
  static void *ps[1 << 16];
  size_t n = 0;
  for (; n < (1u << 16); n++) {
    errno = 0;
    ps[n] = A->malloc(h, 1);
    if (!ps[n]) break;
  }
  ck_assert_msg(n < (1u << 16), "record array never ran out");
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert_msg((size_t)n * 16 < (1u << 20), "failed only when the user space was full");
  valid(h);
  f.commits_left = -1;
  for (size_t i = n; i < n + 1000; i++) {
    ps[i] = A->malloc(h, 1);
    ck_assert_ptr_nonnull(ps[i]);
  }
  for (size_t i = 0; i < n + 1000; i++) A->free(h, ps[i]);
  ck_assert_uint_eq(stats(h).live_blocks, 0);
  valid(h);
  A->destroy(h);
  space_destroy(&sp);
}
END_TEST

START_TEST(t_fixed_space_many_records) {
  /* 65535 blocks: at level 3 the walk after every operation would make this
   * quadratic, so this test uses level 1 and calls check() itself. */
  const tb_allocator_t *A1 = tb_allocator_find(NAME, 1);
  ck_assert_ptr_nonnull(A1);
  static _Alignas(64) unsigned char buf[1 << 20];
  space_t sp;
  ck_assert_int_eq(space_init_fixed(&sp, buf, sizeof buf), 0);
  tb_heap_opts_t o = {.space = &sp};
  tb_heap_t *h = A1->create(&o);
  ck_assert_ptr_nonnull(h);
  static void *ps[1 << 16];
  size_t n = 0;
  while (n < (1u << 16) && (ps[n] = A1->malloc(h, 8)) != NULL) n++;
  /* 16-byte blocks fill the whole buffer: far more than one page of records. */
  ck_assert_uint_ge(n, (sizeof buf / 16) - 2);
  ck_assert_ptr_null(A1->malloc(h, 300 << 10)); /* no large blocks from a fixed space */
  valid1(h);
  for (size_t i = 0; i < n; i += 2) A1->free(h, ps[i]);
  tb_stats_t s = stats1(h);
  /* Every even block is free and alone, except the last one when it is
   * even: it joins the top. */
  size_t evens = (n + 1) / 2;
  ck_assert_uint_eq(s.free_blocks, evens - ((n - 1) % 2 == 0 ? 1 : 0));
  for (size_t i = 1; i < n; i += 2) A1->free(h, ps[i]);
  s = stats1(h);
  ck_assert_uint_eq(s.free_blocks, 0);
  ck_assert_uint_eq(s.live_blocks, 0);
  valid1(h);
  A1->destroy(h);
}
END_TEST

/* ---- bin order: both representations keep the policy's order ------------------ */

/* A merge removes members from the middle of their bin; the others keep
 * their order: LIFO among the same size afterwards. */
START_TEST(t_middle_removal_keeps_lifo) {
  char *x[6], *g[6];
  for (int i = 0; i < 6; i++) {
    x[i] = A->malloc(H, 40); /* block size 48: bin 3 */
    g[i] = A->malloc(H, 8);  /* guard, 16 bytes */
    ck_assert(x[i] && g[i]);
  }
  for (int i = 0; i < 6; i++) A->free(H, x[i]); /* bin 3, oldest first: x0 .. x5 */
  A->free(H, g[1]); /* x1 + g1 + x2 merge: x1 and x2 leave the middle of bin 3 */
  valid(H);
  tb_stats_t s = stats(H);
  ck_assert_uint_eq(s.free_blocks, 5);
  const int want[4] = {5, 4, 3, 0};
  for (int k = 0; k < 4; k++) ck_assert_ptr_eq(A->malloc(H, 40), x[want[k]]);
  /* The merged block (48 + 16 + 48 bytes) serves its exact size. */
  ck_assert_ptr_eq(A->malloc(H, 112 - 8), x[1]);
  valid(H);
}
END_TEST

/* Best fit in a large bin: among equal fits the most recently freed wins;
 * every member examined is a bin step (no exact fit: all are examined). */
START_TEST(t_best_fit_tie_newest) {
  const size_t sz[5] = {2032, 1920, 1808, 1920, 1856}; /* one large bin [1792, 2048) */
  char *b[5], *g[5];
  for (int i = 0; i < 5; i++) {
    b[i] = A->malloc(H, sz[i] - 8);
    g[i] = A->malloc(H, 8);
    ck_assert(b[i] && g[i]);
    ck_assert_uint_eq(tb_bin_index(sz[i]), tb_bin_index(2032));
  }
  for (int i = 0; i < 5; i++) A->free(H, b[i]);
  tb_stats_t s0 = stats(H);
  ck_assert_ptr_eq(A->malloc(H, 1904 - 8), b[3]); /* the 1920 freed last */
  tb_stats_t s1 = stats(H);
  if (tb_stats_enabled()) ck_assert_uint_eq(s1.bin_steps, s0.bin_steps + 5);
  ck_assert_ptr_eq(A->malloc(H, 1904 - 8), b[1]); /* then the other 1920 */
  /* An exact fit stops the scan at the newest member of that size. */
  A->free(H, g[0]);             /* b0 (2032) + g0 merge: 2048, the next bin */
  tb_stats_t s2 = stats(H);
  ck_assert_ptr_eq(A->malloc(H, 1856 - 8), b[4]); /* newest member, exact: one step */
  tb_stats_t s3 = stats(H);
  if (tb_stats_enabled()) ck_assert_uint_eq(s3.bin_steps, s2.bin_steps + 1);
  valid(H);
}
END_TEST

/* Thousands of free blocks in one bin (arrays grow far past their first
 * capacity): LIFO order survives the growth and removals from the middle.
 * Level 1 with explicit checks: a level-3 walk after each of 16000
 * operations would be quadratic. */
START_TEST(t_bin_many_members) {
  enum { N = 4000 };
  const tb_allocator_t *A1 = tb_allocator_find(NAME, 1);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  tb_heap_t *h = A1->create(&o);
  ck_assert_ptr_nonnull(h);
  static char *x[N], *g[N];
  for (int i = 0; i < N; i++) {
    x[i] = A1->malloc(h, 40);
    g[i] = A1->malloc(h, 8);
  }
  for (int i = 0; i < N; i++) A1->free(h, x[i]);
  A1->free(h, g[N / 2]); /* x[N/2] and x[N/2 + 1] leave the middle */
  A1->free(h, g[10]);    /* x[10] and x[11] too */
  valid1(h);
  ck_assert_uint_eq(stats1(h).free_blocks, N - 2);
  bool order = true;
  int bad = -1;
  for (int i = N - 1; i >= 0; i--) {
    if (i == N / 2 || i == N / 2 + 1 || i == 10 || i == 11) continue;
    if (A1->malloc(h, 40) != x[i] && order) {
      order = false;
      bad = i;
    }
  }
  ck_assert_msg(order, "bin order broken at block %d", bad);
  ck_assert_uint_eq(stats1(h).free_blocks, 2);
  valid1(h);
  A1->destroy(h);
}
END_TEST

/* Bin arrays live in their own space on the user space's os table: when
 * its commits fail, a free still completes (a block a full bin cannot take
 * is parked: free, in no bin), the heap stays valid, and the next
 * operation that can fail returns NULL + ENOMEM before it starts; once
 * commits succeed again everything is given back. The list variant needs
 * no memory for its bins: there the same mallocs succeed. */
START_TEST(t_growth_failure_bins) {
  enum { N = 20000 };
  const tb_allocator_t *A1 = tb_allocator_find(NAME, 1);
  space_os_failing_t f;
  space_t sp;
  tb_heap_t *h = failing_heap(A1, &f, &sp, 4 << 20);
  static char *x[N], *g[N];
  for (int i = 0; i < N; i++) {
    x[i] = A1->malloc(h, 40);
    g[i] = A1->malloc(h, 8);
    ck_assert(x[i] && g[i]);
  }
  tb_fill(g[0], 8, 9);
  f.commits_left = 0;
  for (int i = 0; i < N; i++) A1->free(h, x[i]); /* 20000 members in bin 3 */
  valid1(h);
  tb_stats_t s = stats1(h);
  ck_assert_uint_eq(s.free_blocks, N); /* parked blocks included */
  ck_assert_uint_eq(s.live_blocks, N);
  errno = 0;
  void *p = A1->malloc(h, 40);
  void *q = A1->malloc(h, 8);
  if (ARRAYS) {
    ck_assert_int_ge(f.failures, 1);
    ck_assert_ptr_null(p);
    ck_assert_ptr_null(q);
    ck_assert_int_eq(errno, ENOMEM);
  } else {
    ck_assert_int_eq(f.failures, 0);
    ck_assert_ptr_eq(p, x[N - 1]);
    ck_assert_ptr_nonnull(q);
    A1->free(h, q);
    A1->free(h, p);
  }
  valid1(h);
  ck_assert(tb_verify(g[0], 8, 9));
  f.commits_left = -1;
  /* The repair gives parked blocks back before deciding: LIFO as if none
   * had been parked (a parked block goes back as a free now would). */
  p = A1->malloc(h, 40);
  ck_assert_ptr_eq(p, x[N - 1]);
  valid1(h);
  A1->free(h, p);
  for (int i = 0; i < N; i++) A1->free(h, g[i]);
  s = stats1(h);
  ck_assert_uint_eq(s.live_blocks, 0);
  ck_assert_uint_eq(s.free_blocks, 0);
  valid1(h);
  A1->destroy(h);
  space_destroy(&sp);
}
END_TEST

/* metadata_bytes counts the bins' space too (arrays): it grows with a bin. */
START_TEST(t_metadata_counts_bins) {
  enum { N = 20000 };
  static char *x[N], *g[N];
  const tb_allocator_t *A1 = tb_allocator_find(NAME, 1);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  tb_heap_t *h = A1->create(&o);
  for (int i = 0; i < N; i++) {
    x[i] = A1->malloc(h, 40);
    g[i] = A1->malloc(h, 8);
  }
  ck_assert(x[N - 1] && g[N - 1]);
  tb_stats_t s0 = stats1(h);
  for (int i = 0; i < N; i++) A1->free(h, x[i]); /* the guards keep them apart: 20000 members of bin 3 */
  tb_stats_t s1 = stats1(h);
  /* Same blocks, same records: only the bins' arrays can add metadata. */
  if (ARRAYS) {
    /* 20000 entries of 8 bytes; the first commit (up to a 64 KiB page) held some */
    ck_assert_uint_ge(s1.metadata_bytes - s0.metadata_bytes, N * 8 - 65536);
    ck_assert_uint_eq(s1.committed_bytes - s0.committed_bytes, s1.metadata_bytes - s0.metadata_bytes);
  } else {
    ck_assert_uint_eq(s1.metadata_bytes, s0.metadata_bytes);
  }
  valid1(h);
  A1->destroy(h);
}
END_TEST

/* ---- statistics --------------------------------------------------------------- */

START_TEST(t_stats_user_words) {
  tb_stats_t s0 = stats(H);
  void *p[10];
  for (int i = 0; i < 10; i++) p[i] = A->malloc(H, 24 * (size_t)i);
  for (int i = 0; i < 10; i++) A->free(H, p[i]);
  tb_stats_t s1 = stats(H);
  ck_assert_uint_gt(s1.metadata_bytes, 0);
  ck_assert_uint_ne(s1.metadata_bytes, TB_STAT_NA);
  if (tb_stats_enabled()) {
    /* One word written per malloc, one read per free: nothing else. */
    ck_assert_uint_eq(s1.user_bytes_written - s0.user_bytes_written, 10 * 8);
    ck_assert_uint_eq(s1.user_bytes_read - s0.user_bytes_read, 10 * 8);
    ck_assert_uint_eq(s1.mallocs - s0.mallocs, 10);
    ck_assert_uint_eq(s1.frees - s0.frees, 10);
  } else {
    ck_assert_uint_eq(s1.user_bytes_written, TB_STAT_NA);
  }
}
END_TEST

/* ---- misuse (expected signals), at check levels 1 and 3 --------------------------- */

static const tb_allocator_t *M;
static tb_heap_t *MH;
static void msetup_level(int level) {
  M = tb_allocator_find(NAME, level);
  ck_assert_ptr_nonnull(M);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  MH = M->create(&o);
  ck_assert_ptr_nonnull(MH);
}
static void msetup1(void) { msetup_level(1); }
static void msetup3(void) { msetup_level(3); }
static void mteardown(void) { M->destroy(MH); }

START_TEST(t_double_free_in_bin) {
  void *p = M->malloc(MH, 40), *g = M->malloc(MH, 40);
  (void)g;
  M->free(MH, p);
  M->free(MH, p);
}
END_TEST

START_TEST(t_double_free_merged) {
  /* b merges into a's free block: b's record is recycled. */
  void *a = M->malloc(MH, 40), *b = M->malloc(MH, 40), *g = M->malloc(MH, 40);
  (void)g;
  M->free(MH, a);
  M->free(MH, b);
  M->free(MH, b);
}
END_TEST

START_TEST(t_double_free_top) {
  void *a = M->malloc(MH, 40);
  M->free(MH, a); /* joins the top, record recycled */
  M->free(MH, a);
}
END_TEST

START_TEST(t_realloc_freed) {
  void *a = M->malloc(MH, 40), *g = M->malloc(MH, 40);
  (void)g;
  M->free(MH, a);
  (void)M->realloc(MH, a, 100);
}
END_TEST

START_TEST(t_interior_pointer) {
  char *a = M->malloc(MH, 400);
  memset(a, 0x5a, 400); /* garbage where a back-pointer would be */
  M->free(MH, a + 64);
}
END_TEST

START_TEST(t_misaligned_pointer) {
  char *a = M->malloc(MH, 400);
  M->free(MH, a + 8);
}
END_TEST

START_TEST(t_stale_after_reuse) {
  /* b merges into a and its record slot is recycled for c at another
   * address: b's word still names that slot, whose block is now c. */
  char *a = M->malloc(MH, 40), *b = M->malloc(MH, 40), *g = M->malloc(MH, 40);
  M->free(MH, a);
  M->free(MH, b);
  char *c = M->malloc(MH, 2000);
  (void)g;
  (void)c;
  M->free(MH, b);
}
END_TEST

/* Level 3 catches corruption that no operation touches: a back-pointer
 * word overwritten after thousands of operations (so the walk is no
 * longer run after each), followed by operations elsewhere, dies at the
 * next walk at the latest when the heap is destroyed. */
START_TEST(t_level3_catches_late_corruption) {
  const tb_allocator_t *A3 = tb_allocator_find(NAME, 3);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  tb_heap_t *h = A3->create(&o);
  ck_assert_ptr_nonnull(h);
  void *keep[64];
  for (int r = 0; r < 3000; r++) {
    void *q = A3->malloc(h, (size_t)(16 + r % 200));
    ck_assert_ptr_nonnull(q);
    if (r % 50 < 49) A3->free(h, q);
    else keep[(r / 50) % 64] = q;
  }
  ((uint64_t *)keep[3])[-1] ^= 1; /* the back-pointer of a block in use names another record */
  for (int r = 0; r < 10; r++) A3->free(h, A3->malloc(h, 600)); /* ops that do not touch it */
  A3->destroy(h); /* the last walk, at the latest: SIGABRT */
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create(NAME);
  TCase *tc = tcase_create("unit");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, t_merge_none);
  tcase_add_test(tc, t_merge_prev);
  tcase_add_test(tc, t_merge_next);
  tcase_add_test(tc, t_merge_both);
  tcase_add_test(tc, t_merge_top_and_prev);
  tcase_add_test(tc, t_split_small);
  tcase_add_test(tc, t_small_bin_lifo);
  tcase_add_test(tc, t_bin_index_bounds);
  tcase_add_test(tc, t_large_bin_best_fit);
  tcase_add_test(tc, t_middle_removal_keeps_lifo);
  tcase_add_test(tc, t_best_fit_tie_newest);
  tcase_add_test(tc, t_bin_many_members);
  tcase_add_test(tc, t_growth_failure_bins);
  tcase_add_test(tc, t_metadata_counts_bins);
  tcase_add_test(tc, t_aligned_layouts);
  tcase_add_test(tc, t_aligned_large_mapped);
  tcase_add_test(tc, t_realloc_shrink_split);
  tcase_add_test(tc, t_realloc_grow_top);
  tcase_add_test(tc, t_realloc_grow_into_next);
  tcase_add_test(tc, t_realloc_move_blocked);
  tcase_add_test(tc, t_realloc_large);
  tcase_add_test(tc, t_growth);
  tcase_add_test(tc, t_growth_failure_user_space);
  tcase_add_test(tc, t_growth_failure_records);
  tcase_add_test(tc, t_fixed_space_many_records);
  tcase_add_test(tc, t_stats_user_words);
  suite_add_tcase(s, tc);
  void (*setups[2])(void) = {msetup1, msetup3};
  const char *names[2] = {"misuse-l1", "misuse-l3"};
  for (int k = 0; k < 2; k++) {
    TCase *tm = tcase_create(names[k]);
    tcase_add_checked_fixture(tm, setups[k], mteardown);
    tcase_add_test_raise_signal(tm, t_double_free_in_bin, SIGABRT);
    tcase_add_test_raise_signal(tm, t_double_free_merged, SIGABRT);
    tcase_add_test_raise_signal(tm, t_double_free_top, SIGABRT);
    tcase_add_test_raise_signal(tm, t_realloc_freed, SIGABRT);
    tcase_add_test_raise_signal(tm, t_interior_pointer, SIGABRT);
    tcase_add_test_raise_signal(tm, t_misaligned_pointer, SIGABRT);
    tcase_add_test_raise_signal(tm, t_stale_after_reuse, SIGABRT);
    if (k == 1) tcase_add_test_raise_signal(tm, t_level3_catches_late_corruption, SIGABRT);
    suite_add_tcase(s, tm);
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc > 1) NAME = argv[1];
  ARRAYS = strcmp(NAME, "oob-array") == 0;
  if (!tb_allocator_find(NAME, 0) || (strcmp(NAME, "oob") != 0 && !ARRAYS)) {
    fprintf(stderr, "test_oob: %s is not a variant of oob (oob, oob-array)\n", NAME);
    return 2;
  }
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
