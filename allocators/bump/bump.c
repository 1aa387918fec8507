/* bump.c: the null allocator (reference). A bump pointer through a space;
 * free does nothing. Replaying a trace with it measures the harness's own
 * cost. Each block carries its size in the 8 bytes before it so that
 * usable_size and realloc work:
 *
 *   ... | size (8) | block (16-aligned) ... | size (8) | block ...
 *                  ^ user pointer
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_check.h"
#include "tb_lock.h"
#include "tb_policy.h"

struct tb_heap_s {
  space_t *space;
  space_t own_space;
  size_t used; /* bytes of the space handed out (offset of the next free byte) */
  bool locked;
  tb_lock_t lock;
  uint64_t mallocs; /* blocks handed out */
};

static tb_heap_t *bump_create(const tb_heap_opts_t *opts) {
  tb_heap_t *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  if (!(h->space = tb_heap_space_open(opts, &h->own_space))) {
    free(h);
    return NULL;
  }
  h->locked = opts && opts->mode == TB_MODE_LOCKED;
  return h;
}

static void bump_destroy(tb_heap_t *h) {
  if (!h) return;
  tb_heap_space_close(h->space, &h->own_space);
  free(h);
}

/* Hand out `n` bytes aligned to `a` (a power of two >= 16). */
static void *bump_take(tb_heap_t *h, size_t a, size_t n) {
  if (n > TB_MAX_REQUEST || a > TB_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  bool taken = tb_heap_lock(&h->lock, h->locked);
  uintptr_t base = (uintptr_t)h->space->base;
  uintptr_t p = tb_align_up(base + h->used + TB_WORD, a);
  size_t end = (size_t)(p - base) + tb_align_up(n ? n : 1, TB_ALIGN_SIZE);
  void *r = NULL;
  if (end <= h->space->reserved && space_grow_to(h->space, end) == 0) {
    ((uint64_t *)p)[-1] = n;
    h->used = end;
    h->mallocs++;
    r = (void *)p;
  }
  tb_heap_unlock(&h->lock, taken);
  if (!r) errno = ENOMEM;
  return r;
}

static void *bump_malloc(tb_heap_t *h, size_t n) { return bump_take(h, TB_ALIGN_SIZE, n); }

static void bump_free(tb_heap_t *h, void *p) {
  (void)h;
  (void)p;
}

static void *bump_calloc(tb_heap_t *h, size_t n, size_t s) {
  size_t t;
  if (__builtin_mul_overflow(n, s, &t)) {
    errno = ENOMEM;
    return NULL;
  }
  /* Fresh space is zero, but a fixed space may be reused: clear it. */
  void *p = bump_take(h, TB_ALIGN_SIZE, t);
  if (p) memset(p, 0, t);
  return p;
}

static size_t bump_usable(tb_heap_t *h, const void *p) {
  (void)h;
  return p ? (size_t)((const uint64_t *)p)[-1] : 0;
}

static void *bump_realloc(tb_heap_t *h, void *p, size_t n) {
  if (!p) return bump_malloc(h, n);
  if (n == 0) return NULL; /* frees p (which bump never reuses) */
  size_t old = bump_usable(h, p);
  void *q = bump_malloc(h, n);
  if (q) memcpy(q, p, old < n ? old : n);
  return q;
}

static void *bump_aligned(tb_heap_t *h, size_t a, size_t n) {
  if (a == 0 || (a & (a - 1))) {
    errno = EINVAL;
    return NULL;
  }
  return bump_take(h, a < TB_ALIGN_SIZE ? TB_ALIGN_SIZE : a, n);
}

static bool bump_check(tb_heap_t *h, char *why, size_t len) {
  bool ok = h->used <= h->space->committed;
  if (!ok && why && len) snprintf(why, len, "bump offset %zu beyond committed %zu", h->used, h->space->committed);
  return ok;
}

static void bump_stats(tb_heap_t *h, tb_stats_t *st) {
  tb_stats_clear(st);
  st->committed_bytes = h->space->committed;
  st->peak_committed_bytes = h->space->committed; /* bump never gives memory back */
  st->top_bytes = h->space->committed - h->used;
  st->largest_free = st->top_bytes;
  st->mallocs = h->mallocs;
  st->grows = h->space->grows;
}

const tb_allocator_t tb_bump_ops = {
    .name = "bump",
    .description = "null baseline: bump pointer, free does nothing (measures the harness)",
    .caps = TB_CAP_SPACE | TB_CAP_STATS,
    .check_level = -1,
    .create = bump_create,
    .destroy = bump_destroy,
    .malloc = bump_malloc,
    .free = bump_free,
    .calloc = bump_calloc,
    .realloc = bump_realloc,
    .aligned_alloc = bump_aligned,
    .usable_size = bump_usable,
    .check = bump_check,
    .stats = bump_stats,
};
