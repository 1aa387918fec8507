/* realloc.c: realloc in place when shrinking (the tail is split off when
 * it is at least MIN_BLOCK) and when growing into a free next neighbour or
 * the top; otherwise allocate, copy, free. */
#include "inl.h"

/* Block b (in use) keeps s of its `size` bytes; the tail becomes free. */
static void inl_shrink(tb_heap_t *h, uint8_t *b, size_t size, size_t s) {
  if (!tb_should_split(size, s, INL_MIN_BLOCK)) return;
  *inl_hdr(b) = s | (*inl_hdr(b) & INL_FLAGS);
  TB_STAT_INC(h->st, splits);
  inl_release(h, b + s, size - s);
}

/* Try to resize in place; returns whether it worked. */
static tb_always_inline bool inl_resize(tb_heap_t *h, uint8_t *b, size_t s) {
  size_t head = *inl_hdr(b), size = inl_size(head);
  if (s <= size) {
    inl_shrink(h, b, size, s);
    return true;
  }
  uint8_t *next = b + size;
  if (next == h->top) {
    size_t sum = size + h->top_size;
    if (sum < s) return false;
    if (sum - s >= INL_MIN_BLOCK) {
      h->top = b + s;
      h->top_size = sum - s;
    } else {
      s = sum;
      h->top = h->end;
      h->top_size = 0;
    }
    *inl_hdr(b) = s | (head & INL_FLAGS);
    TB_STAT_INC(h->st, merges);
    return true;
  }
  size_t nh = *inl_hdr(next);
  if (nh & INL_CINUSE) return false;
  size_t ns = inl_size(nh), sum = size + ns;
  if (sum < s) return false;
  inl_bin_unlink(h, next, ns);
  TB_STAT_INC(h->st, merges);
  if (tb_should_split(sum, s, INL_MIN_BLOCK)) {
    uint8_t *r = b + s;
    *inl_hdr(r) = (sum - s) | INL_PINUSE; /* its next block stays PINUSE = 0 */
    inl_set_foot(r, sum - s);
    inl_bin_insert(h, r, sum - s);
    TB_STAT_INC(h->st, splits);
  } else {
    s = sum;
    *inl_hdr(b + s) |= INL_PINUSE;
  }
  *inl_hdr(b) = s | (head & INL_FLAGS);
  return true;
}

static size_t inl_usable_of(uint8_t *b, void *p) {
  size_t head = *inl_hdr(b);
  if (head & INL_LARGE) {
    inl_large_t *l = ((void **)p)[-2];
    return (size_t)((uint8_t *)l + l->maplen - (uint8_t *)p);
  }
  return inl_size(head) - TB_WORD;
}

static void *inl_realloc(tb_heap_t *h, void *p, size_t n) {
  if (!p) return inl_malloc(h, n);
  if (n == 0) {
    inl_free(h, p);
    return NULL;
  }
  size_t s = tb_block_size(n, INL_MIN_BLOCK);
  if (!s) {
    errno = ENOMEM;
    return NULL;
  }
#if TB_CHECK_LEVEL < 3
  if (tb_likely(inl_unlocked(h))) { /* no lock held: the public calls take their fast paths */
#if TB_CHECK_LEVEL >= 1
    inl_validate_ptr(h, p);
#endif
    TB_STAT_INC(h->st, reallocs);
    uint8_t *b = inl_blk(p);
    size_t head = *inl_hdr(b);
    if (!(head & INL_LARGE) && !tb_is_large(s, h->can_grow) && inl_resize(h, b, s)) {
      TB_STAT_INC(h->st, realloc_inplace);
      return p;
    }
    if ((head & INL_LARGE) && n <= inl_usable_of(b, p) && tb_is_large(s, h->can_grow)) {
      TB_STAT_INC(h->st, realloc_inplace);
      return p;
    }
    size_t old = inl_usable_of(b, p);
    void *q = inl_malloc(h, n);
    if (!q) return NULL; /* errno set by inl_malloc */
    memcpy(q, p, old < n ? old : n);
    inl_free(h, p);
    return q;
  }
#endif
  bool taken = tb_heap_lock(&h->lock, h->locked);
#if TB_CHECK_LEVEL >= 1
  inl_validate_ptr(h, p);
#endif
  TB_STAT_INC(h->st, reallocs);
  uint8_t *b = inl_blk(p);
  size_t old = inl_usable_of(b, p);
  void *q = NULL;
  if (*inl_hdr(b) & INL_LARGE) {
    /* A large block stays put while the request still fits and is large. */
    if (n <= old && tb_is_large(s, h->can_grow)) q = p;
  } else if (!tb_is_large(s, h->can_grow) && inl_resize(h, b, s)) {
    q = p;
  }
  if (q) {
    TB_STAT_INC(h->st, realloc_inplace);
  } else {
    q = inl_malloc_locked(h, n);
    if (q) {
      memcpy(q, p, old < n ? old : n);
      inl_free_locked(h, p);
    }
  }
  INL_VALIDATE(h);
  tb_heap_unlock(&h->lock, taken);
  if (!q) errno = ENOMEM;
  return q;
}

static size_t inl_usable_size(tb_heap_t *h, const void *p) {
  (void)h;
  return p ? inl_usable_of(inl_blk(p), (void *)p) : 0;
}
