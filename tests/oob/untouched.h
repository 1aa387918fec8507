/* untouched.h: what the two "untouched" tests share (oob's,
 * tests/oob/test_oob_untouched.c, and oob-map's,
 * tests/oobmap/test_oobmap_untouched.c): the user region as a fixed,
 * page-aligned buffer of random bytes with a shadow copy, the comparison
 * of the two, the test's own pattern writes (to both), and the random
 * sequence of operations. Each test decides what difference an operation
 * may leave (oob: back-pointer words; oob-map: none) and how it watches
 * the allocator (oob: the shadow; oob-map: the region closed as well).
 * One test file includes it: the buffers are that file's own.
 */
#ifndef TESTS_OOB_UNTOUCHED_H
#define TESTS_OOB_UNTOUCHED_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_testutil.h"

#define BUF_SIZE ((size_t)1 << 20)
#define MAX_LIVE 400
static _Alignas(65536) unsigned char buf[BUF_SIZE]; /* page aligned for 4, 16 and 64 KiB pages */
static unsigned char shadow[BUF_SIZE];

/* A block the test holds: where, and its usable size (all of it is filled). */
typedef struct {
  unsigned char *p;
  size_t n;
} live_t;

/* The operations of the random sequence. */
typedef enum { U_FREE, U_REALLOC, U_CALLOC, U_ALIGNED, U_MALLOC } u_kind_t;

/* First differing offset in [0, BUF_SIZE), or BUF_SIZE. */
static size_t first_diff(void) {
  if (memcmp(buf, shadow, BUF_SIZE) == 0) return BUF_SIZE;
  for (size_t k = 0; k < BUF_SIZE; k++)
    if (buf[k] != shadow[k]) return k;
  return BUF_SIZE;
}

/* The test fills [p, p+n) with pattern s in both copies. */
static void fill_both(unsigned char *p, size_t n, unsigned s) {
  tb_fill(p, n, s);
  memcpy(shadow + (p - buf), p, n);
}

/* The buffer filled with random bytes from r, the shadow equal to it, and
 * a fixed space on the buffer in *sp. */
static void region_init(space_t *sp, tb_rng_t *r) {
  ck_assert_int_eq(space_init_fixed(sp, buf, sizeof buf), 0);
  for (size_t k = 0; k < BUF_SIZE; k++) buf[k] = (unsigned char)tb_rand(r);
  memcpy(shadow, buf, BUF_SIZE);
}

/* The next operation of the sequence, given nlive blocks held, and its
 * size *n (mostly under 300 bytes, a third up to 8000); *align for
 * U_ALIGNED: 1 B .. 2 KiB. */
static u_kind_t next_op(tb_rng_t *r, size_t nlive, size_t *n, size_t *align) {
  unsigned k = (unsigned)(tb_rand(r) % 100);
  *n = tb_rand(r) % 3 ? tb_rand(r) % 300 : tb_rand(r) % 8000;
  if (nlive && (k < 45 || nlive == MAX_LIVE)) return U_FREE;
  if (nlive && k < 60) return U_REALLOC;
  if (k < 70) return U_CALLOC;
  if (k < 80) {
    *align = (size_t)1 << (tb_rand(r) % 12);
    return U_ALIGNED;
  }
  return U_MALLOC;
}

/* The end of a run: no operation left a byte it may not have changed, and
 * the sequence was not degenerate. */
static void assert_untouched(size_t bad, long bad_op, const char *bad_what, long nops, long allocs, long failures) {
  ck_assert_msg(bad == BUF_SIZE, "op %ld (%s): byte at offset %zu of the user region changed", bad_op, bad_what, bad);
  ck_assert_msg(allocs > nops / 4 && failures < nops / 10, "sequence degenerate: %ld allocs, %ld failures", allocs,
                failures);
}

#endif /* TESTS_OOB_UNTOUCHED_H */
