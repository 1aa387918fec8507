/* idmap.h: the address -> object id map the importers share (the mtrace
 * importer, import_mtrace.c; the recorder's raw-log importer,
 * import_raw.c). A live address names one object id; an id is reused only
 * after its object was freed (most recently freed first), so the ids of a
 * trace stay dense (trace.h).
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones: a long log that frees and allocates does not slow down).
 * Address 0 is never a key (importers skip NULL before they get here).
 */
#ifndef TB_IDMAP_H
#define TB_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tb_idmap_s {
  uint64_t *key; /* 0 = empty slot */
  uint32_t *val;
  size_t cap, n;
  uint32_t *freeids; /* stack of freed ids */
  size_t nfree, freecap;
  uint32_t next_id;
} tb_idmap_t;

/* Zero-initialised is an empty map. */
void tb_idmap_free(tb_idmap_t *m);

/* The id of live address a: true and *id, or false. */
bool tb_idmap_get(const tb_idmap_t *m, uint64_t a, uint32_t *id);

/* A new object at address a, which must not be live: *id is a freed id or
 * the next new one. 0, or -1 (out of memory, or ids exhausted). */
int tb_idmap_add(tb_idmap_t *m, uint64_t a, uint32_t *id);

/* The object at a is freed: its id (in *id) may be reused. 1 when a was
 * live, 0 when it was not, -1 out of memory. */
int tb_idmap_remove(tb_idmap_t *m, uint64_t a, uint32_t *id);

/* The object at live address from moves to address to (not live; a
 * moving realloc), keeping its id. 0, or -1 (out of memory). */
int tb_idmap_move(tb_idmap_t *m, uint64_t from, uint64_t to);

#endif
