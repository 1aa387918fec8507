/* peers.c: jemalloc, mimalloc and tcmalloc behind the common API
 * (tb_peers.h). Every peer "heap" is the process's malloc, which must be
 * the peer's own library: create() checks that with dladdr(malloc) and
 * fails (errno ENOENT, and a message on stderr) in a process where it is
 * not, e.g. one started without the library preloaded. The operations
 * are the system allocator adapter of glibc.c (tb_sys_*), glibc's own;
 * statistics are all NA. exec_env() names the library to preload for an
 * ISA; the registry (registry.c) lists the peers installed for this
 * build's ISA (tb_peer_installed_at). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_alloc.h"
#include "tb_peers.h"

#if defined(__x86_64__)
#define TB_PEER_ISA "x86_64"
#elif defined(__aarch64__)
#define TB_PEER_ISA "aarch64"
#endif
#ifdef TB_PEER_ISA
#define TB_PEER_DIR "/usr/lib/" TB_PEER_ISA "-linux-gnu/"
#else
#define TB_PEER_ISA ""
#define TB_PEER_DIR "/nonexistent/" /* an ISA without Debian multiarch paths known here: no peers */
#endif

static const char *const isas[] = {"x86_64", "aarch64"};
#define NISA (sizeof isas / sizeof isas[0])

extern const tb_allocator_t tb_jemalloc_ops, tb_mimalloc_ops, tb_tcmalloc_ops;

static const tb_peer_t peers[] = {
    {"jemalloc", TB_PEER_DIR "libjemalloc.so.2", "libjemalloc.so.2", "libjemalloc2", &tb_jemalloc_ops},
    {"mimalloc", TB_PEER_DIR "libmimalloc.so.2", "libmimalloc.so.2", "libmimalloc2.0", &tb_mimalloc_ops},
    {"tcmalloc", TB_PEER_DIR "libtcmalloc_minimal.so.4", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4",
     &tb_tcmalloc_ops},
};
#define NPEERS (sizeof peers / sizeof peers[0])

const char *tb_peer_isa(void) { return TB_PEER_ISA; }

const tb_peer_t *tb_peer_find(const char *name) {
  for (size_t i = 0; i < NPEERS; i++)
    if (!strcmp(peers[i].name, name)) return &peers[i];
  return NULL;
}

/* The installed ones, found once. */
static const tb_peer_t *installed[NPEERS];
static size_t ninstalled;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void find_installed(void) {
  for (size_t i = 0; i < NPEERS; i++)
    if (*TB_PEER_ISA && access(peers[i].lib, R_OK) == 0) installed[ninstalled++] = &peers[i];
}

const tb_peer_t *tb_peer_installed_at(size_t i) {
  pthread_once(&once, find_installed);
  return i < ninstalled ? installed[i] : NULL;
}

bool tb_peer_lib_for(const tb_peer_t *p, const char *isa, char *path, size_t len, char *why, size_t whylen) {
  if (!isa || !*isa) isa = TB_PEER_ISA;
  if (!*isa) {
    snprintf(why, whylen, "%s: this build's ISA has no known library path", p->name);
    return false;
  }
  snprintf(path, len, "/usr/lib/%s-linux-gnu/%s", isa, p->file);
  if (access(path, R_OK)) {
    snprintf(why, whylen, "%s: no %s library %s (%s; Debian package %s%s%s)", p->name, isa, path, strerror(errno),
             p->package, strcmp(isa, "aarch64") ? "" : ":arm64", "");
    return false;
  }
  return true;
}

/* The object that defines the malloc this process calls is the peer's
 * library (compared by real path, the loader may name it by a link). */
bool tb_peer_is_active(const tb_peer_t *p) {
  Dl_info info;
  void *m = dlsym(RTLD_DEFAULT, "malloc");
  if (!m || !dladdr(m, &info) || !info.dli_fname) return false;
  char a[PATH_MAX], b[PATH_MAX];
  if (!realpath(info.dli_fname, a) || !realpath(p->lib, b)) return false;
  return !strcmp(a, b);
}

struct tb_heap_s {
  const tb_peer_t *peer;
};

static struct tb_heap_s peer_heaps[NPEERS];

static tb_heap_t *peer_create_named(const char *name) {
  const tb_peer_t *p = tb_peer_find(name);
  if (!p || !tb_peer_is_active(p)) {
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    fprintf(stderr,
            "testbed: %s: this process's malloc is %s, not %s: a %s heap exists only in a process started with "
            "LD_PRELOAD=%s (testbed run and bench do that)\n",
            name, m && dladdr(m, &info) && info.dli_fname ? info.dli_fname : "unknown", p ? p->lib : "?", name,
            p ? p->lib : "?");
    errno = ENOENT;
    return NULL;
  }
  tb_heap_t *h = &peer_heaps[p - peers];
  h->peer = p;
  return h;
}

/* "LD_PRELOAD=<the library for isa>", kept per peer and ISA. */
static int peer_env(const char *name, const char *isa, const char **env, size_t max, char *why, size_t whylen) {
  static char buf[NPEERS][NISA][4200];
  const tb_peer_t *p = tb_peer_find(name);
  if (!isa || !*isa) isa = TB_PEER_ISA;
  size_t k = 0;
  while (k < NISA && strcmp(isas[k], isa)) k++;
  if (!p || k == NISA) {
    snprintf(why, whylen, "%s: no library known for ISA '%s'", name, isa);
    return -1;
  }
  if (max < 1) {
    snprintf(why, whylen, "no room for the environment");
    return -1;
  }
  char path[4096];
  if (!tb_peer_lib_for(p, isa, path, sizeof path, why, whylen)) return -1;
  snprintf(buf[p - peers][k], sizeof buf[0][0], "LD_PRELOAD=%s", path);
  env[0] = buf[p - peers][k];
  return 1;
}

static void peer_destroy(tb_heap_t *h) { (void)h; }
static bool peer_check(tb_heap_t *h, char *why, size_t len) {
  if (why && len) snprintf(why, len, "%s cannot be validated from outside", h->peer->name);
  return true;
}
static void peer_stats(tb_heap_t *h, tb_stats_t *st) {
  (void)h;
  tb_stats_clear(st);
}

#define TB_PEER_OPS(id, desc)                                                                              \
  static tb_heap_t *id##_create(const tb_heap_opts_t *o) {                                                 \
    (void)o;                                                                                               \
    return peer_create_named(#id);                                                                         \
  }                                                                                                        \
  static int id##_env(const char *isa, const char **env, size_t max, char *why, size_t whylen) {          \
    return peer_env(#id, isa, env, max, why, whylen);                                                      \
  }                                                                                                        \
  const tb_allocator_t tb_##id##_ops = {                                                                   \
      .name = #id, .description = desc, .caps = TB_CAP_FREE, .check_level = -1,                           \
      .create = id##_create, .destroy = peer_destroy, .malloc = tb_sys_malloc, .free = tb_sys_free,        \
      .calloc = tb_sys_calloc, .realloc = tb_sys_realloc, .aligned_alloc = tb_sys_aligned,                 \
      .usable_size = tb_sys_usable, .check = peer_check, .stats = peer_stats, .exec_env = id##_env};

TB_PEER_OPS(jemalloc, "peer: jemalloc (" TB_PEER_DIR "libjemalloc.so.2, libjemalloc2), preloaded in a process of its own")
TB_PEER_OPS(mimalloc, "peer: mimalloc (" TB_PEER_DIR "libmimalloc.so.2, libmimalloc2.0), preloaded in a process of its own")
TB_PEER_OPS(tcmalloc,
            "peer: tcmalloc (" TB_PEER_DIR "libtcmalloc_minimal.so.4, libtcmalloc-minimal4), preloaded in a process of its own")
