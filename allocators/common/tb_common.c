/* tb_common.c: the pieces every allocator shares at run time: fatal
 * errors, the lock switch, and statistics helpers. */
#include <errno.h>
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

#define TB_STAT_IS_counter 1
#define TB_STAT_IS_gauge 0
void tb_stats_reset(tb_stats_t *st) {
  tb_stats_clear(st);
#if TB_STATS
#define TB_STAT_ZERO(name, unit, kind, desc) \
  if (TB_STAT_IS_##kind) st->name = 0;
  TB_STAT_FIELDS(TB_STAT_ZERO)
#undef TB_STAT_ZERO
#endif
}

space_t *tb_heap_space_open(const tb_heap_opts_t *opts, space_t *own) {
  if (opts && opts->space) return opts->space;
  int rc = space_init_mmap(own, opts ? &opts->space_cfg : NULL);
  if (rc) {
    errno = rc;
    return NULL;
  }
  return own;
}

void tb_heap_space_close(space_t *space, space_t *own) {
  if (space == own) space_destroy(own);
}
