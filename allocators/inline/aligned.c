/* aligned.c: aligned_alloc by dlmalloc's leader split. The block is taken
 * for tb_aligned_take_size(s, align, MIN_BLOCK) bytes (tb_policy.h); the part before the first aligned user
 * pointer at least MIN_BLOCK in (the leader) is given back as an ordinary
 * free block, and so is the tail beyond s. Large requests map a region
 * big enough to place the pointer at the alignment. */
#include "inl.h"

TB_INTERNAL void *inl_aligned_alloc(tb_heap_t *h, size_t a, size_t n) {
  if (a == 0 || (a & (a - 1))) {
    errno = EINVAL;
    return NULL;
  }
  if (a <= TB_ALIGN_SIZE) return inl_malloc(h, n);
  size_t s = tb_block_size(n, INL_MIN_BLOCK);
  if (!s || a > TB_MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  bool taken = tb_heap_lock(&h->lock, h->locked);
  void *p;
  if (tb_is_large(s, h->can_grow)) {
    p = inl_large_map(h, a, n);
  } else if ((p = inl_take(h, tb_aligned_take_size(s, a, INL_MIN_BLOCK))) != NULL) {
    uint8_t *b = inl_blk(p);
    size_t size = inl_size(*inl_hdr(b)), lead = tbd_aligned_lead((uintptr_t)p, a);
    if (lead) {
      uint8_t *c = b + lead;
      *inl_hdr(c) = (size - lead) | INL_CINUSE; /* previous block (the leader) is free */
      *inl_hdr(b) = lead | INL_PINUSE;          /* b's previous block was in use */
      inl_set_foot(b, lead);
      inl_bin_insert(h, b, lead);
      TB_STAT_INC(h->st, splits);
      INL_ASSERT_FREE(h, b);
      b = c;
      size -= lead;
      p = inl_mem(c);
    }
    inl_shrink(h, b, size, s);
    INL_ASSERT_INUSE(h, b);
  }
  TB_STAT_ADD(h->st, mallocs, p != NULL);
  INL_VALIDATE(h);
  tb_heap_unlock(&h->lock, taken);
  if (!p) errno = ENOMEM;
  return p;
}
