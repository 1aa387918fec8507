/* oob.h: the `oob` design: out-of-band metadata in a dense record array,
 * one back-pointer word in front of each block.
 *
 * Objects and terms:
 *   user region  - the heap's space (space.h). It holds user data and, in
 *                  front of every block, one 8-byte back-pointer word: the
 *                  index of the block's record. Nothing else of ours lives
 *                  there.
 *   block        - [word, word + size): the back-pointer word followed by
 *                  size - 8 usable bytes. size is a multiple of 16, >= 16
 *                  (OOB_MIN_BLOCK). The user pointer is word + 8 and is
 *                  16-aligned, so every block starts at an offset = 8 mod 16.
 *   record       - 32 bytes describing one block (offset, size + status,
 *                  physical neighbours, bin links). Records live densely in
 *                  their own space (rec_space); slot 0 is never used, so
 *                  index 0 means "none".
 *   recycled slot- a record slot whose block went away (merged, freed into
 *                  the top); the newest is h->spare, the others are chained
 *                  on h->free_slot; reuse is LIFO.
 *   top          - the free tail of the user region, [top_off, limit); it
 *                  has no record and is never in a bin.
 *   large block  - a block mapped straight from the system (space_map); it
 *                  has a record (status LARGE) and a back-pointer like any
 *                  other, but no physical neighbours.
 *
 * The user region (offsets from space->base; W = back-pointer word):
 *
 *   0      8                 8+s0              8+s0+s1            top_off        limit  committed
 *   | pad  |W| data ....... |W| data (free) .. |W| data ......... |  top .......  | pad |
 *   +------+-+--------------+-+----------------+-+----------------+--------------+-----+
 *           ^ user ptr = 16-aligned          (free blocks keep their W untouched:
 *           W = record index                   the allocator never writes it again)
 *
 * The record array (rec_space, its own mmap space on the same os table,
 * starting OOB_REC_COLOR bytes in):
 *
 *   index:   0        1          2          3          4        nrec      cap
 *          +------+----------+----------+----------+--------+ ... +-------+
 *          |unused| USED     | FREE     | DEAD     | LARGE  |     |(uncommitted
 *          |      | off,size | off,size | fd=next  | addr   |     | beyond cap)
 *          |      | prev,next| prev,next| recycled | len    |     |
 *          |      |          | fd,bk    |          |        |     |
 *          +------+----------+----------+----------+--------+-----+
 *   prev/next = records of the physical neighbours (next 0 = the top follows);
 *   fd/bk     = bin list links (record indices; doubly linked, head in bin[]),
 *               with lists only (see bins below).
 *
 * Bins (a set of FREE blocks per size class, tb_policy.h), in one of two
 * representations chosen at build time by OOB_BINS_ARRAY (the design is
 * compiled twice: `oob` and `oob-array`); both make the same decisions:
 *   lists  (0) - bin[b] heads a doubly linked list through fd/bk, newest
 *                first. Removal anywhere O(1); no memory of their own.
 *   arrays (1) - bins[b].a[0 .. n) in bin_space (its own space, on the
 *                user space's os table), oldest first, newest at the end.
 *                An entry is 8 bytes: record index | size/16 << 32
 *                (saturated: then the record is read), so a best-fit scan
 *                reads only the array, backwards (newest first). Removal
 *                from the middle = linear search from the end + memmove of
 *                the newer entries (order kept). A full array doubles into a
 *                new segment at the end of bin_space. Before an operation
 *                that can fail every bin has OOB_BIN_SPARE free entries (else
 *                ENOMEM before anything changes); a free whose bin is full
 *                and cannot grow parks its block (status PARKED: free, in no
 *                bin, chained through fd) until the next such operation.
 *
 *   bin_space: | colour | bin 1 (8) | bin 2 (8) | ... | bin 127 (8) | bin 3 (16) | ...
 *                          first segments, made at create   regrown arrays (old ones left)
 *
 * An aligned block (alignment a > 16): a block of s + a - 16 bytes is taken,
 * the lead padding up to the aligned address becomes a free block of its own
 * (padding is a multiple of 16, hence 0 or >= OOB_MIN_BLOCK: it always
 * fits), and the tail beyond s is given back like a realloc shrink:
 *
 *   |W| lead padding (free block, own record) |W| aligned data ...  |W| tail (free) |
 *                                               ^ p, p % a == 0
 *
 *   No marker is needed in user memory: p[-1] names the record like any block.
 *
 * Invariants (check() proves them; level 3 runs it as tb_check_walk_due
 * says and when the heap is destroyed; level 2 checks each block whose
 * state an operation changes, oob_assert_block):
 *   records of USED and FREE blocks tile [8, top_off) exactly, in prev/next
 *   order, links agreeing both ways; top_off <= limit = committed - 8;
 *   no two FREE blocks touch, and no FREE block touches the top;
 *   every FREE block is in bin tb_bin_index(size) and nowhere else (arrays:
 *   exactly once, its entry's cached size right; PARKED blocks in no bin,
 *   on the parked chain); the bitmap bit of a bin is set iff the bin is
 *   non-empty; (arrays) a bin with fewer than OOB_BIN_SPARE free entries
 *   is marked in short_map;
 *   every USED or LARGE block's back-pointer word holds its record index;
 *   every DEAD slot is h->spare or on the recycled chain, and referenced by
 *   nobody.
 *
 * The one choke point from a user pointer to its record is oob_get_rec():
 * at check level >= 1 it validates the round trip (aligned pointer, index
 * in range, record in use, record's block address == the pointer) and dies
 * with tb_fatal() on an invalid or double free.
 */
#ifndef OOB_H
#define OOB_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_check.h"
#include "tb_lock.h"
#include "tb_policy.h"

/* OOB_MAP=1 builds `oob-map` (allocators/oob-map/README.md): no
 * back-pointer word; free(p) and usable_size(p) find the record through an
 * address map (amap.h), and a block's bytes run from its user pointer to
 * the next block's. Offsets keep oob's coordinates (a record's off is
 * user pointer - 8 - base), so nothing else changes. Lists only. */
#ifndef OOB_MAP
#define OOB_MAP 0
#endif
#if OOB_MAP && OOB_BINS_ARRAY
#error "oob-map is built with list bins"
#endif
#if OOB_MAP
#include "amap.h"
#define OOB_WORD ((size_t)0) /* in-band bytes per block in use */
#else
#define OOB_WORD TB_WORD
#endif

/* The minimum block: 16 bytes (the back-pointer and 8 bytes of data);
 * the variant oob-m32 is built with OOB_MIN_BLOCK_BYTES=32, inline's
 * minimum block, and then places every block exactly where inline does. */
#ifndef OOB_MIN_BLOCK_BYTES
#define OOB_MIN_BLOCK_BYTES 16
#endif
#define OOB_MIN_BLOCK ((size_t)OOB_MIN_BLOCK_BYTES)
#define OOB_REC_RESERVE ((size_t)1 << 30) /* address space for records: 32 Mi records */
#define OOB_REC_SPARE 4u /* records kept available before an operation starts */
/* The record array starts this many bytes into its space ("colouring").
 * Both spaces are page aligned, so without it record 1 (the first one
 * used) sits at the same offset within a 4 KiB page as the first block's
 * back-pointer word, and the CPU sees a false dependency between them on
 * every free/malloc pair (presumably its memory-disambiguation check, which
 * compares only low address bits): measured 2.7x slower on AMD EPYC (see
 * README.md). Half a page moves the first records away from the first
 * blocks; aliasing elsewhere stays as random as in any two-region design. */
#define OOB_REC_COLOR ((size_t)2048)

/* The bin representation, chosen at build time (cmake/TbDesign.cmake
 * compiles the sources twice): 0 = doubly linked lists of record indices
 * threaded through the records (`oob`), 1 = one dense array of entries per
 * bin, scanned linearly (`oob-array`). Both make the same decisions. */
#ifndef OOB_BINS_ARRAY
#define OOB_BINS_ARRAY 0
#endif

/* Status in the low 4 bits of rec.size (sizes are multiples of 16). */
#define OOB_DEAD 0u
#define OOB_USED 1u
#define OOB_FREE 2u
#define OOB_LARGE 3u
#define OOB_PARKED 4u /* OOB_BINS_ARRAY only: free, but held off the bins (see oob_bin_park) */
#define OOB_STATUS_MASK ((uint64_t)15)

typedef struct oob_rec_s {
  uint64_t off;  /* block start (its W) as offset from space->base; LARGE: absolute address of W */
  uint64_t size; /* block size in bytes | status; LARGE: mapping length | status */
  uint32_t prev; /* physical predecessor's record, 0: none. LARGE: (user ptr - mapping) / 16 */
  uint32_t next; /* physical successor's record, 0: the top follows */
  uint32_t fd;   /* FREE: next (older) member of the bin; DEAD: next recycled slot; PARKED: next parked */
  uint32_t bk;   /* FREE: previous (newer) member of the bin, 0: bin head (lists only) */
} oob_rec_t;
_Static_assert(sizeof(oob_rec_t) == 32, "records are 32 bytes, two per 64-byte line");

#if OOB_BINS_ARRAY
/* A bin entry: record index in the low 32 bits, block size in 16-byte
 * units in the high 32 (saturated at OOB_ENT_SAT, then the record is read),
 * so that a best-fit scan reads only the array. */
typedef uint64_t oob_ent_t;
#define OOB_ENT_SAT 0xffffffffu
#define OOB_BIN_CAP0 8u  /* first capacity of every bin's array: one 64-byte line */
#define OOB_BIN_SPARE 2u /* free entries every bin has before an operation that can fail starts */
#define OOB_BIN_COLOR ((size_t)1024) /* arrays start this far into bin_space (see OOB_REC_COLOR) */
#define OOB_BIN_RESERVE ((size_t)1 << 31)

/* One bin: a[0 .. n) in bin_space, a[n - 1] the most recently freed. */
typedef struct oob_bin_s {
  oob_ent_t *a;
  uint32_t n;   /* members */
  uint32_t cap; /* entries a can hold (a power of two >= OOB_BIN_CAP0) */
} oob_bin_t;
#endif

struct tb_heap_s {
  uint8_t *base;        /* == space->base (cached) */
  oob_rec_t *rec;       /* == rec_space.base + OOB_REC_COLOR */
  uint64_t top_off;     /* start of the top block */
  uint64_t limit;       /* end of the tileable region: committed - 8 */
  uint32_t last;        /* record of the block right before the top; 0: none */
  uint32_t spare;       /* the most recently recycled slot, kept off the chain; 0: none */
  uint32_t free_slot;   /* head of the chain of the other recycled slots */
  uint32_t nrec;        /* slots [1, nrec) have been handed out at least once */
  uint32_t cap;         /* slots whose memory is committed */
  tb_binmap_t map;      /* bit i set iff bin i is non-empty */
#if OOB_BINS_ARRAY
  /* Next to map: the malloc fast path tests them (oob_bins_clear). */
  tb_binmap_t short_map; /* bin b has fewer than OOB_BIN_SPARE free entries, growth failed */
  uint32_t parked;       /* oldest PARKED record (chained through fd, oldest first); 0: none */
  uint32_t parked_tail;  /* newest PARKED record (meaningful while parked != 0) */
  oob_bin_t bins[TB_NBINS]; /* the members of each bin, oldest first */
#else
  uint32_t rem;          /* a hint for the malloc fast path: the remainder of its last step-2 split */
  uint32_t rem_bin;      /* ... and the bin it went to; the hint holds only while it heads that bin */
  uint32_t bin[TB_NBINS]; /* head record of each bin (most recently freed) */
#endif
  space_t *space;       /* the user region */
  bool can_grow;        /* space->kind == SPACE_MMAP: large blocks are mapped */
  bool locked;
  tb_lock_t lock;
  uint64_t large_bytes; /* bytes mapped for large blocks now */
  uint64_t peak;        /* peak of committed_bytes */
  unsigned long long check_ops; /* operations counted for the level-3 walk (tb_check_walk_due) */
  tb_stats_t st;        /* counters only (gauges are computed by stats()) */
  space_t own_space;    /* the user region when the heap made it itself */
  space_t rec_space;    /* the record array */
#if OOB_BINS_ARRAY
  uint64_t bin_used;     /* bytes of bin_space handed to arrays, from its start */
  space_t bin_space;     /* the bins' arrays */
#endif
#if OOB_MAP
  amap_t amap;           /* user address -> record of the block in use starting there */
  amap_large_t large;    /* the same for large blocks */
#endif
};

/* ---- record helpers --------------------------------------------------------- */

static inline unsigned oob_status(const oob_rec_t *r) { return (unsigned)(r->size & OOB_STATUS_MASK); }
static inline uint64_t oob_size(const oob_rec_t *r) { return r->size & ~OOB_STATUS_MASK; }
static inline void oob_set(oob_rec_t *r, uint64_t size, unsigned status) { r->size = size | status; }


/* ---- level 2: a block's state after each change (dlmalloc's check_*_chunk) ---- */
#if TB_CHECK_LEVEL >= 2
/* Record i is a block of the space with the given status: size, place,
 * and the links of its physical neighbours agree with it; a free block
 * touches no free block and not the top, and its bin is marked
 * non-empty (or, with arrays, it is parked). */
static inline void oob_assert_block(tb_heap_t *h, uint32_t i, unsigned status) {
  const oob_rec_t *rec = h->rec, *r = &rec[i];
  uint64_t sz = oob_size(r);
  tb_assert(i > 0 && i < h->nrec);
#if OOB_BINS_ARRAY
  tb_assert(oob_status(r) == status || (status == OOB_FREE && oob_status(r) == OOB_PARKED));
#else
  tb_assert(oob_status(r) == status);
#endif
  tb_assert(sz >= OOB_MIN_BLOCK && (sz & TB_ALIGN_MASK) == 0 && (r->off & TB_ALIGN_MASK) == TB_WORD);
  tb_assert(r->off + sz <= h->top_off);
  if (r->prev)
    tb_assert(rec[r->prev].next == i && rec[r->prev].off + oob_size(&rec[r->prev]) == r->off);
  else
    tb_assert(r->off == TB_WORD);
  if (r->next)
    tb_assert(rec[r->next].prev == i && rec[r->next].off == r->off + sz);
  else
    tb_assert(h->last == i && r->off + sz == h->top_off);
  if (oob_status(r) == OOB_FREE) { /* (a parked block may touch a free one) */
    tb_assert(r->next && oob_status(&rec[r->next]) != OOB_FREE);
    tb_assert(!r->prev || oob_status(&rec[r->prev]) != OOB_FREE);
    tb_assert(tb_binmap_test(&h->map, tb_bin_index(sz)));
  }
}
/* The top: it starts where the last block ends. */
static inline void oob_assert_top(tb_heap_t *h) {
  tb_assert(h->top_off <= h->limit && (h->top_off & TB_ALIGN_MASK) == TB_WORD);
  if (h->last)
    tb_assert(h->rec[h->last].next == 0 && h->rec[h->last].off + oob_size(&h->rec[h->last]) == h->top_off);
  else
    tb_assert(h->top_off == TB_WORD);
}
#define OOB_ASSERT_USED(h, i) oob_assert_block((h), (i), OOB_USED)
#define OOB_ASSERT_FREE(h, i) oob_assert_block((h), (i), OOB_FREE)
#define OOB_ASSERT_TOP(h) oob_assert_top(h)
#else
#define OOB_ASSERT_USED(h, i) ((void)0)
#define OOB_ASSERT_FREE(h, i) ((void)0)
#define OOB_ASSERT_TOP(h) ((void)0)
#endif

/* The back-pointer word of a block at offset off. */
static inline uint64_t *oob_word(tb_heap_t *h, uint64_t off) { return (uint64_t *)(void *)(h->base + off); }

#if OOB_MAP
/* Record i's block at offset off is handed out: its map entry names it
 * (nothing is written to user memory). */
static inline void *oob_enframe(tb_heap_t *h, uint32_t i, uint64_t off) {
  amap_set(&h->amap, off + TB_WORD, i);
  return h->base + off + TB_WORD;
}

/* The block in use at user pointer p (not large) goes: its entry is cleared. */
static inline void oob_unframe(tb_heap_t *h, const void *p) {
  amap_set(&h->amap, (uint64_t)((const uint8_t *)p - h->base), 0);
}
#else
/* Write the back-pointer of record i, whose block starts at off (the one
 * user-memory write per block). */
static inline void *oob_enframe(tb_heap_t *h, uint32_t i, uint64_t off) {
  uint64_t *w = oob_word(h, off);
  *w = i;
  TB_STAT_ADD(h->st, user_bytes_written, TB_WORD);
  tb_assert(h->rec[i].off == off);
  OOB_ASSERT_USED(h, i); /* every block handed out from the space ends here */
  return w + 1;
}

static inline void oob_unframe(tb_heap_t *h, const void *p) { /* the word stays as it is */
  (void)h;
  (void)p;
}
#endif

TB_INTERNAL bool oob_rec_grow(tb_heap_t *h);

/* Make sure OOB_REC_SPARE fresh slots are committed, so that an operation,
 * once started, never fails for want of a record. */
#if OOB_BINS_ARRAY
static inline bool oob_bins_ready(tb_heap_t *h);
/* ... and, with arrays, room in every bin (oob_bins_ready). */
static inline bool oob_rec_ready(tb_heap_t *h) {
  return (tb_likely(h->cap - h->nrec >= OOB_REC_SPARE) || oob_rec_grow(h)) && oob_bins_ready(h);
}
#else
static inline bool oob_rec_ready(tb_heap_t *h) {
  return tb_likely(h->cap - h->nrec >= OOB_REC_SPARE) || oob_rec_grow(h);
}
#endif

/* Bytes the heap holds from the system: user region, record array, large
 * mappings and (arrays) the bins' space. */
static inline uint64_t oob_committed(const tb_heap_t *h) {
#if OOB_BINS_ARRAY
  return h->space->committed + h->rec_space.committed + h->large_bytes + h->bin_space.committed;
#elif OOB_MAP
  return h->space->committed + h->rec_space.committed + h->large_bytes + amap_committed(&h->amap) +
         amap_large_committed(&h->large);
#else
  return h->space->committed + h->rec_space.committed + h->large_bytes;
#endif
}

/* The most recently recycled slot, or 0 when none is. */
static tb_always_inline uint32_t oob_rec_reuse(tb_heap_t *h) {
  uint32_t i = h->spare;
  if (i) { /* no load from the record: keeps free+malloc pairs short */
    h->spare = 0;
    return i;
  }
  i = h->free_slot;
  if (i) h->free_slot = h->rec[i].fd;
  return i;
}

/* A slot for a new record (never fails after oob_rec_ready). */
static inline uint32_t oob_rec_new(tb_heap_t *h) {
  uint32_t i = oob_rec_reuse(h);
  if (i) return i;
  tb_assert(h->nrec < h->cap);
  return h->nrec++;
}

/* A slot for a new record for the fast paths, taken in the order of
 * oob_rec_new, never growing the array: 0 when no slot is recycled and
 * fewer than OOB_REC_SPARE fresh ones are left (the caller then goes the
 * general way, whose oob_rec_ready grows it first, as it would have). */
static tb_always_inline uint32_t oob_rec_take(tb_heap_t *h) {
  uint32_t i = oob_rec_reuse(h);
  if (i) return i;
  if (h->cap - h->nrec >= OOB_REC_SPARE) return h->nrec++;
  return 0;
}

static inline void oob_rec_recycle(tb_heap_t *h, uint32_t i) {
  oob_rec_t *r = &h->rec[i];
  r->size = OOB_DEAD; /* other fields are stale: nothing reads them */
  if (!h->spare) {
    h->spare = i;
    return;
  }
  r->fd = h->free_slot;
  h->free_slot = i;
}

#if OOB_BINS_ARRAY
/* ---- bins: dense arrays of entries, newest at the end --------------------------- */

static inline oob_ent_t oob_ent(uint32_t i, uint64_t size) {
  uint64_t u = size >> TB_ALIGN_SHIFT;
  return ((u < OOB_ENT_SAT ? u : OOB_ENT_SAT) << 32) | i;
}
static inline uint32_t oob_ent_rec(oob_ent_t e) { return (uint32_t)e; }
static inline uint64_t oob_ent_size(const tb_heap_t *h, oob_ent_t e) {
  uint64_t u = e >> 32;
  return tb_likely(u != OOB_ENT_SAT) ? u << TB_ALIGN_SHIFT : oob_size(&h->rec[(uint32_t)e]);
}

TB_INTERNAL bool oob_bin_grow(tb_heap_t *h, unsigned b);               /* heap.c */
TB_INTERNAL tb_noinline bool oob_bins_fix(tb_heap_t *h);               /* heap.c */
TB_INTERNAL tb_noinline void oob_bin_push_slow(tb_heap_t *h, unsigned b, uint32_t i, uint64_t size); /* heap.c */

/* Record i of block size `size` becomes the newest member of bin b. An
 * insert never fails: a bin keeps room (oob_bins_ready), and when it
 * cannot, the block is parked (oob_bin_push_slow). */
static tb_always_inline void oob_bin_push(tb_heap_t *h, unsigned b, uint32_t i, uint64_t size) {
  oob_bin_t *bn = &h->bins[b];
  if (tb_unlikely(bn->cap - bn->n <= OOB_BIN_SPARE)) {
    oob_bin_push_slow(h, b, i, size);
    return;
  }
  bn->a[bn->n++] = oob_ent(i, size);
  tb_binmap_set(&h->map, b);
}

static inline void oob_bin_insert(tb_heap_t *h, uint32_t i) {
  uint64_t size = oob_size(&h->rec[i]);
  oob_bin_push(h, tb_bin_index(size), i, size);
}

/* Remove the member at position k of bin b: the newer members move down one
 * place, so the order (and with it every later decision) is kept. */
static inline void oob_bin_cut(tb_heap_t *h, unsigned b, uint32_t k) {
  oob_bin_t *bn = &h->bins[b];
  uint32_t n = --bn->n;
  if (k < n) memmove(bn->a + k, bn->a + k + 1, (size_t)(n - k) * sizeof(oob_ent_t));
  if (!n) tb_binmap_clear(&h->map, b);
}

/* Position of record i in bin b, searched from the newest end (merges mostly
 * meet recently freed neighbours; the search costs what the memmove of
 * oob_bin_cut costs: one step per newer member). */
static inline uint32_t oob_bin_find(const tb_heap_t *h, unsigned b, uint32_t i) {
  const oob_bin_t *bn = &h->bins[b];
  uint32_t k = bn->n;
  while (k && oob_ent_rec(bn->a[k - 1]) != i) k--;
  tb_assert(k > 0); /* i is a member */
  return k - 1;
}

/* Remove record i from bin b (its bin, computed by the caller). */
static inline void oob_bin_unlink(tb_heap_t *h, uint32_t i, unsigned b) { oob_bin_cut(h, b, oob_bin_find(h, b, i)); }

static inline void oob_bin_remove(tb_heap_t *h, uint32_t i) { oob_bin_unlink(h, i, tb_bin_index(oob_size(&h->rec[i]))); }

/* Record i, a member of bin `from`, becomes the newest member of bin `to`
 * with its current size (it may have changed: the entry caches it). */
static inline void oob_bin_move(tb_heap_t *h, uint32_t i, unsigned from, unsigned to) {
  oob_bin_t *bn = &h->bins[from];
  uint64_t size = oob_size(&h->rec[i]);
  uint32_t k = oob_bin_find(h, from, i);
  if (from == to && k == bn->n - 1) {
    bn->a[k] = oob_ent(i, size); /* already the newest */
    return;
  }
  oob_bin_cut(h, from, k);
  oob_bin_push(h, to, i, size);
}

/* Free record q, a member of the bin of qs, grew to ms by a merge (its
 * record already says ms): it becomes the newest member of the bin of ms,
 * as a block freed now would. */
static inline void oob_bin_resized(tb_heap_t *h, uint32_t q, uint64_t qs, uint64_t ms) {
  oob_bin_move(h, q, tb_bin_index(qs), tb_bin_index(ms));
}

/* Whether every bin has OOB_BIN_SPARE free entries and nothing is parked. */
static tb_always_inline bool oob_bins_clear(const tb_heap_t *h) {
  return !(h->short_map.w[0] | h->short_map.w[1] | h->parked);
}

/* Before an operation that can fail: make every bin's array hold
 * OOB_BIN_SPARE more entries (the most inserts such an operation makes),
 * and give parked blocks back to the bins. False: no memory for it. */
static tb_always_inline bool oob_bins_ready(tb_heap_t *h) { return tb_likely(oob_bins_clear(h)) || oob_bins_fix(h); }

#else /* lists */
/* ---- bins: doubly linked lists of record indices ------------------------------ */

static inline void oob_bin_insert(tb_heap_t *h, uint32_t i) {
  oob_rec_t *r = &h->rec[i];
  unsigned b = tb_bin_index(oob_size(r));
  uint32_t head = h->bin[b];
  r->fd = head;
  r->bk = 0;
  if (head) h->rec[head].bk = i;
  h->bin[b] = i;
  tb_binmap_set(&h->map, b);
}

/* Bin b's head goes and its successor fd (0: none) becomes the head. */
static tb_always_inline void oob_bin_behead(tb_heap_t *h, unsigned b, uint32_t fd) {
  h->bin[b] = fd;
  if (fd)
    h->rec[fd].bk = 0;
  else
    tb_binmap_clear(&h->map, b);
}

/* Remove record i from bin b (its bin, computed by the caller). */
static inline void oob_bin_unlink(tb_heap_t *h, uint32_t i, unsigned b) {
  oob_rec_t *r = &h->rec[i];
  if (r->bk) {
    h->rec[r->bk].fd = r->fd;
    if (r->fd) h->rec[r->fd].bk = r->bk;
  } else {
    oob_bin_behead(h, b, r->fd);
  }
}

static inline void oob_bin_remove(tb_heap_t *h, uint32_t i) { oob_bin_unlink(h, i, tb_bin_index(oob_size(&h->rec[i]))); }

/* Record i, a member of bin `from`, goes to the head of bin `to` (from may
 * equal to): oob_bin_remove + oob_bin_insert with the bin indices the
 * caller already has (a merge that grows a free block computes both). */
static inline void oob_bin_move(tb_heap_t *h, uint32_t i, unsigned from, unsigned to) {
  oob_rec_t *rec = h->rec, *r = &rec[i];
  uint32_t fd = r->fd, bk = r->bk;
  if (bk) {
    rec[bk].fd = fd;
    if (fd) rec[fd].bk = bk;
  } else {
    oob_bin_behead(h, from, fd);
  }
  uint32_t head = h->bin[to];
  r->fd = head;
  r->bk = 0;
  if (head) rec[head].bk = i;
  h->bin[to] = i;
  tb_binmap_set(&h->map, to);
}
#endif /* OOB_BINS_ARRAY */

/* ---- the interface of the shared decisions (tb_decide.h) ------------------------ */

#define TBD_MIN_BLOCK OOB_MIN_BLOCK
#define TBD_WORD OOB_WORD
#if OOB_BINS_ARRAY
typedef uint32_t tbd_cur_t; /* a position in a bin's array (newest at the end) */
static tb_always_inline bool tbd_bin_first(tb_heap_t *h, unsigned b, tbd_cur_t *c) {
  *c = h->bins[b].n - 1;
  return h->bins[b].n != 0;
}
static tb_always_inline bool tbd_bin_older(tb_heap_t *h, unsigned b, tbd_cur_t *c) {
  (void)h;
  (void)b;
  return (*c)-- != 0;
}
static tb_always_inline size_t tbd_cur_size(tb_heap_t *h, unsigned b, const tbd_cur_t *c) {
  return oob_ent_size(h, h->bins[b].a[*c]);
}
#else
typedef uint32_t tbd_cur_t; /* a record index */
static tb_always_inline bool tbd_bin_first(tb_heap_t *h, unsigned b, tbd_cur_t *c) { return (*c = h->bin[b]) != 0; }
static tb_always_inline bool tbd_bin_older(tb_heap_t *h, unsigned b, tbd_cur_t *c) {
  (void)b;
  return (*c = h->rec[*c].fd) != 0;
}
static tb_always_inline size_t tbd_cur_size(tb_heap_t *h, unsigned b, const tbd_cur_t *c) {
  (void)b;
  return oob_size(&h->rec[*c]);
}
#endif
#include "tb_decide.h"

/* ---- the choke point ------------------------------------------------------------ */

/* The record of user pointer p. At check level >= 1 the round trip is
 * validated and misuse is fatal. */
#if OOB_MAP && TB_CHECK_LEVEL >= 1
TB_INTERNAL _Noreturn tb_noinline void oob_map_fatal(tb_heap_t *h, const void *p); /* check.c */
#endif
static inline uint32_t oob_get_rec(tb_heap_t *h, const void *p) {
#if TB_CHECK_LEVEL >= 1
  if ((uintptr_t)p & TB_ALIGN_MASK) tb_fatal("oob", "free/realloc of a misaligned pointer (not from this heap)", p);
#endif
#if OOB_MAP
  /* Pointers into the committed region are in the flat map; any other is a
   * large block or nothing of ours. Entries beyond the top are 0. */
  uintptr_t u = (uintptr_t)p - (uintptr_t)h->base;
  uint64_t i = tb_likely(u < h->limit + TB_WORD) ? h->amap.e[u >> AMAP_GRANULE_SHIFT] : amap_large_get(&h->large, p);
#if TB_CHECK_LEVEL >= 1
  if (i == 0) oob_map_fatal(h, p);
#endif
#else
  uint64_t i = ((const uint64_t *)p)[-1];
  (void)h; /* unused at level 0 with statistics off */
  TB_STAT_ADD(h->st, user_bytes_read, TB_WORD);
#endif
#if TB_CHECK_LEVEL >= 1
  if (i == 0 || i >= h->nrec) tb_fatal("oob", "invalid pointer (back-pointer names no record):", p);
  const oob_rec_t *r = &h->rec[i];
  unsigned s = oob_status(r);
  uintptr_t w = (uintptr_t)p - TB_WORD;
  uintptr_t at = s == OOB_LARGE ? (uintptr_t)r->off : (uintptr_t)h->base + (uintptr_t)r->off;
  if (at != w) tb_fatal("oob", "invalid pointer or double free (record names another block):", p);
#if OOB_BINS_ARRAY
  if (s == OOB_FREE || s == OOB_DEAD || s == OOB_PARKED) tb_fatal("oob", "double free (block is already free):", p);
#else
  if (s == OOB_FREE || s == OOB_DEAD) tb_fatal("oob", "double free (block is already free):", p);
#endif
#endif
  return (uint32_t)i;
}

/* ---- locking ----------------------------------------------------------------------- */

/* Locked heaps take the lock of tb_lock.h (tb_heap_lock, which itself skips
 * it while the process is single-threaded); the call is kept out of line so
 * that single-mode operations pay one predictable branch and no spills. */
TB_INTERNAL tb_noinline bool oob_lock_slow(tb_heap_t *h);
/* Whether no lock is needed: a single-mode heap, or a locked heap while the
 * process has one thread (glibc's trick, see tb_lock.h). */
static tb_always_inline bool oob_unlocked(const tb_heap_t *h) { return !h->locked || tb_lock_skippable(); }
static inline bool oob_lock(tb_heap_t *h) { return !oob_unlocked(h) && oob_lock_slow(h); }
static inline void oob_unlock(tb_heap_t *h, bool taken) { tb_heap_unlock(&h->lock, taken); }

/* ---- operations shared between the files (no locking, no checks) ---------------- */

TB_INTERNAL uint32_t oob_take(tb_heap_t *h, size_t s, uint64_t *off); /* malloc.c */
TB_INTERNAL void *oob_malloc_core(tb_heap_t *h, size_t n);        /* malloc.c */
TB_INTERNAL void *oob_large_map(tb_heap_t *h, size_t len, size_t align); /* malloc.c */
TB_INTERNAL void oob_release(tb_heap_t *h, uint32_t i, const void *p); /* free.c */
TB_INTERNAL void oob_shrink(tb_heap_t *h, uint32_t i, size_t s); /* free.c */
TB_INTERNAL bool oob_grow_space(tb_heap_t *h, size_t need);      /* heap.c */
TB_INTERNAL bool oob_check(tb_heap_t *h, char *why, size_t len); /* check.c */
/* The fast paths for a caller that holds the heap, shared by malloc/free
 * and realloc's move. */
TB_INTERNAL tb_always_inline void *oob_malloc_unlocked(tb_heap_t *h, size_t n);              /* malloc.c */
TB_INTERNAL tb_always_inline void oob_release_unlocked(tb_heap_t *h, uint32_t i, const void *p); /* free.c */
/* The operations table's functions (ops.c, TB_OPS_FUNCTIONS), by file. */
TB_INTERNAL tb_heap_t *oob_create(const tb_heap_opts_t *opts);         /* heap.c */
TB_INTERNAL void oob_destroy(tb_heap_t *h);                            /* heap.c */
TB_INTERNAL void *oob_malloc(tb_heap_t *h, size_t n);                  /* malloc.c */
TB_INTERNAL void *oob_calloc(tb_heap_t *h, size_t n, size_t size);     /* malloc.c */
TB_INTERNAL void oob_free(tb_heap_t *h, void *p);                      /* free.c */
TB_INTERNAL void *oob_realloc(tb_heap_t *h, void *p, size_t n);        /* realloc.c */
TB_INTERNAL size_t oob_usable_size(tb_heap_t *h, const void *p);       /* realloc.c */
TB_INTERNAL void *oob_aligned_alloc(tb_heap_t *h, size_t a, size_t n); /* aligned_alloc.c */
TB_INTERNAL bool oob_check_op(tb_heap_t *h, char *why, size_t len);    /* check.c */
TB_INTERNAL void oob_stats(tb_heap_t *h, tb_stats_t *st);              /* check.c */

/* The whole-heap walk of level 3, fatal when it fails (`after` names the
 * operation it follows). */
static inline void oob_validate_now(tb_heap_t *h, const char *after) {
  char why[200];
  if (!oob_check(h, why, sizeof why)) {
    char msg[300];
    snprintf(msg, sizeof msg, "heap check failed after %s: %s; heap", after, why);
    tb_fatal("oob", msg, (void *)h);
  }
}

/* At check level 3 every operation ends here: the whole-heap walk when it
 * is due (tb_check_walk_due), else nothing more than level 2's checks. */
static tb_always_inline void oob_validate(tb_heap_t *h, const char *after) {
#if TB_CHECK_LEVEL >= 3
  if (tb_check_walk_due(&h->check_ops)) oob_validate_now(h, after);
#else
  (void)h;
  (void)after;
#endif
}

/* The end of a fast path that returns p: level 3's validation, then p. */
static tb_always_inline void *oob_done(tb_heap_t *h, void *p, const char *after) {
  oob_validate(h, after);
  return p;
}

#endif /* OOB_H */
