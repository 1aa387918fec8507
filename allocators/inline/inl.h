/* inl.h: the `inline` design: dlmalloc-style boundary tags.
 *
 * Objects and terms:
 *   heap   - struct tb_heap_s below, allocated with the C library's calloc,
 *            outside the space it manages.
 *   block  - a run of the space [b, b + size) that starts with its 8-byte
 *            header. size is a multiple of 16, at least INL_MIN_BLOCK (32),
 *            and counts the header. Block addresses are 8 mod 16, so the
 *            user pointer b + 8 is 16-byte aligned.
 *   top    - the free block at the end of the space (wilderness): h->top,
 *            h->top_size. It is never in a bin and has no header in memory
 *            (its size lives in the heap struct), so it may be 0 bytes long.
 *   bin    - a doubly linked, NULL-terminated list of free blocks with
 *            head h->bins[i]; i = tb_bin_index(size) (tb_policy.h).
 *   large  - a block mapped straight from the system (space_map), kept on
 *            the doubly linked list h->large so destroy() can unmap it.
 *
 * A block in use (usable size = size - 8; the footer word of a free block
 * is payload while the block is in use, so in-use overhead is 8 bytes):
 *
 *     b ->  +--------------------------------+----+----+----+
 *           | size                            |LRG |PIN |CIN |  header
 *   mem ->  +--------------------------------+----+----+----+
 *           | payload ... (size - 8 bytes, 16-aligned start)  |
 *           |  ... including the block's last word            |
 *  b+size-> +-------------------------------------------------+ next header
 *
 * A free block (never next to another free block, nor to the top):
 *
 *     b ->  | size                            | 0  | 1  | 0  |  header
 *           | next free block in bin (or NULL)                |
 *           | previous free block in bin (or NULL)            |
 *           | ... unused ...                                  |
 *           | size  (footer = boundary tag, the last word)    |
 *  b+size-> | header of next block: PINUSE = 0                |
 *
 * An aligned block (dlmalloc's leader split): the request is served from a
 * block of size tb_aligned_take_size(s, align, MIN_BLOCK) = s + align + 16; the part before the aligned user
 * pointer (the leader, 0 or >= MIN_BLOCK bytes) becomes an ordinary free
 * block, and so does the tail beyond s if it is >= MIN_BLOCK. The aligned
 * block itself is an ordinary block in use: no padding marker, so free,
 * realloc and usable_size have no aligned case at all.
 *
 *     | leader: free block (size L) | size|PIN=0|CIN | payload (aligned) | tail: free |
 *     ^ q - 8                     L ^                ^ p = q + L (p % align == 0)
 *
 * A large block (mapping M of maplen bytes, page-rounded):
 *
 *     M -> | next | prev | user | maplen | ... | M (p-16) | maplen|LRG|CIN (p-8) | payload ...
 *                                                           p = align_up(M + 48, align) ^
 *
 * Status bits of a header word:
 *   INL_CINUSE (bit 0)  this block is in use (handed out).
 *   INL_PINUSE (bit 1)  the previous block is in use, so there is no
 *                       footer before the header to read; the first block
 *                       of the space always has it set.
 *   INL_LARGE  (bit 2)  a large block from space_map; size = maplen.
 *
 * Invariants (check() proves them all at level 3):
 *   blocks tile [first, top) exactly; top + top_size == end
 *       where first = base + 8 and end = base + committed - 8;
 *   PINUSE(b) == CINUSE(previous block), PINUSE(first) == 1, and the block
 *       just before the top is in use (two free blocks never touch);
 *   every free block's footer == its size, and it sits in exactly one bin,
 *       bin tb_bin_index(size); every bin member is such a block;
 *   bitmap bit i set  <=>  bins[i] != NULL;
 *   statistics gauges equal what a walk counts.
 */
#ifndef INL_H
#define INL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_check.h"
#include "tb_lock.h"
#include "tb_policy.h"

#define INL_MIN_BLOCK ((size_t)32)
#define INL_CINUSE ((size_t)1)
#define INL_PINUSE ((size_t)2)
#define INL_LARGE ((size_t)4)
#define INL_FLAGS ((size_t)7)
#define INL_LARGE_HDR ((size_t)48) /* bytes from a mapping's start to the first possible user pointer */

_Static_assert(INL_MIN_BLOCK == 4 * TB_WORD, "a free block holds header, two links and a footer");
_Static_assert((INL_LARGE_HDR & TB_ALIGN_MASK) == 0, "large header keeps 16-byte alignment");

typedef struct inl_free_s {
  size_t head;              /* size | flags */
  struct inl_free_s *next;  /* next in bin, NULL at the end */
  struct inl_free_s *prev;  /* previous in bin, NULL at the head */
} inl_free_t;

typedef struct inl_large_s {
  struct inl_large_s *next, *prev; /* the heap's list of large blocks */
  void *user;                      /* the pointer handed out */
  size_t maplen;                   /* bytes mapped at this address */
} inl_large_t;

struct tb_heap_s {
  uint8_t *first;            /* first block: base + 8 */
  uint8_t *top;              /* the top block (no header in memory) */
  size_t top_size;           /* bytes from top to end; multiple of 16, may be 0 */
  uint8_t *end;              /* base + committed - 8 (moves when the space grows) */
  tb_binmap_t map;           /* non-empty bins */
  inl_free_t *bins[TB_NBINS];
  space_t *space;
  bool can_grow;             /* SPACE_MMAP: grows, large blocks come from the system */
  bool locked;               /* TB_MODE_LOCKED */
  tb_lock_t lock;
  inl_large_t *large;        /* list of large blocks */
  size_t large_bytes;        /* bytes mapped for large blocks */
  size_t peak_committed;     /* max of committed + large_bytes */
  size_t nlarge;             /* large blocks */
  unsigned long long check_ops; /* operations counted for the level-3 walk (tb_check_walk_due) */
  tb_stats_t st;             /* counters only (TB_STATS); gauges come from a walk.
                                mallocs counts blocks handed out, so
                                mallocs - frees == live blocks (check() proves it) */
  space_t own_space;
};

/* ---- block helpers ------------------------------------------------------ */

static tb_always_inline size_t inl_size(size_t head) { return head & ~INL_FLAGS; }
static tb_always_inline size_t *inl_hdr(uint8_t *b) { return (size_t *)(void *)b; }
static tb_always_inline uint8_t *inl_blk(const void *mem) { return (uint8_t *)(uintptr_t)mem - TB_WORD; }
static tb_always_inline void *inl_mem(uint8_t *b) { return b + TB_WORD; }
static tb_always_inline void inl_set_foot(uint8_t *b, size_t size) { *(size_t *)(void *)(b + size - TB_WORD) = size; }
static tb_always_inline size_t inl_prev_foot(uint8_t *b) { return *(size_t *)(void *)(b - TB_WORD); }

/* ---- level 2: a block's state after each change (dlmalloc's check_*_chunk) ---- */
#if TB_CHECK_LEVEL >= 2
/* Block b is in use: its tags, its place, and its neighbours agree. */
static inline void inl_assert_inuse(tb_heap_t *h, uint8_t *b) {
  size_t head = *inl_hdr(b), size = inl_size(head);
  tb_assert((head & (INL_CINUSE | INL_LARGE)) == INL_CINUSE);
  tb_assert(size >= INL_MIN_BLOCK && (size & TB_ALIGN_MASK) == 0);
  tb_assert(b >= h->first && size <= (size_t)(h->top - b));
  tb_assert(b + size == h->top || (*inl_hdr(b + size) & INL_PINUSE));
  tb_assert(b != h->first || (head & INL_PINUSE));
  if (!(head & INL_PINUSE)) {
    size_t ps = inl_prev_foot(b);
    tb_assert(ps >= INL_MIN_BLOCK && ps <= (size_t)(b - h->first) && *inl_hdr(b - ps) == (ps | INL_PINUSE));
  }
}
/* Block b is free: footer, neighbours (in use on both sides, never the
 * top), and its place at the bin's links. */
static inline void inl_assert_free(tb_heap_t *h, uint8_t *b) {
  size_t head = *inl_hdr(b), size = inl_size(head);
  tb_assert((head & INL_FLAGS) == INL_PINUSE);
  tb_assert(size >= INL_MIN_BLOCK && (size & TB_ALIGN_MASK) == 0);
  tb_assert(b >= h->first && size < (size_t)(h->top - b));
  tb_assert(*(size_t *)(void *)(b + size - TB_WORD) == size);
  size_t nh = *inl_hdr(b + size);
  tb_assert((nh & INL_CINUSE) && !(nh & INL_PINUSE));
  const inl_free_t *f = (const inl_free_t *)(void *)b;
  unsigned i = tb_bin_index(size);
  tb_assert(f->prev ? f->prev->next == f : h->bins[i] == f);
  tb_assert(!f->next || f->next->prev == f);
  tb_assert(tb_binmap_test(&h->map, i));
}
/* The top ends the space. */
static inline void inl_assert_top(tb_heap_t *h) {
  tb_assert(h->top >= h->first && h->top + h->top_size == h->end && (h->top_size & TB_ALIGN_MASK) == 0);
}
#define INL_ASSERT_INUSE(h, b) inl_assert_inuse((h), (b))
#define INL_ASSERT_FREE(h, b) inl_assert_free((h), (b))
#define INL_ASSERT_TOP(h) inl_assert_top(h)
#else
#define INL_ASSERT_INUSE(h, b) ((void)0)
#define INL_ASSERT_FREE(h, b) ((void)0)
#define INL_ASSERT_TOP(h) ((void)0)
#endif

/* ---- bins ----------------------------------------------------------------- */

static tb_always_inline void inl_bin_insert(tb_heap_t *h, uint8_t *b, size_t size) {
  unsigned i = tb_bin_index(size);
  inl_free_t *f = (inl_free_t *)(void *)b, *n = h->bins[i];
  f->next = n;
  f->prev = NULL;
  if (n)
    n->prev = f;
  else
    tb_binmap_set(&h->map, i);
  h->bins[i] = f;
}

/* Remove the head of non-empty bin i. */
static tb_always_inline uint8_t *inl_bin_pop(tb_heap_t *h, unsigned i) {
  inl_free_t *f = h->bins[i], *n = f->next;
  h->bins[i] = n;
  if (n)
    n->prev = NULL;
  else
    tb_binmap_clear(&h->map, i);
  return (uint8_t *)f;
}

/* Remove free block f from bin i (its bin). */
static tb_always_inline void inl_bin_remove(tb_heap_t *h, unsigned i, inl_free_t *f) {
  if (f->prev) {
    f->prev->next = f->next;
  } else {
    h->bins[i] = f->next;
    if (!f->next) tb_binmap_clear(&h->map, i);
  }
  if (f->next) f->next->prev = f->prev;
}

static tb_always_inline void inl_bin_unlink(tb_heap_t *h, uint8_t *b, size_t size) {
  inl_free_t *f = (inl_free_t *)(void *)b;
  if (f->prev)
    inl_bin_remove(h, 0, f); /* not the head: the bin index is not read */
  else
    inl_bin_remove(h, tb_bin_index(size), f);
}

/* ---- the interface of the shared decisions (tb_decide.h) ------------------- */

#define TBD_MIN_BLOCK INL_MIN_BLOCK
typedef inl_free_t *tbd_cur_t; /* a free block in a bin */
static tb_always_inline bool tbd_bin_first(tb_heap_t *h, unsigned b, tbd_cur_t *c) { return (*c = h->bins[b]) != NULL; }
static tb_always_inline bool tbd_bin_older(tb_heap_t *h, unsigned b, tbd_cur_t *c) {
  (void)h;
  (void)b;
  return (*c = (*c)->next) != NULL;
}
static tb_always_inline size_t tbd_cur_size(tb_heap_t *h, unsigned b, const tbd_cur_t *c) {
  (void)h;
  (void)b;
  return inl_size((*c)->head);
}
#include "tb_decide.h"

/* Block b of `size` bytes, whose previous block is in use, becomes free:
 * it merges with the next block if that is free or the top, and goes to
 * the head of its bin. */
static tb_always_inline void inl_release(tb_heap_t *h, uint8_t *b, size_t size) {
  uint8_t *next = b + size;
  if (next == h->top) {
    h->top = b;
    h->top_size += size;
    TB_STAT_INC(h->st, merges);
    INL_ASSERT_TOP(h);
    return;
  }
  size_t nh = *inl_hdr(next);
  if (!(nh & INL_CINUSE)) {
    size_t ns = inl_size(nh);
    inl_bin_unlink(h, next, ns);
    size += ns;
    TB_STAT_INC(h->st, merges);
  } else {
    *inl_hdr(next) = nh & ~INL_PINUSE;
  }
  *inl_hdr(b) = size | INL_PINUSE;
  inl_set_foot(b, size);
  inl_bin_insert(h, b, size);
  INL_ASSERT_FREE(h, b);
}

/* ---- shared between the operation files (TB_INTERNAL) ----------------------- */

TB_INTERNAL void *inl_take(tb_heap_t *h, size_t s);              /* a block of >= s from bins/top, in use */
TB_INTERNAL void *inl_large_map(tb_heap_t *h, size_t align, size_t n);
TB_INTERNAL void inl_large_unmap(tb_heap_t *h, void *p);
TB_INTERNAL void inl_free_locked(tb_heap_t *h, void *p);
TB_INTERNAL void *inl_malloc_locked(tb_heap_t *h, size_t n);
TB_INTERNAL bool inl_check(tb_heap_t *h, char *why, size_t len);
TB_INTERNAL void *inl_malloc(tb_heap_t *h, size_t n);                  /* malloc.c: the public malloc */
TB_INTERNAL void inl_free(tb_heap_t *h, void *p);                      /* free.c: the public free */
TB_INTERNAL void inl_shrink(tb_heap_t *h, uint8_t *b, size_t size, size_t s); /* realloc.c: give back the tail beyond s */
/* The operations table's functions (ops.c, TB_OPS_FUNCTIONS), by file. */
TB_INTERNAL tb_heap_t *inl_create(const tb_heap_opts_t *opts);         /* heap.c */
TB_INTERNAL void inl_destroy(tb_heap_t *h);                            /* heap.c */
TB_INTERNAL void *inl_calloc(tb_heap_t *h, size_t n, size_t size);     /* malloc.c */
TB_INTERNAL void *inl_realloc(tb_heap_t *h, void *p, size_t n);        /* realloc.c */
TB_INTERNAL size_t inl_usable_size(tb_heap_t *h, const void *p);       /* realloc.c */
TB_INTERNAL void *inl_aligned_alloc(tb_heap_t *h, size_t a, size_t n); /* aligned.c */
TB_INTERNAL bool inl_check_op(tb_heap_t *h, char *why, size_t len);    /* check.c */
TB_INTERNAL void inl_stats(tb_heap_t *h, tb_stats_t *st);              /* check.c */
#if TB_CHECK_LEVEL >= 1
TB_INTERNAL bool inl_large_owns(const tb_heap_t *h, const void *p);
TB_INTERNAL _Noreturn void inl_invalid(const char *what, const void *p);
#endif

#if TB_CHECK_LEVEL >= 1
TB_INTERNAL void inl_validate_ptr(tb_heap_t *h, const void *p); /* free.c */
#endif

/* The one choke point from a user pointer to its block (free, realloc,
 * usable_size): at check level >= 1 it proves that p is a block of h in
 * use (inl_validate_ptr) and dies naming p otherwise. */
static tb_always_inline uint8_t *inl_block_of(tb_heap_t *h, const void *p) {
#if TB_CHECK_LEVEL >= 1
  inl_validate_ptr(h, p);
#else
  (void)h;
#endif
  return inl_blk(p);
}

/* Whether a call may skip the lock and take the fast paths: the heap is
 * single-threaded, or it is locked but the process has only one thread
 * (glibc's trick, tb_lock.h), so no other thread can be inside it. */
static tb_always_inline bool inl_unlocked(const tb_heap_t *h) { return !h->locked || tb_lock_skippable(); }

/* At check level 3 every operation ends here: the whole-heap validation
 * when it is due (tb_check_walk_due), else nothing more than level 2's. */
#if TB_CHECK_LEVEL >= 3
TB_INTERNAL void inl_validate(tb_heap_t *h);     /* check.c */
TB_INTERNAL void inl_validate_now(tb_heap_t *h); /* check.c: the walk, fatal when it fails */
#define INL_VALIDATE(h) inl_validate(h)
#else
#define INL_VALIDATE(h) ((void)0)
#endif

/* The end of a fast path that returns p: level 3's validation, then p. */
static tb_always_inline void *inl_done(tb_heap_t *h, void *p) {
  INL_VALIDATE(h);
  (void)h;
  return p;
}



#endif /* INL_H */
