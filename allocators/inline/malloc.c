/* malloc.c: finding a block (the fit rule of tb_policy.h), growing the
 * space, malloc and calloc. */
#include "inl.h"

/* Mark free block b (taken from a bin, size `have`) in use for `s` bytes,
 * splitting off the tail when it is at least MIN_BLOCK. Its previous block
 * is in use (free blocks never touch), its next one too. */
static tb_always_inline void *inl_use_free(tb_heap_t *h, uint8_t *b, size_t have, size_t s) {
  if (tbd_take_split(have, s)) {
    uint8_t *r = b + s;
    size_t rs = have - s;
    *inl_hdr(b) = s | INL_PINUSE | INL_CINUSE;
    *inl_hdr(r) = rs | INL_PINUSE;
    inl_set_foot(r, rs);
    inl_bin_insert(h, r, rs);
    TB_STAT_INC(h->st, splits);
    INL_ASSERT_FREE(h, r);
  } else {
    *inl_hdr(b) = have | INL_PINUSE | INL_CINUSE;
    *inl_hdr(b + have) |= INL_PINUSE;
  }
  INL_ASSERT_INUSE(h, b);
  return inl_mem(b);
}

/* Grow the space until the top holds s bytes. */
static tb_noinline bool inl_grow_space(tb_heap_t *h, size_t s) {
  space_t *sp = h->space;
  size_t need = (size_t)(h->top - sp->base) + s + TB_WORD;
  if (need < s || space_grow_to(sp, need)) return false;
  h->end = sp->base + sp->committed - TB_WORD;
  h->top_size = (size_t)(h->end - h->top);
  if (sp->committed + h->large_bytes > h->peak_committed) h->peak_committed = sp->committed + h->large_bytes;
  TB_STAT_INC(h->st, grows);
  return true;
}

/* The fit rule (tbd_fit: the bins; then the top, grown when too small). */
TB_INTERNAL void *inl_take(tb_heap_t *h, size_t s) {
  unsigned i;
  inl_free_t *f;
  if (tbd_fit(h, s, &i, &f)) {
    size_t have = inl_size(f->head);
    inl_bin_remove(h, i, f);
    return inl_use_free(h, (uint8_t *)f, have, s);
  }
  /* The top, used last. */
  if (tb_unlikely(h->top_size < s) && !inl_grow_space(h, s)) return NULL;
  uint8_t *b = h->top;
  size_t took = tbd_top_take(h->top_size, s);
  if (tb_likely(tbd_top_split(h->top_size, took))) TB_STAT_INC(h->st, splits);
  h->top = b + took; /* the end when the block took the whole top */
  h->top_size -= took;
  *inl_hdr(b) = took | INL_PINUSE | INL_CINUSE;
  INL_ASSERT_INUSE(h, b);
  INL_ASSERT_TOP(h);
  return inl_mem(b);
}

TB_INTERNAL void *inl_malloc_locked(tb_heap_t *h, size_t n) {
  size_t s = tb_block_size(n, INL_MIN_BLOCK);
  if (tb_unlikely(!s)) return NULL;
  void *p = tb_unlikely(tb_is_large(s, h->can_grow)) ? inl_large_map(h, TB_ALIGN_SIZE, n) : inl_take(h, s);
  TB_STAT_ADD(h->st, mallocs, p != NULL);
  return p;
}

/* Every case: lock (locked heaps), the fit rule, validation (level 3). */
static tb_noinline void *inl_malloc_slow(tb_heap_t *h, size_t n) {
  bool taken = tb_heap_lock(&h->lock, h->locked);
  void *p = inl_malloc_locked(h, n);
  INL_VALIDATE(h);
  tb_heap_unlock(&h->lock, taken);
  if (tb_unlikely(!p)) errno = ENOMEM;
  return p;
}

/* The fast path of an unlocked call (inl_unlocked), at every level: a
 * small request served by the head of its exact bin, or by splitting the
 * top when no bin is non-empty at all (then steps 1 and 2 of the fit rule
 * find nothing). It makes the same decision as inl_take, only sooner. */
TB_INTERNAL void *inl_malloc(tb_heap_t *h, size_t n) {
  if (tb_likely(n <= TB_SMALL_MAX - TB_WORD) && inl_unlocked(h)) {
    size_t s = tb_block_size(n, INL_MIN_BLOCK);
    unsigned i = (unsigned)(s >> TB_ALIGN_SHIFT); /* tb_bin_index of a small size */
    inl_free_t *f = h->bins[i];
    uint8_t *b;
    if (f) {
      b = inl_bin_pop(h, i);
      *inl_hdr(b) = s | INL_PINUSE | INL_CINUSE;
      *inl_hdr(b + s) |= INL_PINUSE;
      TB_STAT_INC(h->st, bin_steps);
      TB_STAT_INC(h->st, mallocs);
      INL_ASSERT_INUSE(h, b);
      return inl_done(h, inl_mem(b));
    }
    if (!(h->map.w[0] | h->map.w[1]) && h->top_size >= s + INL_MIN_BLOCK) { /* tbd_top_take splits the top */
      b = h->top;
      h->top = b + s;
      h->top_size -= s;
      *inl_hdr(b) = s | INL_PINUSE | INL_CINUSE;
      TB_STAT_INC(h->st, splits);
      TB_STAT_INC(h->st, mallocs);
      INL_ASSERT_INUSE(h, b);
      return inl_done(h, inl_mem(b));
    }
    void *p = inl_take(h, s); /* the whole fit rule, without the lock layer */
    if (tb_unlikely(!p)) {
      errno = ENOMEM;
      return NULL;
    }
    TB_STAT_INC(h->st, mallocs);
    return inl_done(h, p);
  }
  return inl_malloc_slow(h, n);
}

TB_INTERNAL void *inl_calloc(tb_heap_t *h, size_t n, size_t size) {
  size_t t;
  if (!tb_calloc_total(n, size, &t)) return NULL;
  bool taken = tb_heap_lock(&h->lock, h->locked);
  void *p = inl_malloc_locked(h, t);
  INL_VALIDATE(h);
  tb_heap_unlock(&h->lock, taken);
  if (!p) {
    errno = ENOMEM;
    return NULL;
  }
  if (tb_calloc_clears(tb_block_size(t, INL_MIN_BLOCK), h->can_grow)) memset(p, 0, t);
  return p;
}
