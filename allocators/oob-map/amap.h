/* amap.h: the address map of `oob-map`: from a block's address alone to
 * the index of its record, with nothing stored in or near the block.
 *
 * Objects and terms:
 *   granule   - 16 bytes of the user region; block starts are granule
 *               aligned (every block is a multiple of 16 bytes), so a
 *               granule holds at most one block start.
 *   map       - amap_t: one 32-bit entry per granule of the user region,
 *               a flat table in a space of its own (map_space), indexed by
 *               (address - region base) / 16. Entry = the record index of
 *               the block in use that starts in that granule, 0 = none
 *               (free blocks, the top and block interiors are 0).
 *   large map - amap_large_t: the blocks mapped straight from the system
 *               lie outside the region; an open-addressing hash table
 *               (linear probing, deletion by backward shift) from
 *               address / 16 to record index, in a space of its own. They
 *               are few (256 KiB and more each).
 *
 *   user region  (base)                                     committed
 *   | g0 | g1 | g2 | g3 | g4 | g5 | g6 | g7 | g8 | ...        |
 *   |    [ block A (32 B) ][ B (16) ][ free (32 B) ][ C ...
 *              |               |                      |
 *   map_space  v               v                      v
 *   | 0  | A  | 0  | B  | 0  | 0  | C  | ...                  |  4 bytes per granule
 *
 * Why a flat table (tests/oobmap/bench_amap.c measures the alternatives
 * side by side; allocators/oob-map/README.md has the numbers): a lookup
 * is one load at a fixed distance from the address (the entries of
 * neighbouring blocks share a cache line: one 64-byte line covers 256
 * bytes of blocks), insert and remove are one store, and the table grows
 * only when the user region grows, in the same step, so no operation can
 * fail half-way for want of map memory. A radix tree over pages costs a
 * second dependent load and a leaf allocation that can fail inside an
 * operation; a hash table or a sorted array of starts costs far more per
 * lookup and loses the locality. The price is 4 bytes per 16 bytes of
 * committed region (a quarter of it), whether a block starts there or not.
 *
 * Invariants (oob's check() proves them at level 3): entry g != 0 iff a
 * block in use starts at granule g, and then it names that block's record;
 * entries beyond the region's top are 0; the map covers the committed
 * region (cover >= committed); the large map holds exactly the large
 * blocks, each under its user address.
 */
#ifndef AMAP_H
#define AMAP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "space.h"

#define AMAP_GRANULE_SHIFT 4
#define AMAP_ENTRY ((size_t)sizeof(uint32_t))
/* Bytes of map per byte of region, as a shift: 16 / 4 = 4 = 1 << 2. */
#define AMAP_RATIO_SHIFT 2
_Static_assert(((size_t)1 << AMAP_GRANULE_SHIFT) == AMAP_ENTRY << AMAP_RATIO_SHIFT, "map ratio");

typedef struct amap_s {
  uint32_t *e;   /* entry g for granule g of the region (== map_space.base) */
  size_t cover;  /* region bytes the committed map covers (committed << AMAP_RATIO_SHIFT) */
  space_t space; /* map_space */
} amap_t;

/* Reserve a map for a region of `reserve` bytes and commit enough of it to
 * cover `committed` bytes. 0 or an errno value (nothing left reserved). */
static inline int amap_init(amap_t *m, size_t reserve, size_t committed, const space_os_t *os) {
  space_config_t cfg = {.initial = committed >> AMAP_RATIO_SHIFT, .reserve = (reserve >> AMAP_RATIO_SHIFT) + 1, .os = os,
                         .tag = SPACE_TAG_META};
  if (cfg.initial == 0) cfg.initial = 1;
  int rc = space_init_mmap(&m->space, &cfg);
  if (rc) return rc;
  m->e = (uint32_t *)(void *)m->space.base;
  m->cover = m->space.committed << AMAP_RATIO_SHIFT;
  return 0;
}

/* Make the map cover `committed` bytes of region. 0 or ENOMEM (unchanged). */
static inline int amap_cover(amap_t *m, size_t committed) {
  if (committed <= m->cover) return 0;
  size_t need = (committed + ((size_t)1 << AMAP_RATIO_SHIFT) - 1) >> AMAP_RATIO_SHIFT;
  if (space_grow_to(&m->space, need) != 0) return ENOMEM;
  m->cover = m->space.committed << AMAP_RATIO_SHIFT;
  return 0;
}

static inline void amap_destroy(amap_t *m) { space_destroy(&m->space); }

/* The entry of the granule at region offset off (off < cover). */
static inline uint32_t amap_get(const amap_t *m, uint64_t off) { return m->e[off >> AMAP_GRANULE_SHIFT]; }
static inline void amap_set(amap_t *m, uint64_t off, uint32_t v) { m->e[off >> AMAP_GRANULE_SHIFT] = v; }

static inline size_t amap_committed(const amap_t *m) { return m->space.committed; }

/* Entries != 0 among the granules of [0, len) (a validator: whole scan). */
static inline uint64_t amap_count(const amap_t *m, size_t len) {
  uint64_t n = 0;
  size_t k = len >> AMAP_GRANULE_SHIFT;
  for (size_t g = 0; g < k; g++) n += m->e[g] != 0;
  return n;
}

/* ---- the large map ----------------------------------------------------------- */

#define AMAP_LARGE_CAP0 64u                      /* first capacity (slots), a power of two */
#define AMAP_LARGE_RESERVE ((size_t)1 << 32)     /* address space for the tables */

/* A slot of the large map. */
typedef struct amap_slot_s {
  uint64_t key; /* user address >> AMAP_GRANULE_SHIFT; 0: empty */
  uint64_t rec; /* record index */
} amap_slot_t;

typedef struct amap_large_s {
  amap_slot_t *t; /* cap slots; the current table */
  size_t cap;     /* a power of two */
  size_t n;       /* keys held */
  size_t used;    /* bytes of space handed to tables (old tables stay behind the current one) */
  space_t space;
} amap_large_t;

static inline size_t amap_hash(uint64_t key, size_t cap) {
  return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

static inline int amap_large_init(amap_large_t *l, const space_os_t *os) {
  space_config_t cfg = {.initial = AMAP_LARGE_CAP0 * sizeof(amap_slot_t), .reserve = AMAP_LARGE_RESERVE, .os = os,
                         .tag = SPACE_TAG_META};
  int rc = space_init_mmap(&l->space, &cfg);
  if (rc) return rc;
  l->t = (amap_slot_t *)(void *)l->space.base;
  l->cap = AMAP_LARGE_CAP0;
  l->n = 0;
  l->used = AMAP_LARGE_CAP0 * sizeof(amap_slot_t);
  return 0;
}

static inline void amap_large_destroy(amap_large_t *l) { space_destroy(&l->space); }

/* Slot of key, or of the empty slot where it would go. */
static inline size_t amap_large_slot(const amap_large_t *l, uint64_t key) {
  size_t i = amap_hash(key, l->cap);
  while (l->t[i].key && l->t[i].key != key) i = (i + 1) & (l->cap - 1);
  return i;
}

/* Record of the large block at user address p, 0: none. */
static inline uint32_t amap_large_get(const amap_large_t *l, const void *p) {
  uint64_t key = (uint64_t)(uintptr_t)p >> AMAP_GRANULE_SHIFT;
  return (uint32_t)l->t[amap_large_slot(l, key)].rec;
}

/* Whether one more key fits (load kept <= 1/2), doubling the table into a
 * new part of its space when not. False: no memory (nothing changed). */
static inline bool amap_large_ready(amap_large_t *l) {
  if (2 * (l->n + 1) <= l->cap) return true;
  size_t ncap = 2 * l->cap, bytes = ncap * sizeof(amap_slot_t);
  if (bytes > l->space.reserved - l->used) return false;
  if (l->used + bytes > l->space.committed && space_grow_to(&l->space, l->used + bytes) != 0) return false;
  amap_slot_t *old = l->t;
  size_t ocap = l->cap;
  l->t = (amap_slot_t *)(void *)(l->space.base + l->used);
  l->cap = ncap;
  l->used += bytes; /* committed memory past a fresh reservation is zero: all slots empty */
  for (size_t i = 0; i < ocap; i++)
    if (old[i].key) l->t[amap_large_slot(l, old[i].key)] = old[i];
  return true;
}

/* Add p -> rec (after amap_large_ready; p not present). */
static inline void amap_large_put(amap_large_t *l, const void *p, uint32_t rec) {
  uint64_t key = (uint64_t)(uintptr_t)p >> AMAP_GRANULE_SHIFT;
  size_t i = amap_large_slot(l, key);
  l->t[i].key = key;
  l->t[i].rec = rec;
  l->n++;
}

/* Remove p (present), moving later members of its probe run back so that
 * no lookup needs a tombstone. */
static inline void amap_large_del(amap_large_t *l, const void *p) {
  uint64_t key = (uint64_t)(uintptr_t)p >> AMAP_GRANULE_SHIFT;
  size_t mask = l->cap - 1, i = amap_large_slot(l, key), j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (!l->t[j].key) break;
    size_t h = amap_hash(l->t[j].key, l->cap);
    /* j's member may move to i when its home h is not in (i, j] (cyclically). */
    bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (!stays) {
      l->t[i] = l->t[j];
      i = j;
    }
  }
  l->t[i].key = 0;
  l->t[i].rec = 0;
  l->n--;
}

static inline size_t amap_large_committed(const amap_large_t *l) { return l->space.committed; }

#endif /* AMAP_H */
