/* tb_peers.h: the peer allocators users would pick instead of the
 * designs: jemalloc, mimalloc and tcmalloc, as the Debian packages
 * libjemalloc2, libmimalloc2.0 and libtcmalloc-minimal4 install them.
 *
 * A peer runs at its real speed only as the process's own malloc, so it is
 * never loaded privately (dlopen measured 1.13-1.27x slower than the same
 * library preloaded): a process that measures a peer is started with the
 * peer's library in LD_PRELOAD (its registry entry's exec_env, tb_alloc.h),
 * and inside it the peer is driven through the plain malloc family, like
 * the glibc reference. Its registry entry refuses to create a heap in a
 * process where malloc is not the peer's (checked with dladdr), so that
 * nothing is ever measured on the wrong allocator. Peers report no
 * statistics (every field NA): the testbed does not guess what the
 * library does not say.
 *
 * Found at run time, for an ISA: the library is Debian's multiarch path
 * /usr/lib/<isa>-linux-gnu/<file>. The registry lists a peer when its
 * library exists for the build's own ISA (so the aarch64 build, which
 * looks in /usr/lib/aarch64-linux-gnu, lists none unless the arm64
 * packages are installed).
 */
#ifndef TB_PEERS_H
#define TB_PEERS_H

#include <stdbool.h>
#include <stddef.h>

#include "tb_alloc.h"

typedef struct tb_peer_s {
  const char *name;    /* allocator name: "jemalloc" */
  const char *lib;     /* the library for this build's ISA (absolute path) */
  const char *file;    /* its file name: "libjemalloc.so.2" */
  const char *package; /* Debian package that ships it */
  const tb_allocator_t *ops; /* its registry entry */
} tb_peer_t;

/* This build's ISA ("x86_64", "aarch64"; "" when the peers do not know it). */
const char *tb_peer_isa(void);

/* The peer called name, installed or not, or NULL (not a peer). */
const tb_peer_t *tb_peer_find(const char *name);

/* The i-th peer that is installed for this build's ISA, i = 0, 1, ...
 * until NULL. */
const tb_peer_t *tb_peer_installed_at(size_t i);

/* The peer's library for ISA isa (NULL: this build's) into path; true
 * when it is there (readable), else false with the reason in why. */
bool tb_peer_lib_for(const tb_peer_t *p, const char *isa, char *path, size_t len, char *why, size_t whylen);

/* Whether this process's malloc is the peer's library (it was preloaded). */
bool tb_peer_is_active(const tb_peer_t *p);

/* The system allocator adapter (allocators/glibc/glibc.c): the common API
 * over the process's malloc family, h ignored. glibc's table and every
 * peer's use these same functions, so a peer preloaded is called exactly
 * as glibc is (bench seed --adapter-check measures it). aligned_alloc
 * takes any power of two (below 16 as 16), else EINVAL. */
void *tb_sys_malloc(tb_heap_t *h, size_t n);
void tb_sys_free(tb_heap_t *h, void *p);
void *tb_sys_calloc(tb_heap_t *h, size_t n, size_t s);
void *tb_sys_realloc(tb_heap_t *h, void *p, size_t n);
void *tb_sys_aligned(tb_heap_t *h, size_t a, size_t n);
size_t tb_sys_usable(tb_heap_t *h, const void *p);

#endif
