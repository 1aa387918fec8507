/* test_oobmap_untouched.c: oob-map's promise, with no exception at all:
 * the allocator never reads or writes a byte of the user region.
 *
 * The heap lives on a fixed, page-aligned buffer. While the allocator runs
 * create, malloc, aligned_alloc, free, usable_size, check, stats, destroy
 * and every realloc that fits its block's usable size, the whole buffer is
 * PROT_NONE: any access of the allocator to it, a read as much as a write,
 * faults, and the handler names the operation and the offset and fails the
 * test. calloc and a realloc that may move must write the caller's bytes
 * (the zeroes asked for, the copied content), so during them the buffer is
 * open and a shadow copy is compared afterwards: only those bytes may
 * differ. The test itself fills every live and every freed block
 * with a pattern (buffer and shadow alike) while the buffer is open, so a
 * write into free memory shows too. The statistics must count no user
 * byte read or written.
 */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tb_alloc.h"
#include "tb_testutil.h"
#include "oob/untouched.h"

static const char *volatile current_op = "";

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  uintptr_t a = (uintptr_t)si->si_addr, b = (uintptr_t)buf;
  char msg[200];
  int n;
  if (a >= b && a < b + BUF_SIZE)
    n = snprintf(msg, sizeof msg, "oob-map %s accessed the user region at offset %lu\n", current_op,
                 (unsigned long)(a - b));
  else
    n = snprintf(msg, sizeof msg, "fault at %p outside the user region during %s\n", si->si_addr, current_op);
  if (n > 0) (void)!write(2, msg, (size_t)n);
  _exit(3);
}

static void guard_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
}

/* Close (PROT_NONE) or open the whole user region. */
static void region(bool open) {
  if (mprotect(buf, BUF_SIZE, open ? PROT_READ | PROT_WRITE : PROT_NONE) != 0) {
    perror("mprotect");
    abort();
  }
}

#define CLOSED(op, expr) (current_op = (op), region(false), (expr))

static void run(int level, uint64_t seed, long nops) {
  const tb_allocator_t *A = tb_allocator_find("oob-map", level);
  ck_assert_ptr_nonnull(A);
  guard_install();
  space_t sp;
  tb_rng_t r = {seed};
  region_init(&sp, &r);
  tb_heap_opts_t o = {.space = &sp};
  tb_heap_t *h = CLOSED("create", A->create(&o));
  region(true);
  ck_assert_ptr_nonnull(h);
  ck_assert_msg(first_diff() == BUF_SIZE, "create() wrote into the user region");

  u_run_t u = U_RUN_INIT;
  long moves = 0;
  tb_stats_t s0;
  CLOSED("stats", A->stats(h, &s0));
  region(true);
  for (long op = 0; op < nops && u.bad == BUF_SIZE; op++) {
    u_kind_t k = next_op(&u, &r);
    size_t n = u.n;
    if (k == U_FREE) {
      live_t b = take_one(&u, &r);
      CLOSED("free", A->free(h, b.p));
      region(true);
      u.bad = first_diff();
      if (u.bad == BUF_SIZE) fill_both(b.p, b.n, (unsigned)op ^ 0xf3u); /* free memory now: mark it */
    } else if (k == U_REALLOC) {
      size_t i = tb_rand(&r) % u.nlive, nn = n ? n : 1;
      live_t b = u.live[i];
      /* A realloc that stays in place touches nothing (the region is closed);
       * one that moves copies the caller's bytes: known from usable_size
       * and the policy only afterwards, so it runs open when it might. */
      size_t ub = CLOSED("usable_size", A->usable_size(h, b.p));
      bool may_move = nn > ub;
      unsigned char *q;
      if (may_move) {
        current_op = "realloc (may move)";
        region(true);
        q = A->realloc(h, b.p, nn);
      } else {
        q = CLOSED("realloc (in place)", A->realloc(h, b.p, nn));
        region(true);
      }
      if (!q) {
        u.failures++;
        u.bad = first_diff();
        continue;
      }
      if (q != b.p) {
        ck_assert_msg(may_move, "realloc moved a block that fit");
        moves++;
        memcpy(shadow + (q - buf), q, nn < b.n ? nn : b.n); /* the copy */
      }
      u.bad = first_diff();
      if (u.bad == BUF_SIZE) {
        size_t nu = CLOSED("usable_size", A->usable_size(h, q));
        region(true);
        u.live[i] = (live_t){q, nu};
        fill_both(q, nu, (unsigned)op);
        if (q != b.p) fill_both(b.p, b.n, (unsigned)op ^ 0x3fu);
      }
    } else {
      unsigned char *p;
      if (k == U_CALLOC) {
        current_op = u.what;
        p = A->calloc(h, 1, n); /* writes the zeroes asked for: open */
        if (p) memcpy(shadow + (p - buf), p, n);
      } else if (k == U_ALIGNED) {
        p = CLOSED(u.what, A->aligned_alloc(h, u.align, n));
      } else {
        p = CLOSED(u.what, A->malloc(h, n));
      }
      region(true);
      if (!p) {
        u.failures++;
        u.bad = first_diff();
        continue;
      }
      u.allocs++;
      u.bad = first_diff();
      if (u.bad == BUF_SIZE) {
        size_t nu = CLOSED("usable_size", A->usable_size(h, p));
        region(true);
        ck_assert_uint_ge(nu, n);
        u.live[u.nlive] = (live_t){p, nu};
        fill_both(p, nu, (unsigned)op);
        u.nlive++;
      }
    }
    note_op(&u, op);
  }
  assert_untouched(&u, nops);
  ck_assert_msg(moves > 0, "sequence degenerate: no realloc moved");
  char why[256];
  bool ok = CLOSED("check", A->check(h, why, sizeof why));
  region(true);
  ck_assert_msg(ok, "heap check: %s", why);
  if (tb_stats_enabled()) {
    tb_stats_t s1;
    CLOSED("stats", A->stats(h, &s1));
    region(true);
    ck_assert_uint_eq(s1.user_bytes_read - s0.user_bytes_read, 0);
    ck_assert_uint_eq(s1.user_bytes_written - s0.user_bytes_written, 0);
  }
  for (size_t i = 0; i < u.nlive; i++) {
    CLOSED("free", A->free(h, u.live[i].p));
    region(true);
  }
  ck_assert_msg(first_diff() == BUF_SIZE, "freeing the rest changed the user region");
  CLOSED("destroy", A->destroy(h));
  region(true);
}

START_TEST(t_untouched_l0) { run(0, 0xb00b5eedu + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000)); }
END_TEST

START_TEST(t_untouched_l3) { run(3, 0x0ddba11u + (uint64_t)_i, tb_env_long("TB_TEST_OPS", 20000) / 4); }
END_TEST

/* The fault handler really catches an access (the test would prove
 * nothing if closing the region did not work here): reading the closed
 * region exits with the handler's status. */
START_TEST(t_guard_works) {
  guard_install();
  current_op = "the guard test's own read";
  region(false);
  volatile unsigned char c = buf[4096 + 17];
  (void)c;
}
END_TEST

int main(void) {
  if (!tb_allocator_find("oob-map", 0)) {
    fprintf(stderr, "test_oobmap_untouched: oob-map is not registered\n");
    return 2;
  }
  Suite *s = suite_create("oob-map");
  TCase *tc = tcase_create("untouched");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, t_untouched_l0, 0, 2);
  tcase_add_loop_test(tc, t_untouched_l3, 0, 1);
  tcase_add_exit_test(tc, t_guard_works, 3);
  suite_add_tcase(s, tc);
  return tb_test_run(s, NULL);
}
