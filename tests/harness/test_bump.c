/* test_bump.c: what the null allocator (allocators/bump/bump.c) promises
 * beyond the conformance suite, now that it is tuned to measure the
 * harness: the out-of-band block table (usable_size without a header,
 * blocks disjoint and in address order), calloc without clearing (zero even
 * on a reused, dirtied fixed buffer), realloc in place for the last block
 * and within a block's capacity, growth headroom for moved blocks, a fixed
 * space whose table never runs out before its blocks do, and a locked heap
 * shared by threads. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_testutil.h"

static const tb_allocator_t *B;

static void setup(void) {
  B = tb_allocator_find("bump", 0);
  ck_assert_ptr_nonnull(B);
}

static bool heap_ok(tb_heap_t *h) {
  char why[256] = "";
  bool ok = B->check(h, why, sizeof why);
  if (!ok) fprintf(stderr, "%s\n", why);
  return ok;
}

/* Many blocks of mixed sizes and alignments: each usable_size covers the
 * request, blocks come in address order and never overlap, contents stay. */
START_TEST(table_gives_usable_sizes) {
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  tb_heap_t *h = B->create(&o);
  ck_assert_ptr_nonnull(h);
  enum { N = 3000 };
  static unsigned char *p[N];
  static size_t req[N];
  tb_rng_t r = {7};
  for (size_t i = 0; i < N; i++) {
    req[i] = tb_rand_size(&r) % 5000;
    size_t a = (size_t)16 << (tb_rand(&r) % 6);
    p[i] = i % 7 == 3 ? B->aligned_alloc(h, a, req[i]) : B->malloc(h, req[i]);
    ck_assert_ptr_nonnull(p[i]);
    if (i % 7 == 3) ck_assert_uint_eq((uintptr_t)p[i] % a, 0);
    tb_fill(p[i], req[i], (unsigned)i);
  }
  bool ordered = true, covers = true, kept = true;
  for (size_t i = 0; i < N; i++) {
    size_t u = B->usable_size(h, p[i]);
    covers &= u >= req[i] && u >= 1 && u % 16 == 0;
    if (i + 1 < N) ordered &= p[i] + u <= p[i + 1];
    kept &= tb_verify(p[i], req[i], (unsigned)i);
  }
  ck_assert_msg(covers, "a usable_size is below its request");
  ck_assert_msg(ordered, "blocks overlap or are out of address order");
  ck_assert_msg(kept, "a block's content changed");
  ck_assert_uint_eq(B->usable_size(h, NULL), 0);
  tb_stats_t st;
  B->stats(h, &st);
  ck_assert_uint_eq(st.mallocs, N);
  ck_assert_uint_eq(st.metadata_bytes, N * sizeof(uint32_t)); /* one table entry per block */
  ck_assert(heap_ok(h));
  B->destroy(h);
}
END_TEST

/* calloc does not clear: it must still hand out zeros, also on a fixed
 * buffer that a previous heap dirtied. */
START_TEST(calloc_zero_on_reused_fixed_space) {
  static _Alignas(64) unsigned char buf[512 << 10];
  for (int round = 0; round < 2; round++) {
    space_t sp;
    ck_assert_int_eq(space_init_fixed(&sp, buf, sizeof buf), 0);
    tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &sp};
    tb_heap_t *h = B->create(&o);
    ck_assert_ptr_nonnull(h);
    bool zero = true;
    for (size_t n = 1; n < 3000; n += 97) {
      unsigned char *c = B->calloc(h, 1, n);
      ck_assert_ptr_nonnull(c);
      zero &= tb_all_zero(c, n);
      unsigned char *d = B->malloc(h, n);
      ck_assert_ptr_nonnull(d);
      memset(d, 0xAB, B->usable_size(h, d)); /* dirty for the next round too */
      memset(c, 0xCD, n);
    }
    ck_assert_msg(zero, "calloc returned dirty memory (round %d)", round);
    ck_assert(heap_ok(h));
    B->destroy(h);
  }
}
END_TEST

START_TEST(realloc_in_place_and_moves) {
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  tb_heap_t *h = B->create(&o);
  ck_assert_ptr_nonnull(h);
  /* The last block grows in place, again and again. */
  unsigned char *p = B->malloc(h, 10);
  tb_fill(p, 10, 1);
  unsigned char *q = B->realloc(h, p, 5000);
  ck_assert_ptr_eq(q, p);
  ck_assert(tb_verify(q, 10, 1));
  tb_fill(q, 5000, 2);
  q = B->realloc(h, q, 300000);
  ck_assert_ptr_eq(q, p);
  ck_assert(tb_verify(q, 5000, 2));
  ck_assert_uint_ge(B->usable_size(h, q), 300000);
  /* Shrinks stay. */
  ck_assert_ptr_eq(B->realloc(h, q, 100), q);
  ck_assert(tb_verify(q, 100, 2));
  /* A block with a neighbour after it moves, keeps its content, and gets
   * headroom: growing it again up to twice the size stays in place. */
  unsigned char *a = B->malloc(h, 1000);
  tb_fill(a, 1000, 3);
  unsigned char *blocker = B->malloc(h, 16);
  ck_assert_ptr_nonnull(blocker);
  unsigned char *b = B->realloc(h, a, 3000);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_ne(b, a);
  ck_assert(tb_verify(b, 1000, 3));
  ck_assert_uint_ge(B->usable_size(h, b), 6000);
  unsigned char *blocker2 = B->malloc(h, 16); /* b is no longer the last block */
  ck_assert_ptr_nonnull(blocker2);
  tb_fill(b, 3000, 4);
  ck_assert_ptr_eq(B->realloc(h, b, 6000), b);
  ck_assert(tb_verify(b, 3000, 4));
  /* Beyond the headroom it moves again. */
  unsigned char *c = B->realloc(h, b, 7000);
  ck_assert_ptr_ne(c, b);
  ck_assert(tb_verify(c, 3000, 4));
  /* The older blocks are unharmed and still found (the table search). */
  ck_assert(tb_verify(a, 1000, 3));
  ck_assert_uint_ge(B->usable_size(h, a), 1000);
  ck_assert_uint_ge(B->usable_size(h, blocker), 16);
  ck_assert(heap_ok(h));
  B->destroy(h);
}
END_TEST

/* A fixed space: the table (its top fifth) suffices for the smallest
 * blocks, so 16-byte blocks fill the rest; then ENOMEM, heap intact. */
START_TEST(fixed_space_fills_with_smallest_blocks) {
  static _Alignas(64) unsigned char buf[160 << 10];
  space_t sp;
  ck_assert_int_eq(space_init_fixed(&sp, buf, sizeof buf), 0);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE, .space = &sp};
  tb_heap_t *h = B->create(&o);
  ck_assert_ptr_nonnull(h);
  size_t n = 0;
  void *last = NULL;
  for (;;) {
    errno = 0;
    void *p = B->malloc(h, 16);
    if (!p) {
      ck_assert_int_eq(errno, ENOMEM);
      break;
    }
    last = p;
    n++;
  }
  size_t want = (sizeof buf - sizeof buf / 5) / 16;
  ck_assert_msg(n + 1 >= want, "only %zu 16-byte blocks in a %zu-byte fixed space (want %zu)", n, sizeof buf, want);
  ck_assert((unsigned char *)last + 16 <= buf + sizeof buf);
  ck_assert_ptr_null(B->realloc(h, last, 4096)); /* no room to move or grow */
  ck_assert_int_eq(errno, ENOMEM);
  ck_assert(heap_ok(h));
  B->destroy(h);
}
END_TEST

typedef struct {
  tb_heap_t *h;
  unsigned seed;
  bool ok;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  enum { N = 2000 };
  unsigned char *p[N];
  size_t n[N];
  tb_rng_t r = {w->seed};
  bool ok = true;
  for (size_t i = 0; i < N; i++) {
    n[i] = 1 + tb_rand(&r) % 300;
    p[i] = (i % 3 == 0) ? B->calloc(w->h, 1, n[i]) : B->malloc(w->h, n[i]);
    if (!p[i]) return NULL;
    if (i % 3 == 0) ok &= tb_all_zero(p[i], n[i]);
    tb_fill(p[i], n[i], w->seed * N + (unsigned)i);
    if (i % 5 == 4) { /* grow an older block of this thread */
      size_t k = i - 4;
      unsigned char *q = B->realloc(w->h, p[k], n[k] + 200);
      if (!q) return NULL;
      ok &= tb_verify(q, n[k], w->seed * N + (unsigned)k);
      p[k] = q;
      n[k] += 200;
      tb_fill(q, n[k], w->seed * N + (unsigned)k);
    }
  }
  for (size_t i = 0; i < N; i++) ok &= tb_verify(p[i], n[i], w->seed * N + (unsigned)i);
  w->ok = ok;
  return NULL;
}

START_TEST(locked_heap_shared_by_threads) {
  tb_heap_opts_t o = {.mode = TB_MODE_LOCKED};
  tb_heap_t *h = B->create(&o);
  ck_assert_ptr_nonnull(h);
  enum { T = 4 };
  pthread_t th[T];
  worker_t w[T];
  for (unsigned i = 0; i < T; i++) {
    w[i] = (worker_t){h, i + 1, false};
    ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
  }
  for (unsigned i = 0; i < T; i++) pthread_join(th[i], NULL);
  for (unsigned i = 0; i < T; i++) ck_assert_msg(w[i].ok, "thread %u saw damaged or dirty blocks", i);
  ck_assert(heap_ok(h));
  B->destroy(h);
}
END_TEST

int main(void) {
  Suite *s = suite_create("bump");
  TCase *tc = tcase_create("bump");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, table_gives_usable_sizes);
  tcase_add_test(tc, calloc_zero_on_reused_fixed_space);
  tcase_add_test(tc, realloc_in_place_and_moves);
  tcase_add_test(tc, fixed_space_fills_with_smallest_blocks);
  tcase_add_test(tc, locked_heap_shared_by_threads);
  suite_add_tcase(s, tc);
  return tb_test_run(s, NULL);
}
