/* tb_policy.h: the allocation policy that `inline` and `oob` share.
 *
 * The two designs must make the same decisions for the same request
 * sequence and differ only in where their metadata lives. Everything that
 * decides (block sizes, size classes, bins, the fit rule, splitting, the
 * top block, growth, the large-block threshold) is defined here once; the
 * designs implement the data structures. allocators/README.md restates the
 * policy as a table.
 *
 * Terms:
 *   request     - the n a caller passed to malloc.
 *   block size  - bytes a block occupies in the space, per-block word
 *                 included: tb_block_size(n) = max(MIN_BLOCK, align16(n + 8)).
 *                 The 8 bytes are the inline header or the oob back-pointer,
 *                 so both designs spend the same 8 bytes in-band per block in
 *                 use, and usable size = block size - 8.
 *   MIN_BLOCK   - the one placement-dependent constant: 32 for inline (a
 *                 free block must hold its header, two links and a footer),
 *                 16 for oob (only the back-pointer and 8 bytes of data).
 *                 A design passes its own to the functions below.
 *   bin         - a set of free blocks. Bins 1..63 are exact small bins, one
 *                 per block size 16..1008 (index = size / 16); bins 64..127
 *                 are large bins, four per power of two from 1 KiB
 *                 (log-spaced), the last one open-ended.
 *   bitmap      - one bit per bin, set iff the bin is non-empty.
 *   top         - the free block at the end of the committed space
 *                 (wilderness). It is never in a bin and is used last.
 *   large block - a block of at least TB_LARGE_THRESHOLD bytes; it comes
 *                 straight from the system (space_map) when the space can
 *                 grow, and from the space like any block when it is fixed.
 *
 * The fit rule, for a block size s:
 *   1. bin b = tb_bin_index(s). If b is small and non-empty: take its most
 *      recently freed block (exact fit, LIFO).
 *      If b is large: best fit inside b (the smallest block >= s; ties go
 *      to the most recently freed); every block examined is a bin step.
 *   2. Otherwise the first non-empty bin above b (bitmap search): take its
 *      most recently freed block.
 *   3. Otherwise the top; if the top is too small, grow the space (the top
 *      grows by what was committed) and take from the top.
 *   A block taken from a bin or the top is split when the remainder is at
 *   least MIN_BLOCK; the remainder goes back to its bin (or stays the top).
 * Freeing merges immediately with both physical neighbours if they are free
 * (two free blocks never touch), and with the top if it is the next block;
 * the result goes to the head of its bin (LIFO).
 * realloc of a block of size `have` to block size s (neither large):
 *   - s <= have: the block stays as it is while have <= tb_realloc_room(s)
 *     = 2 s (the room a move to s would have given it); only a real
 *     shrink, below half the block, splits the tail off down to s (when
 *     the tail is at least MIN_BLOCK).
 *   - s > have: it grows in place into a free next neighbour or the top
 *     when they already hold s (taking s, splitting the rest off when it
 *     is at least MIN_BLOCK; the space is never grown for it); otherwise
 *     it moves: allocate tb_realloc_room(s) = 2 s by the fit rule (s when
 *     2 s cannot be had), copy, free.
 *   Why: a block that grows by realloc tends to keep growing (strings,
 *   vectors, buffers read in pieces). Without room, a growing block whose
 *   next neighbour is in use moves on every step (allocate, copy the whole
 *   block, free), and small blocks allocated between steps soon fill the
 *   freed place and are carved from the top right behind the new one, so
 *   it moves again after 25-50% more growth (measured: 8-12 moves where
 *   glibc, whose per-thread cache keeps small blocks apart, makes 1).
 *   Doubling on a move makes the copying amortised O(1) per byte of
 *   growth, as an application's own vector doubling does, and keeping the
 *   room on the next small change (mimalloc's rule too: no shrink while the
 *   request is at least half the block) makes the following growth a
 *   compare. Growth in place copies nothing and takes no room, which keeps
 *   the cost in memory to the moves: a block realloc moved is at most half
 *   room, and a real shrink gives the tail back. Room never makes a block
 *   large; a block whose new size is large moves to the system exactly
 *   (large blocks stay put while they fit and stay large).
 * aligned allocation of n bytes at alignment a > 16: a block of
 * tb_aligned_take_size(s, a, MIN_BLOCK) bytes is taken by the fit rule
 * (whether it is large is decided on s alone), the aligned block is placed
 * at the first aligned address whose lead is 0 or at least MIN_BLOCK, and
 * the lead in front and the tail behind (when at least MIN_BLOCK) become
 * free blocks.
 * calloc of n bytes takes its block as malloc(n) does; it clears the
 * block unless the block is a fresh mapping from the system (a large
 * block, mapped for this call: the system gives it zeroed), so that no
 * design pays page faults to zero what is zero (tb_calloc_clears). Blocks
 * of the space are cleared whether they were used before or not: a space
 * may be a reused buffer.
 * Nothing is given back to the system from the top (no trim).
 */
#ifndef TB_POLICY_H
#define TB_POLICY_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TB_WORD ((size_t)8)          /* in-band bytes per block in use */
#define TB_ALIGN_SHIFT 4
#define TB_ALIGN_SIZE ((size_t)1 << TB_ALIGN_SHIFT) /* 16 */
#define TB_ALIGN_MASK (TB_ALIGN_SIZE - 1)

#define TB_NBINS 128
#define TB_NSMALL 64                  /* bins 1..63 small; 0 unused */
#define TB_SMALL_MAX ((size_t)(TB_NSMALL - 1) << TB_ALIGN_SHIFT) /* 1008 */
#define TB_LARGE_MIN_SHIFT 10         /* first large bin starts at 1 KiB */
#define TB_LARGE_PER_POW2 4

#define TB_LARGE_THRESHOLD ((size_t)256 << 10) /* blocks >= this come from the system */

/* Largest request any design accepts: leaves room for the per-block word,
 * alignment padding and a large block's page rounding without overflow. */
#define TB_MAX_REQUEST (((size_t)1 << 62) - 1)

_Static_assert(TB_SMALL_MAX + TB_ALIGN_SIZE == ((size_t)1 << TB_LARGE_MIN_SHIFT),
               "small bins must end where large bins start");
_Static_assert(TB_NSMALL + TB_LARGE_PER_POW2 * 16 == TB_NBINS, "bin count");

static inline size_t tb_align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

/* Block size for a request with `word` in-band bytes per block (TB_WORD;
 * 0 for oob-map, which has none), or 0 if the request is too large. */
static inline size_t tb_block_size_word(size_t n, size_t word, size_t min_block) {
  if (n > TB_MAX_REQUEST) return 0;
  size_t s = (n + word + TB_ALIGN_MASK) & ~TB_ALIGN_MASK;
  return s < min_block ? min_block : s;
}
static inline size_t tb_block_size(size_t n, size_t min_block) { return tb_block_size_word(n, TB_WORD, min_block); }

static inline bool tb_is_small(size_t block_size) { return block_size <= TB_SMALL_MAX; }

static inline unsigned tb_log2(size_t x) { return (unsigned)(63 - __builtin_clzll((unsigned long long)x)); }

/* Bin of a block size (a multiple of 16, at least 16). */
static inline unsigned tb_bin_index(size_t s) {
  if (s <= TB_SMALL_MAX) return (unsigned)(s >> TB_ALIGN_SHIFT);
  /* TB_LARGE_PER_POW2 = 4 bins per power of two, told apart by the two
   * bits below the leading one: TB_NSMALL + 4 * (lg - 10) + those bits,
   * where s >> (lg - 2) is 4 + those bits. */
  unsigned lg = tb_log2(s);
  unsigned idx = (lg << 2) + (unsigned)(s >> (lg - 2)) + (TB_NSMALL - 4 - (TB_LARGE_MIN_SHIFT << 2));
  return idx < TB_NBINS ? idx : TB_NBINS - 1;
}

/* A quick sufficient test that block sizes x <= y share a bin, for a merge
 * that grows a free block: true only when both are large and agree in
 * their leading three bits (the bits tb_bin_index reads). It misses pairs
 * that share the last, open-ended bin; callers fall back to comparing
 * tb_bin_index then. */
static inline bool tb_same_bin_quick(size_t x, size_t y) {
  return x > TB_SMALL_MAX && (x ^ y) < ((size_t)1 << (tb_log2(x) - 2));
}

/* Smallest block size that lands in bin i (i >= 1). */
static inline size_t tb_bin_min_size(unsigned i) {
  if (i < TB_NSMALL) return (size_t)i << TB_ALIGN_SHIFT;
  unsigned k = i - TB_NSMALL, lg = TB_LARGE_MIN_SHIFT + (k >> 2);
  return ((size_t)1 << lg) + ((size_t)(k & 3u) << (lg - 2));
}

/* The bitmap of non-empty bins. */
typedef struct tb_binmap_s {
  uint64_t w[TB_NBINS / 64];
} tb_binmap_t;

static inline void tb_binmap_set(tb_binmap_t *m, unsigned i) { m->w[i >> 6] |= (uint64_t)1 << (i & 63); }
static inline void tb_binmap_clear(tb_binmap_t *m, unsigned i) { m->w[i >> 6] &= ~((uint64_t)1 << (i & 63)); }
static inline bool tb_binmap_test(const tb_binmap_t *m, unsigned i) { return (m->w[i >> 6] >> (i & 63)) & 1u; }

/* First non-empty bin >= i, or TB_NBINS if none. */
static inline unsigned tb_binmap_next(const tb_binmap_t *m, unsigned i) {
  for (unsigned w = i >> 6; w < TB_NBINS / 64; w++) {
    uint64_t bits = m->w[w];
    if (w == (i >> 6)) bits &= ~(uint64_t)0 << (i & 63);
    if (bits) return (w << 6) + (unsigned)__builtin_ctzll(bits);
  }
  return TB_NBINS;
}

/* Whether a block of size `have` taken for `need` bytes is split. */
static inline bool tb_should_split(size_t have, size_t need, size_t min_block) {
  return have - need >= min_block;
}

/* Block size to take for an aligned block of size s at alignment a > 16:
 * the smallest that always holds it after its lead. The gap from a block's
 * user pointer to the next aligned address is a multiple of 16 below a; a
 * gap of 0 or at least min_block is the lead, a shorter one is pushed one
 * alignment further (lead = gap + a < min_block + a). So the worst lead is
 * a - 16 when min_block is 16 (oob) and a + min_block - 16 otherwise. */
static inline size_t tb_aligned_take_size(size_t s, size_t a, size_t min_block) {
  return s + a - TB_ALIGN_SIZE + (min_block > TB_ALIGN_SIZE ? min_block : 0);
}

/* The block size a realloc that moves a block growing to block size s
 * asks for, and the largest block it leaves in place for s:
 * TB_REALLOC_ROOM times s, kept below TB_LARGE_THRESHOLD (room must not
 * turn a block into a large one); s itself from the threshold on. s >= 16
 * is a multiple of 16, so is the result, and s <= result. The factor
 * trades memory (a moved block is at most 1 - 1/factor room) for copying
 * (at most 1/(factor - 1) of the final size): 2 is the usual choice of
 * growable arrays. */
#define TB_REALLOC_ROOM 2u
_Static_assert(TB_REALLOC_ROOM >= 1, "room never shrinks a block");
static inline size_t tb_realloc_room(size_t s) {
  if (s >= TB_LARGE_THRESHOLD) return s;
  return s < TB_LARGE_THRESHOLD / TB_REALLOC_ROOM ? TB_REALLOC_ROOM * s : TB_LARGE_THRESHOLD - TB_ALIGN_SIZE;
}
_Static_assert((TB_LARGE_THRESHOLD & TB_ALIGN_MASK) == 0, "room stays a block size below the threshold");

/* Whether realloc to block size s <= have leaves a block of `have` bytes
 * whole: it is no larger than a move to s would have made it. Otherwise
 * the request is a real shrink and the tail goes (tb_should_split). */
static inline bool tb_realloc_keeps(size_t have, size_t s) { return have <= tb_realloc_room(s); }

/* Whether a block size goes straight to the system (growable spaces only). */
static inline bool tb_is_large(size_t block_size, bool space_can_grow) {
  return space_can_grow && block_size >= TB_LARGE_THRESHOLD;
}

/* The bytes calloc(n, size) asks for in *t; false with errno ENOMEM when
 * n * size overflows. */
static inline bool tb_calloc_total(size_t n, size_t size, size_t *t) {
  if (!__builtin_mul_overflow(n, size, t)) return true;
  errno = ENOMEM;
  return false;
}

/* Whether calloc must clear the block it took for block size s: every
 * block but a large one, which is a fresh mapping and already zero. */
static inline bool tb_calloc_clears(size_t block_size, bool space_can_grow) {
  return !tb_is_large(block_size, space_can_grow);
}

#endif /* TB_POLICY_H */
