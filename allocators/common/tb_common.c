/* tb_common.c: the pieces every allocator shares at run time: fatal
 * errors, the lock switch, and statistics helpers. */
#include <stdio.h>
#include <stdlib.h>

#include "tb_alloc.h"
#include "tb_check.h"
#include "tb_lock.h"

atomic_bool tb_lock_always;

void tb_lock_force_always(bool on) { atomic_store_explicit(&tb_lock_always, on, memory_order_relaxed); }

_Noreturn void tb_fatal(const char *alloc, const char *what, const void *p) {
  fprintf(stderr, "testbed: %s: %s %p\n", alloc, what, p);
  fflush(stderr);
  abort();
}

_Noreturn void tb_assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "testbed: assertion failed: %s (%s:%d)\n", expr, file, line);
  fflush(stderr);
  abort();
}

void tb_stats_clear(tb_stats_t *st) {
#define TB_STAT_NA_SET(name, unit, kind, desc) st->name = TB_STAT_NA;
  TB_STAT_FIELDS(TB_STAT_NA_SET)
#undef TB_STAT_NA_SET
}
