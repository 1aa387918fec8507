/* peers.c: jemalloc, mimalloc and tcmalloc behind the common API
 * (tb_peers.h). Every peer "heap" is the process's malloc, which must be
 * the peer's own library: create() checks that with dladdr(malloc) and
 * fails (errno ENOENT) in a process where it is not, e.g. one started
 * without the library preloaded. The operations call the malloc family
 * directly, as the glibc reference does; statistics are all NA. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_peers.h"

static const tb_peer_t peers[] = {
#ifdef TB_JEMALLOC_LIB
    {"jemalloc", TB_JEMALLOC_LIB, "libjemalloc2"},
#endif
#ifdef TB_MIMALLOC_LIB
    {"mimalloc", TB_MIMALLOC_LIB, "libmimalloc2.0"},
#endif
#ifdef TB_TCMALLOC_LIB
    {"tcmalloc", TB_TCMALLOC_LIB, "libtcmalloc-minimal4"},
#endif
    {NULL, NULL, NULL}};

const tb_peer_t *tb_peer_at(size_t i) {
  return i < sizeof peers / sizeof peers[0] - 1 ? &peers[i] : NULL;
}

const tb_peer_t *tb_peer_find(const char *name) {
  for (const tb_peer_t *p = peers; p->name; p++)
    if (!strcmp(p->name, name)) return p;
  return NULL;
}

/* The object that defines the malloc this process calls is the peer's
 * library (compared by file name: the loader may name it by another path). */
int tb_peer_is_active(const tb_peer_t *p) {
  Dl_info info;
  void *m = dlsym(RTLD_DEFAULT, "malloc");
  if (!m || !dladdr(m, &info) || !info.dli_fname) return 0;
  const char *a = strrchr(info.dli_fname, '/'), *b = strrchr(p->lib, '/');
  return !strcmp(a ? a + 1 : info.dli_fname, b ? b + 1 : p->lib);
}

struct tb_heap_s {
  const tb_peer_t *peer;
};

static struct tb_heap_s peer_heaps[sizeof peers / sizeof peers[0]];

static tb_heap_t *peer_create_named(const char *name) {
  const tb_peer_t *p = tb_peer_find(name);
  if (!p || !tb_peer_is_active(p)) {
    errno = ENOENT; /* not this process's malloc: it must be started with the library preloaded */
    return NULL;
  }
  tb_heap_t *h = &peer_heaps[p - peers];
  h->peer = p;
  return h;
}

static void peer_destroy(tb_heap_t *h) { (void)h; }
static void *peer_malloc(tb_heap_t *h, size_t n) { return malloc(n); }
static void peer_free(tb_heap_t *h, void *p) { free(p); }
static void *peer_calloc(tb_heap_t *h, size_t n, size_t s) { return calloc(n, s); }
static void *peer_realloc(tb_heap_t *h, void *p, size_t n) { return realloc(p, n); }
/* The common API's aligned_alloc: any power of two, below 16 taken as 16. */
static void *peer_aligned(tb_heap_t *h, size_t a, size_t n) {
  if (a == 0 || (a & (a - 1))) {
    errno = EINVAL;
    return NULL;
  }
  void *p = NULL;
  int rc = posix_memalign(&p, a < TB_ALIGN ? TB_ALIGN : a, n);
  if (rc) errno = rc;
  return rc ? NULL : p;
}
extern size_t malloc_usable_size(void *);
static size_t peer_usable(tb_heap_t *h, const void *p) { return p ? malloc_usable_size((void *)p) : 0; }
static bool peer_check(tb_heap_t *h, char *why, size_t len) {
  if (why && len) snprintf(why, len, "%s cannot be validated from outside", h->peer->name);
  return true;
}
static void peer_stats(tb_heap_t *h, tb_stats_t *st) { tb_stats_clear(st); }

#define TB_PEER_OPS(id, nm, desc)                                                                     \
  static tb_heap_t *id##_create(const tb_heap_opts_t *o) { return peer_create_named(nm); }          \
  const tb_allocator_t tb_##id##_ops = {                                                             \
      .name = nm, .description = desc, .caps = TB_CAP_FREE, .check_level = -1,                       \
      .create = id##_create, .destroy = peer_destroy, .malloc = peer_malloc, .free = peer_free,      \
      .calloc = peer_calloc, .realloc = peer_realloc, .aligned_alloc = peer_aligned,                 \
      .usable_size = peer_usable, .check = peer_check, .stats = peer_stats};

#ifdef TB_JEMALLOC_LIB
TB_PEER_OPS(jemalloc, "jemalloc", "peer: jemalloc (" TB_JEMALLOC_LIB ", preloaded in a process of its own)")
#endif
#ifdef TB_MIMALLOC_LIB
TB_PEER_OPS(mimalloc, "mimalloc", "peer: mimalloc (" TB_MIMALLOC_LIB ", preloaded in a process of its own)")
#endif
#ifdef TB_TCMALLOC_LIB
TB_PEER_OPS(tcmalloc, "tcmalloc", "peer: tcmalloc (" TB_TCMALLOC_LIB ", preloaded in a process of its own)")
#endif
