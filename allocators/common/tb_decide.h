/* tb_decide.h: the decision procedures every design of the space shares
 * (inline, oob, oob-array, oob-m32, oob-map), written once over a small
 * interface that each design supplies. tb_policy.h states the policy and
 * its arithmetic; this header is the procedure that applies it: which
 * bin and which block a request takes (the fit order), whether a block or
 * the top is split, which case of realloc applies, and what a realloc
 * that moves asks for. A policy change is an edit here (or in
 * tb_policy.h), never in a design; tests/oob/test_placement.c proves that
 * the designs still place every block alike.
 *
 * The interface a design supplies, defined before it includes this header
 * (static inline functions and macros of these exact names: each design is
 * its own translation unit, so the names never meet):
 *
 *   TBD_MIN_BLOCK          its minimum block size (tb_policy.h MIN_BLOCK).
 *   tb_heap_t              its heap, with the members
 *                            tb_binmap_t map;  bit b set iff bin b is non-empty
 *                            tb_stats_t st;    counters (TB_STAT_INC)
 *   tbd_cur_t              a cursor on a free block of a bin (a pointer, a
 *                          record index, a position: whatever the design's
 *                          bins are made of).
 *   bool tbd_bin_first(tb_heap_t *h, unsigned b, tbd_cur_t *c)
 *                          c := the most recently freed member of bin b;
 *                          false when bin b is empty.
 *   bool tbd_bin_older(tb_heap_t *h, unsigned b, tbd_cur_t *c)
 *                          c := the next older member of bin b; false
 *                          when c was the oldest.
 *   size_t tbd_cur_size(tb_heap_t *h, unsigned b, const tbd_cur_t *c)
 *                          the block size of the member at c.
 *
 * What a design does itself is the metadata access: taking the chosen
 * member out of its bin, writing the in-use block and its remainder,
 * growing the space, moving the neighbours' links. It asks this header
 * only for decisions:
 *
 *   tbd_fit(h, s, &b, &c)        steps 1 and 2 of the fit rule: true and
 *                                the chosen member (bin b, cursor c), or
 *                                false: use the top (step 3).
 *   tbd_top_take(top, s)         how much of a top of `top` bytes (>= s) a
 *                                block of s takes: s, or the whole top when
 *                                the rest could not stand alone.
 *   tbd_take_split(have, s)      whether a free block of `have` bytes
 *                                taken (or grown into) for s is split.
 *   tbd_above_splits(have, s)    whether step 2 of the fit rule splits;
 *                                TBD_ABOVE_SPLITS evaluates `have` only
 *                                when the answer depends on it.
 *   tbd_aligned_lead(u, a)       the lead in front of an aligned block.
 *   tbd_realloc_case(...)        which case of realloc a request is.
 *   tbd_move_request(...)        what a realloc that moves asks for first.
 *
 * Fast paths in the designs take the same decisions sooner (exact small
 * bin, top split without growth) by calling the same functions, which
 * fold to a compare or two when their arguments are known; the tests
 * test_oob_same and test_placement compare them with the general paths.
 */
#ifndef TB_DECIDE_H
#define TB_DECIDE_H

#include "tb_check.h"
#include "tb_policy.h"

#ifndef TBD_MIN_BLOCK
#error "a design defines TBD_MIN_BLOCK and the tbd_* interface before including tb_decide.h"
#endif
/* TBD_WORD: the in-band bytes of a block in use (header or back-pointer):
 * TB_WORD unless the design defines it (oob-map has none: 0). */
#ifndef TBD_WORD
#define TBD_WORD TB_WORD
#endif
/* The block size of a request (tb_policy.h), 0 when it is too large. */
static tb_always_inline size_t tbd_block_size(size_t n) { return tb_block_size_word(n, TBD_WORD, TBD_MIN_BLOCK); }
_Static_assert(TBD_MIN_BLOCK >= TB_ALIGN_SIZE && (TBD_MIN_BLOCK & TB_ALIGN_MASK) == 0,
               "a minimum block is a multiple of 16");

/* ---- splitting -------------------------------------------------------------- */

/* Whether a remainder of rem bytes (a multiple of 16) may stand alone as a
 * block: 0 (nothing remains) or at least TBD_MIN_BLOCK. With a 16-byte
 * minimum every remainder can. */
static tb_always_inline bool tbd_rem_ok(size_t rem) {
  return TBD_MIN_BLOCK == TB_ALIGN_SIZE || rem == 0 || rem >= TBD_MIN_BLOCK;
}

/* Whether a free block of `have` >= s bytes, taken for s (from a bin, or
 * grown into by realloc), is split: its remainder becomes a free block. */
static tb_always_inline bool tbd_take_split(size_t have, size_t s) { return tb_should_split(have, s, TBD_MIN_BLOCK); }

/* The bytes a block of s takes from a top of `top` >= s bytes: s, leaving
 * the rest as the top, when the rest can stand alone (tbd_rem_ok: the top
 * is a block like any other); else the whole top. The top was split when
 * the result is s and the rest is not empty (tbd_top_split). */
static tb_always_inline size_t tbd_top_take(size_t top, size_t s) { return tbd_rem_ok(top - s) ? s : top; }
static tb_always_inline bool tbd_top_split(size_t top, size_t took) { return top - took >= TBD_MIN_BLOCK; }

/* Whether a free block of `have` > s bytes from a bin above s's bin is
 * split for s (step 2 of the fit rule): always with a 16-byte minimum
 * block (the rest is a multiple of 16), else as tbd_take_split says. */
static tb_always_inline bool tbd_above_splits(size_t have, size_t s) {
  return TBD_MIN_BLOCK == TB_ALIGN_SIZE || tbd_take_split(have, s);
}
/* The same decision with `have` an expression evaluated only when it
 * matters (a minimum block above 16): a fast path then neither loads the
 * block's size for nothing nor keeps the block live across the code
 * between the decision and the block's use (oob's step 2 kept its bin head
 * in two more registers, saved by every malloc fast path). */
#define TBD_ABOVE_SPLITS(have, s) (TBD_MIN_BLOCK == TB_ALIGN_SIZE || tbd_above_splits((have), (s)))

/* The lead in front of an aligned block: the distance from user pointer u
 * of the block taken (tb_aligned_take_size) to the first address aligned
 * to a whose lead can stand alone (0 or at least TBD_MIN_BLOCK). */
static tb_always_inline size_t tbd_aligned_lead(uintptr_t u, size_t a) {
  size_t lead = (size_t)(tb_align_up(u, a) - u);
  return tbd_rem_ok(lead) ? lead : lead + a;
}

/* ---- the fit rule (tb_policy.h, steps 1 and 2) --------------------------------- */

/* Best fit inside large bin b: the smallest member >= s, ties to the most
 * recently freed (the first met, newest first); every member examined is
 * a bin step. */
static inline bool tbd_best_fit(tb_heap_t *h, unsigned b, size_t s, tbd_cur_t *best) {
  tbd_cur_t c;
  size_t bs = SIZE_MAX;
  bool found = false;
  for (bool more = tbd_bin_first(h, b, &c); more; more = tbd_bin_older(h, b, &c)) {
    size_t sz = tbd_cur_size(h, b, &c);
    TB_STAT_INC(h->st, bin_steps);
    if (sz >= s && sz < bs) { /* strict: among equals the newest stays */
      *best = c;
      bs = sz;
      found = true;
      if (sz == s) break; /* nothing smaller can fit */
    }
  }
  return found;
}

/* Steps 1 and 2 of the fit rule for block size s: the exact small bin's
 * newest member, or the best fit in s's large bin, else the newest member
 * of the first non-empty bin above. True with the choice in *bin, *c;
 * false when no bin can serve s (then the top, step 3). */
static tb_always_inline bool tbd_fit(tb_heap_t *h, size_t s, unsigned *bin, tbd_cur_t *c) {
  unsigned b = tb_bin_index(s);
  if (tb_is_small(s)) {
    if (tbd_bin_first(h, b, c)) { /* exact fit: small bins hold one size */
      TB_STAT_INC(h->st, bin_steps);
      *bin = b;
      return true;
    }
  } else if (tbd_best_fit(h, b, s, c)) {
    *bin = b;
    return true;
  }
  if (!(h->map.w[0] | h->map.w[1]) || b + 1 >= TB_NBINS) return false;
  unsigned nb = tb_binmap_next(&h->map, b + 1);
  if (nb >= TB_NBINS) return false;
  TB_STAT_INC(h->st, bin_steps);
  *bin = nb;
  return tbd_bin_first(h, nb, c);
}

/* ---- realloc -------------------------------------------------------------------- */

/* The cases of realloc of a block to request n, block size s (tb_policy.h).
 * TBD_RE_NEXT means: the block stays if its next neighbour (the top or a
 * free block) already holds s together with it (tbd_grow_fits), else it
 * moves. */
typedef enum {
  TBD_RE_KEEP,   /* stays as it is */
  TBD_RE_SHRINK, /* stays; the tail beyond s is given back (tbd_take_split decides if there is one) */
  TBD_RE_NEXT,   /* grows in place into the next block or the top, if they hold s */
  TBD_RE_MOVE    /* allocate (tbd_move_request), copy, free */
} tbd_realloc_t;

/* The case for a block of `have` bytes in the space, or a large block
 * (large: usable bytes `usable`), going to request n of block size s. */
static tb_always_inline tbd_realloc_t tbd_realloc_case(bool large, size_t have, size_t usable, size_t n, size_t s,
                                                       bool can_grow) {
  if (tb_unlikely(large)) /* a large block stays put while it holds n and n stays large */
    return n <= usable && tb_is_large(s, can_grow) ? TBD_RE_KEEP : TBD_RE_MOVE;
  if (tb_is_large(s, can_grow)) return TBD_RE_MOVE; /* becomes large: to the system, exactly */
  if (s <= have) return tb_realloc_keeps(have, s) ? TBD_RE_KEEP : TBD_RE_SHRINK;
  return TBD_RE_NEXT;
}

/* Whether a block of `have` bytes grows in place to s > have into its next
 * neighbour, a free block or the top, of `next` bytes: they must already
 * hold s (the space is never grown for it). */
static tb_always_inline bool tbd_grow_fits(size_t have, size_t next, size_t s) { return next >= s - have; }

/* What a realloc that moves asks for first (request bytes): the room of s
 * for a block of the space that stays small, else exactly n. When the room
 * cannot be had the design asks for n (tbd_move_request(...) != n). */
static tb_always_inline size_t tbd_move_request(bool large, size_t s, size_t n, bool can_grow) {
  return !large && !tb_is_large(s, can_grow) ? tb_realloc_room(s) - TBD_WORD : n;
}

#endif /* TB_DECIDE_H */
