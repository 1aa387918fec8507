/* glibc.c: the system allocator behind the common API (reference).
 *
 * Every glibc "heap" is the one process-wide malloc: create() hands out a
 * token, and the mode is ignored because glibc locks by itself. Statistics
 * come from mallinfo2() and are process-wide, so they are meaningful only
 * while one glibc heap is in use.
 *
 * The functions that call the malloc family (tb_sys_*) are the system
 * allocator adapter: the peers' tables (peers.c) use the same ones, so a
 * peer preloaded is called exactly as glibc is.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_peers.h" /* tb_sys_*: the system allocator adapter, which the peers use too */

struct tb_heap_s {
  int unused;
};

static struct tb_heap_s glibc_token;

static tb_heap_t *glibc_create(const tb_heap_opts_t *opts) {
  (void)opts;
  return &glibc_token;
}
static void glibc_destroy(tb_heap_t *h) { (void)h; }
void *tb_sys_malloc(tb_heap_t *h, size_t n) {
  (void)h;
  return malloc(n);
}
void tb_sys_free(tb_heap_t *h, void *p) {
  (void)h;
  free(p);
}
void *tb_sys_calloc(tb_heap_t *h, size_t n, size_t s) {
  (void)h;
  return calloc(n, s);
}
void *tb_sys_realloc(tb_heap_t *h, void *p, size_t n) {
  (void)h;
  return realloc(p, n);
}
void *tb_sys_aligned(tb_heap_t *h, size_t a, size_t n) {
  (void)h;
  if (a == 0 || (a & (a - 1))) {
    errno = EINVAL;
    return NULL;
  }
  if (a < TB_ALIGN) a = TB_ALIGN;
  void *p = NULL;
  int rc = posix_memalign(&p, a, n);
  if (rc) {
    errno = rc;
    return NULL;
  }
  return p;
}
size_t tb_sys_usable(tb_heap_t *h, const void *p) {
  (void)h;
  return p ? malloc_usable_size((void *)p) : 0;
}
static bool glibc_check(tb_heap_t *h, char *why, size_t len) {
  (void)h;
  if (why && len) snprintf(why, len, "glibc cannot be validated from outside");
  return true;
}
static void glibc_stats(tb_heap_t *h, tb_stats_t *st) {
  (void)h;
  tb_stats_clear(st);
  struct mallinfo2 mi = mallinfo2();
  st->committed_bytes = mi.arena + mi.hblkhd;
  st->free_bytes = mi.fordblks;
  st->top_bytes = mi.keepcost;
  st->large_blocks = mi.hblks;
}

const tb_allocator_t tb_glibc_ops = {
    .name = "glibc",
    .description = "the system allocator (glibc malloc), process-wide",
    .caps = TB_CAP_FREE,
    .check_level = -1,
    .create = glibc_create,
    .destroy = glibc_destroy,
    .malloc = tb_sys_malloc,
    .free = tb_sys_free,
    .calloc = tb_sys_calloc,
    .realloc = tb_sys_realloc,
    .aligned_alloc = tb_sys_aligned,
    .usable_size = tb_sys_usable,
    .check = glibc_check,
    .stats = glibc_stats,
};
