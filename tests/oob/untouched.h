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

/* A run's state: the blocks held and what went wrong first. */
typedef struct {
  live_t live[MAX_LIVE];
  size_t nlive;
  long allocs, failures; /* blocks handed out, requests refused */
  size_t bad;            /* first offset an operation changed that it may not have; BUF_SIZE: none */
  long bad_op;           /* ... and that operation */
  const char *bad_what;
  size_t n, align;       /* the size of the current operation; U_ALIGNED: its alignment */
  const char *what;      /* the current operation's name */
} u_run_t;
#define U_RUN_INIT {.bad = BUF_SIZE, .bad_op = -1, .bad_what = ""}

/* The operations of the random sequence. */
typedef enum { U_FREE, U_REALLOC, U_CALLOC, U_ALIGNED, U_MALLOC } u_kind_t;
static const char *const u_name[] = {"free", "realloc", "calloc", "aligned_alloc", "malloc"};

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

/* The next operation of the sequence, given the blocks held; its size in
 * u->n (mostly under 300 bytes, a third up to 8000) and, for U_ALIGNED,
 * its alignment in u->align (1 B .. 2 KiB). */
static u_kind_t next_op(u_run_t *u, tb_rng_t *r) {
  unsigned k = (unsigned)(tb_rand(r) % 100);
  u->n = tb_rand(r) % 3 ? tb_rand(r) % 300 : tb_rand(r) % 8000;
  u_kind_t kind = U_MALLOC;
  if (u->nlive && (k < 45 || u->nlive == MAX_LIVE))
    kind = U_FREE;
  else if (u->nlive && k < 60)
    kind = U_REALLOC;
  else if (k < 70)
    kind = U_CALLOC;
  else if (k < 80)
    kind = U_ALIGNED;
  if (kind == U_ALIGNED) u->align = (size_t)1 << (tb_rand(r) % 12);
  u->what = u_name[kind];
  return kind;
}

/* A held block picked at random, no longer held (for U_FREE). */
static live_t take_one(u_run_t *u, tb_rng_t *r) {
  size_t i = tb_rand(r) % u->nlive;
  live_t b = u->live[i];
  u->live[i] = u->live[--u->nlive];
  return b;
}

/* After operation op: remember it when it was the first to change a byte
 * it may not have. */
static void note_op(u_run_t *u, long op) {
  if (u->bad != BUF_SIZE && u->bad_op < 0) {
    u->bad_op = op;
    u->bad_what = u->what;
  }
}

/* The end of a run of nops operations: no operation left a byte it may
 * not have changed, and the sequence was not degenerate. */
static void assert_untouched(const u_run_t *u, long nops) {
  ck_assert_msg(u->bad == BUF_SIZE, "op %ld (%s): byte at offset %zu of the user region changed", u->bad_op,
                u->bad_what, u->bad);
  ck_assert_msg(u->allocs > nops / 4 && u->failures < nops / 10, "sequence degenerate: %ld allocs, %ld failures",
                u->allocs, u->failures);
}

#endif /* TESTS_OOB_UNTOUCHED_H */
