/* test_oob_same.c: the fast paths of the oob design (unlocked calls, at
 * every check level) must take exactly the decisions of its general code
 * (the locked way, which a locked heap takes when tb_lock_force_always
 * makes it take the lock on every call). Two heaps, one at level L in
 * single mode (fast paths) and one at level 3 locked (general code),
 * each on its own fixed buffer of the same size and alignment, run the same
 * seeded sequence (random operations mixed with the patterns of the bench
 * seed benchmarks: runs of frees in address order and in reverse, realloc
 * growing in small steps with a small malloc between steps); every block
 * handed out must sit at the same offset in both buffers, and at the end
 * both heaps must report the same statistics, counters included.
 * `test_oob_same [oob|oob-array|oob-m32]` runs this for one variant; it also runs
 * the other variant against it at the same level (0 and 3): the two bin
 * representations must make the same decisions too (the same offsets and
 * statistics, bin steps included; only the bytes the bins' arrays hold,
 * committed and metadata, may differ).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_lock.h"
#include "tb_testutil.h"

#define BUF_SIZE ((size_t)1 << 21)
static _Alignas(4096) unsigned char buf_a[BUF_SIZE];
static _Alignas(4096) unsigned char buf_b[BUF_SIZE];

enum { MAX_LIVE = 512 };

static const char *NAME = "oob";  /* the variant under test (argv[1]) */
static const char *OTHER = "oob-array"; /* the other bin representation */

typedef struct {
  const tb_allocator_t *A, *B;
  tb_heap_t *ha, *hb;
  unsigned char *pa[MAX_LIVE]; /* block k of heap a */
  unsigned char *pb[MAX_LIVE]; /* the same block of heap b */
  size_t nlive;
  long mismatch_op; /* first operation whose results differ, -1: none */
  const char *mismatch_what;
} pair_t;

/* Results of one operation on both heaps: both NULL, or at the same offset. */
static bool same(pair_t *t, long op, const char *what, unsigned char *a, unsigned char *b) {
  bool ok = (!a && !b) || (a && b && a - buf_a == b - buf_b);
  if (!ok && t->mismatch_op < 0) {
    t->mismatch_op = op;
    t->mismatch_what = what;
  }
  return ok;
}

static void add(pair_t *t, long op, const char *what, unsigned char *a, unsigned char *b) {
  if (!same(t, op, what, a, b) || !a) return;
  if (t->nlive == MAX_LIVE) { /* full: drop the oldest */
    t->A->free(t->ha, t->pa[0]);
    t->B->free(t->hb, t->pb[0]);
    memmove(t->pa, t->pa + 1, (MAX_LIVE - 1) * sizeof t->pa[0]);
    memmove(t->pb, t->pb + 1, (MAX_LIVE - 1) * sizeof t->pb[0]);
    t->nlive--;
  }
  t->pa[t->nlive] = a;
  t->pb[t->nlive++] = b;
}

static void drop(pair_t *t, size_t k) {
  t->A->free(t->ha, t->pa[k]);
  t->B->free(t->hb, t->pb[k]);
  t->pa[k] = t->pa[--t->nlive];
  t->pb[k] = t->pb[t->nlive];
}

/* Heap a: variant na at level la; heap b: nb at level lb. */
static void run2(const char *na, int la, const char *nb, int lb, uint64_t seed, long nops) {
  pair_t t = {.mismatch_op = -1};
  t.A = tb_allocator_find(na, la);
  t.B = tb_allocator_find(nb, lb);
  bool cross = strcmp(na, nb) != 0;
  ck_assert_ptr_nonnull(t.A);
  ck_assert_ptr_nonnull(t.B);
  space_t sa, sb;
  ck_assert_int_eq(space_init_fixed(&sa, buf_a, sizeof buf_a), 0);
  ck_assert_int_eq(space_init_fixed(&sb, buf_b, sizeof buf_b), 0);
  /* The reference of a same-variant run: level 3, locked, the lock taken
   * on every call, so every operation goes the general way. */
  bool general = !cross && lb == 3;
  tb_heap_opts_t oa = {.space = &sa, .mode = TB_MODE_SINGLE},
                 ob = {.space = &sb, .mode = general ? TB_MODE_LOCKED : TB_MODE_SINGLE};
  tb_lock_force_always(general);
  t.ha = t.A->create(&oa);
  t.hb = t.B->create(&ob);
  ck_assert_ptr_nonnull(t.ha);
  ck_assert_ptr_nonnull(t.hb);
  tb_rng_t r = {seed};
  long patterns = 0;
  for (long op = 0; op < nops && t.mismatch_op < 0; op++) {
    unsigned k = (unsigned)(tb_rand(&r) % 100);
    size_t n = tb_rand(&r) % 4 ? tb_rand(&r) % 200 : tb_rand(&r) % 5000;
    if (k < 3) { /* hundred_fifo / hundred_lifo: a run of 1..99-byte blocks, freed in order or reversed */
      size_t first = t.nlive, cnt = 1 + tb_rand(&r) % 99;
      for (size_t j = 1; j <= cnt && t.mismatch_op < 0; j++)
        add(&t, op, "run malloc", t.A->malloc(t.ha, j), t.B->malloc(t.hb, j));
      bool rev = tb_rand(&r) & 1;
      while (t.nlive > first) {
        size_t j = rev ? t.nlive - 1 : first;
        t.A->free(t.ha, t.pa[j]);
        t.B->free(t.hb, t.pb[j]);
        memmove(t.pa + j, t.pa + j + 1, (t.nlive - j - 1) * sizeof t.pa[0]);
        memmove(t.pb + j, t.pb + j + 1, (t.nlive - j - 1) * sizeof t.pb[0]);
        t.nlive--;
      }
      patterns++;
    } else if (k < 6) { /* realloc_copy: grow by 8 bytes a step, a 1-byte malloc between steps */
      unsigned char *a = t.A->malloc(t.ha, 1), *b = t.B->malloc(t.hb, 1);
      if (!same(&t, op, "step malloc", a, b) || !a) continue;
      size_t steps = 1 + tb_rand(&r) % 100;
      for (size_t j = 1; j <= steps && t.mismatch_op < 0; j++) {
        add(&t, op, "step between", t.A->malloc(t.ha, 1), t.B->malloc(t.hb, 1));
        unsigned char *a2 = t.A->realloc(t.ha, a, 1 + 8 * j), *b2 = t.B->realloc(t.hb, b, 1 + 8 * j);
        if (!same(&t, op, "step realloc", a2, b2) || !a2) break;
        a = a2;
        b = b2;
      }
      add(&t, op, "step block", a, b);
      patterns++;
    } else if (t.nlive && (k < 45 || t.nlive == MAX_LIVE)) {
      drop(&t, tb_rand(&r) % t.nlive);
    } else if (t.nlive && k < 65) {
      size_t j = tb_rand(&r) % t.nlive;
      unsigned char *a = t.A->realloc(t.ha, t.pa[j], n), *b = t.B->realloc(t.hb, t.pb[j], n);
      if (!same(&t, op, "realloc", a, b)) break;
      if (n == 0) { /* realloc(p, 0) freed the block */
        t.pa[j] = t.pa[--t.nlive];
        t.pb[j] = t.pb[t.nlive];
      } else if (a) {
        t.pa[j] = a;
        t.pb[j] = b;
      }
    } else if (k < 72) {
      add(&t, op, "calloc", t.A->calloc(t.ha, 1, n), t.B->calloc(t.hb, 1, n));
    } else if (k < 78) {
      size_t al = (size_t)1 << (tb_rand(&r) % 10);
      add(&t, op, "aligned_alloc", t.A->aligned_alloc(t.ha, al, n), t.B->aligned_alloc(t.hb, al, n));
    } else {
      add(&t, op, "malloc", t.A->malloc(t.ha, n), t.B->malloc(t.hb, n));
    }
  }
  ck_assert_msg(t.mismatch_op < 0, "%s level %d and %s level %d differ at operation %ld (%s)", na, la, nb, lb,
                t.mismatch_op, t.mismatch_what);
  ck_assert_msg(patterns > 0, "the sequence ran none of the bench patterns");
  char why[256] = "";
  ck_assert_msg(t.A->check(t.ha, why, sizeof why), "heap check (%s level %d): %s", na, la, why);
  tb_stats_t xa, xb;
  t.A->stats(t.ha, &xa);
  t.B->stats(t.hb, &xb);
  const char *differs = NULL;
#define SAME_FIELD(name, unit, kind, desc)                                                          \
  if (!differs && xa.name != xb.name &&                                                           \
      !(cross && (!strcmp(#name, "committed_bytes") || !strcmp(#name, "peak_committed_bytes") ||    \
                  !strcmp(#name, "metadata_bytes"))))                                              \
    differs = #name;
  TB_STAT_FIELDS(SAME_FIELD)
#undef SAME_FIELD
  ck_assert_msg(!differs, "statistic %s differs between %s level %d and %s level %d", differs ? differs : "", na, la,
                nb, lb);
  while (t.nlive) drop(&t, 0);
  t.A->stats(t.ha, &xa);
  ck_assert_uint_eq(xa.live_blocks, 0);
  t.A->destroy(t.ha);
  t.B->destroy(t.hb);
  tb_lock_force_always(false);
}

static void run(int level, uint64_t seed, long nops) { run2(NAME, level, NAME, 3, seed, nops); }

START_TEST(t_same_l0) { run(0, 0x5a3e0000u + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000)); }
END_TEST

START_TEST(t_same_l1) { run(1, 0x5a3e1000u + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000) / 2); }
END_TEST

START_TEST(t_same_l2) { run(2, 0x5a3e2000u + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000) / 2); }
END_TEST

/* The two bin representations against each other. */
START_TEST(t_variants_l0) { run2(NAME, 0, OTHER, 0, 0x5a3e4000u + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000)); }
END_TEST

START_TEST(t_variants_l3) { run2(NAME, 3, OTHER, 3, 0x5a3e5000u, tb_env_long("TB_TEST_OPS", 20000) / 2); }
END_TEST

int main(int argc, char **argv) {
  if (argc > 1) NAME = argv[1];
  if (strcmp(NAME, "oob-array") == 0)
    OTHER = "oob";
  else if (strcmp(NAME, "oob-m32") == 0)
    OTHER = NULL; /* places as inline, not as oob (test_placement) */
  else if (strcmp(NAME, "oob-map") == 0)
    OTHER = NULL; /* no in-band word: its block sizes are not oob's */
  else if (strcmp(NAME, "oob") != 0) {
    fprintf(stderr, "test_oob_same: %s is not a variant of oob (oob, oob-array, oob-m32, oob-map)\n", NAME);
    return 2;
  }
  if (!tb_allocator_find(NAME, 0)) {
    fprintf(stderr, "test_oob_same: %s is not built\n", NAME);
    return 2;
  }
  Suite *s = suite_create(NAME);
  TCase *tc = tcase_create("same-decisions");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, t_same_l0, 0, 3);
  tcase_add_test(tc, t_same_l1);
  tcase_add_test(tc, t_same_l2);
  suite_add_tcase(s, tc);
  if (OTHER && tb_allocator_find(OTHER, 0)) { /* both bin representations built */
    TCase *tv = tcase_create("variants");
    tcase_set_timeout(tv, 300);
    tcase_add_loop_test(tv, t_variants_l0, 0, 2);
    tcase_add_test(tv, t_variants_l3);
    suite_add_tcase(s, tv);
  }
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
