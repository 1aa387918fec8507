/* test_oob_untouched.c: the oob design's central promise, checked byte by
 * byte: the allocator reads and writes user memory only at back-pointer
 * words. The heap lives on a fixed buffer; the test keeps a shadow copy of
 * the whole buffer and, after every operation, allows exactly these
 * differences:
 *   - the back-pointer word in front of a block just handed out;
 *   - the content calloc zeroes and realloc copies (the caller asked);
 * then the test itself fills every live block, and every block it just
 * freed, with a pattern (in the buffer and in the shadow alike). Every other
 * byte of the buffer, free memory and the top included, must be unchanged.
 * Run for either bin representation: `test_oob_untouched [oob|oob-array]`.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_testutil.h"
#include "oob/untouched.h"

static const char *NAME = "oob"; /* the variant under test (argv[1]) */

/* A block was handed out at p: its back-pointer word may have changed. */
static void accept_word(unsigned char *p) { memcpy(shadow + (p - buf) - 8, p - 8, 8); }

static void run(int level, uint64_t seed, long nops) {
  const tb_allocator_t *A = tb_allocator_find(NAME, level);
  ck_assert_ptr_nonnull(A);
  space_t sp;
  tb_rng_t r = {seed};
  region_init(&sp, &r);
  tb_heap_opts_t o = {.space = &sp};
  tb_heap_t *h = A->create(&o);
  ck_assert_ptr_nonnull(h);
  ck_assert_msg(first_diff() == BUF_SIZE, "create() wrote into the user region");

  u_run_t u = U_RUN_INIT;
  long frees = 0;
  tb_stats_t s0;
  A->stats(h, &s0);
  for (long op = 0; op < nops && u.bad == BUF_SIZE; op++) {
    u_kind_t k = next_op(&u, &r);
    size_t n = u.n;
    if (k == U_FREE) {
      live_t b = take_one(&u, &r);
      A->free(h, b.p);
      frees++;
      u.bad = first_diff();
      /* The freed block's bytes now belong to the allocator: mark them, so
       * that any later write of its into free memory shows. */
      if (u.bad == BUF_SIZE) fill_both(b.p, b.n, (unsigned)op ^ 0xf3u);
    } else if (k == U_REALLOC) {
      size_t i = tb_rand(&r) % u.nlive;
      live_t b = u.live[i];
      unsigned char *q = A->realloc(h, b.p, n ? n : 1);
      if (!q) {
        u.failures++;
        u.bad = first_diff();
        continue;
      }
      size_t nn = n ? n : 1;
      if (q != b.p) {
        accept_word(q);
        memcpy(shadow + (q - buf), q, nn < b.n ? nn : b.n); /* the copy */
      }
      u.bad = first_diff();
      if (u.bad == BUF_SIZE) {
        u.live[i] = (live_t){q, A->usable_size(h, q)};
        fill_both(q, u.live[i].n, (unsigned)op);
        /* A moved block's old place is free memory now: mark it too. */
        if (q != b.p) fill_both(b.p, b.n, (unsigned)op ^ 0x3fu);
      }
    } else {
      unsigned char *p;
      if (k == U_CALLOC) {
        p = A->calloc(h, 1, n);
        if (p) memcpy(shadow + (p - buf), p, n);
      } else if (k == U_ALIGNED) {
        p = A->aligned_alloc(h, u.align, n);
      } else {
        p = A->malloc(h, n);
      }
      if (!p) {
        u.failures++;
        u.bad = first_diff();
        continue;
      }
      u.allocs++;
      accept_word(p);
      u.bad = first_diff();
      if (u.bad == BUF_SIZE) {
        u.live[u.nlive] = (live_t){p, A->usable_size(h, p)};
        fill_both(p, u.live[u.nlive].n, (unsigned)op);
        u.nlive++;
      }
    }
    note_op(&u, op);
  }
  assert_untouched(&u, nops);
  /* And the statistics agree: one word written per block handed out, one
   * word read per free or realloc. */
  if (tb_stats_enabled()) {
    tb_stats_t s1;
    A->stats(h, &s1);
    ck_assert_uint_ge(s1.user_bytes_written - s0.user_bytes_written, 8u * (uint64_t)u.allocs);
    ck_assert_uint_le(s1.user_bytes_written - s0.user_bytes_written, 8u * (uint64_t)(s1.mallocs - s0.mallocs));
    ck_assert_uint_ge(s1.user_bytes_read - s0.user_bytes_read, 8u * (uint64_t)frees);
  }
  char why[256];
  ck_assert_msg(A->check(h, why, sizeof why), "heap check: %s", why);
  for (size_t i = 0; i < u.nlive; i++) A->free(h, u.live[i].p);
  ck_assert_msg(first_diff() == BUF_SIZE, "freeing the rest changed the user region");
  A->destroy(h);
}

START_TEST(t_untouched_l0) { run(0, 0xb00b5eedu + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000)); }
END_TEST

START_TEST(t_untouched_l3) { run(3, 0x0ddba11u + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000) / 4); }
END_TEST

int main(int argc, char **argv) {
  if (argc > 1) NAME = argv[1];
  if (!tb_allocator_find(NAME, 0) || strncmp(NAME, "oob", 3) != 0) {
    fprintf(stderr, "test_oob_untouched: %s is not a variant of oob\n", NAME);
    return 2;
  }
  Suite *s = suite_create(NAME);
  TCase *tc = tcase_create("untouched");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, t_untouched_l0, 0, 2);
  tcase_add_loop_test(tc, t_untouched_l3, 0, 1);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
