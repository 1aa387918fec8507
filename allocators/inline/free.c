/* free.c: free, and the validation behind the choke point from a user
 * pointer to its block (inl_block_of, inl.h), where invalid and double
 * frees die at check level >= 1. */
#include "inl.h"

#if TB_CHECK_LEVEL >= 1
/* Validate that p is a block of h in use, cheaply: alignment, the space's
 * bounds, the in-use bit, a sane size, the next block agreeing that this
 * one is in use, and a free previous block's tags agreeing with each other.
 * Pointers outside the space must be one of h's large blocks. */
TB_INTERNAL void inl_validate_ptr(tb_heap_t *h, const void *p) {
  const uint8_t *m = p;
  if ((uintptr_t)m & TB_ALIGN_MASK) inl_invalid("free/realloc of a misaligned pointer", p);
  if (m < h->first + TB_WORD || m >= h->top) {
    if (!inl_large_owns(h, p)) inl_invalid("free/realloc of a pointer that is not a block of this heap", p);
    return;
  }
  uint8_t *b = inl_blk(m);
  size_t head = *inl_hdr(b), size = inl_size(head);
  if (!(head & INL_CINUSE)) inl_invalid("double free (or free of a pointer inside a free block)", p);
  if ((head & INL_LARGE) || size < INL_MIN_BLOCK || (size & TB_ALIGN_MASK) || size > (size_t)(h->top - b))
    inl_invalid("free/realloc of a pointer that is not a block (bad header)", p);
  uint8_t *next = b + size;
  if (next != h->top && !(*inl_hdr(next) & INL_PINUSE))
    inl_invalid("free/realloc of a pointer that is not a block (next block disagrees)", p);
  if (!(head & INL_PINUSE)) {
    size_t ps = inl_prev_foot(b);
    if (ps < INL_MIN_BLOCK || (ps & TB_ALIGN_MASK) || ps > (size_t)(b - h->first) ||
        *inl_hdr(b - ps) != (ps | INL_PINUSE))
      inl_invalid("free/realloc of a pointer that is not a block (previous block disagrees)", p);
  }
}
#endif

/* Free a block already validated: merge with both neighbours, bin it. */
static tb_noinline void inl_free_block(tb_heap_t *h, void *p) {
  uint8_t *b = inl_blk(p);
  size_t head = *inl_hdr(b);
  TB_STAT_INC(h->st, frees);
  if (tb_unlikely(head & INL_LARGE)) {
    inl_large_unmap(h, p);
    return;
  }
  size_t size = inl_size(head);
  if (!(head & INL_PINUSE)) { /* merge with the free previous block */
    size_t ps = inl_prev_foot(b), total = size + ps;
    uint8_t *pb = b - ps, *next = b + size;
    TB_STAT_INC(h->st, merges);
    if (next != h->top && (*inl_hdr(next) & INL_CINUSE)) {
      /* Nothing to merge on the right. When the previous block heads its
       * bin and the merged block belongs to the same bin, unlinking and
       * re-inserting at the head would leave the list as it is: skip it
       * (the common case of frees in allocation order). */
      unsigned i = tb_bin_index(ps);
      if ((uint8_t *)h->bins[i] == pb && tb_bin_index(total) == i) {
        *inl_hdr(pb) = total | INL_PINUSE;
        inl_set_foot(pb, total);
        *inl_hdr(next) &= ~INL_PINUSE;
        INL_ASSERT_FREE(h, pb);
        return;
      }
    }
    inl_bin_unlink(h, pb, ps);
    b = pb;
    size = total;
  }
  inl_release(h, b, size);
}

TB_INTERNAL void inl_free_locked(tb_heap_t *h, void *p) {
  inl_block_of(h, p); /* validates p (level >= 1) */
  inl_free_block(h, p);
}

static tb_noinline void inl_free_slow(tb_heap_t *h, void *p) {
  bool taken = tb_heap_lock(&h->lock, h->locked);
  inl_free_locked(h, p);
  INL_VALIDATE(h);
  tb_heap_unlock(&h->lock, taken);
}

/* Unlocked calls (inl_unlocked), at every level, skip the lock and the
 * call layers; the work is the same (inl_free_block). */
TB_INTERNAL void inl_free(tb_heap_t *h, void *p) {
  if (!p) return;
  if (tb_likely(inl_unlocked(h))) {
    uint8_t *b = inl_block_of(h, p);
    size_t head = *inl_hdr(b);
    if (tb_likely((head & (INL_LARGE | INL_PINUSE)) == INL_PINUSE)) {
      size_t size = inl_size(head);
      uint8_t *next = b + size;
      if (next == h->top) { /* merge with the top */
        h->top = b;
        h->top_size += size;
        TB_STAT_INC(h->st, frees);
        TB_STAT_INC(h->st, merges);
        INL_ASSERT_TOP(h);
        INL_VALIDATE(h);
        return;
      }
      size_t nh = *inl_hdr(next);
      if (nh & INL_CINUSE) { /* no neighbour to merge with */
        *inl_hdr(next) = nh & ~INL_PINUSE;
        *inl_hdr(b) = size | INL_PINUSE;
        inl_set_foot(b, size);
        inl_bin_insert(h, b, size);
        TB_STAT_INC(h->st, frees);
        INL_ASSERT_FREE(h, b);
        INL_VALIDATE(h);
        return;
      }
    }
    inl_free_block(h, p);
    INL_VALIDATE(h);
    return;
  }
  inl_free_slow(h, p);
}
