/* tb_peers.h: the peer allocators users would pick instead of the
 * designs: jemalloc, mimalloc and tcmalloc, as the Debian packages
 * libjemalloc2, libmimalloc2.0 and libtcmalloc-minimal4 install them.
 *
 * A peer runs at its real speed only as the process's own malloc, so it is
 * never loaded privately (dlopen measured 1.13-1.27x slower than the same
 * library preloaded): a process that measures a peer is started with the
 * peer's library in LD_PRELOAD, and inside it the peer is driven through
 * the plain malloc family, like the glibc reference. Its registry entry
 * (tb_allocator_find("jemalloc", ...)) refuses to create a heap in a
 * process where malloc is not the peer's, so that nothing is ever
 * measured on the wrong allocator. Peers report no statistics (every
 * field NA): the testbed does not guess what the library does not say.
 *
 * The build registers a peer when CMake finds its library
 * (allocators/CMakeLists.txt); the path found is fixed at configure time.
 */
#ifndef TB_PEERS_H
#define TB_PEERS_H

#include <stddef.h>

typedef struct tb_peer_s {
  const char *name;    /* allocator name: "jemalloc" */
  const char *lib;     /* library to preload (absolute path found at configure time) */
  const char *package; /* Debian package that ships it */
} tb_peer_t;

/* The peer called name, or NULL (unknown, or not installed at build time). */
const tb_peer_t *tb_peer_find(const char *name);

/* The i-th installed peer, for i = 0, 1, ... until NULL. */
const tb_peer_t *tb_peer_at(size_t i);

/* Whether this process's malloc is the peer's library (it was preloaded). */
int tb_peer_is_active(const tb_peer_t *p);

#endif
