/* realloc.c: realloc by the policy of tb_policy.h: a block keeps its room
 * on a small change and gives back its tail only on a real shrink; it
 * grows in place into a free next neighbour or the top when they hold
 * enough, otherwise it moves, taking room (tb_realloc_room): allocate,
 * copy, free. */
#include "inl.h"

/* Block b (in use) keeps s of its `size` bytes; the tail becomes free. */
TB_INTERNAL tb_noinline void inl_shrink(tb_heap_t *h, uint8_t *b, size_t size, size_t s) {
  if (!tbd_take_split(size, s)) return;
  *inl_hdr(b) = s | (*inl_hdr(b) & INL_FLAGS);
  TB_STAT_INC(h->st, splits);
  inl_release(h, b + s, size - s);
  INL_ASSERT_INUSE(h, b);
}

static tb_noinline bool inl_grow_into_next(tb_heap_t *h, uint8_t *b, size_t head, size_t nh, size_t s);

/* Block b (header `head`, size bytes), followed by the top, grows to s
 * when the two hold s: it takes what tbd_top_take says of the top, the
 * rest stays the top. */
static tb_always_inline bool inl_grow_into_top(tb_heap_t *h, uint8_t *b, size_t head, size_t size, size_t s) {
  if (!tbd_grow_fits(size, h->top_size, s)) return false;
  size_t took = tbd_top_take(h->top_size, s - size);
  h->top += took; /* the end when the block took the whole top */
  h->top_size -= took;
  *inl_hdr(b) = (size + took) | (head & INL_FLAGS);
  TB_STAT_INC(h->st, merges);
  INL_ASSERT_INUSE(h, b);
  INL_ASSERT_TOP(h);
  return true;
}

/* Block b (in use, `size` bytes) grows in place to s > size into the top
 * or a free next block (case TBD_RE_NEXT); returns whether it did. */
static tb_always_inline bool inl_grow_next(tb_heap_t *h, uint8_t *b, size_t head, size_t s) {
  size_t size = inl_size(head);
  uint8_t *next = b + size;
  if (next == h->top) return inl_grow_into_top(h, b, head, size, s);
  size_t nh = *inl_hdr(next);
  if (nh & INL_CINUSE) return false;
  return inl_grow_into_next(h, b, head, nh, s);
}

/* Block b (header `head`) grows to s into its free next block (header nh)
 * when the two hold s; the rest, when at least MIN_BLOCK, is split off into
 * its bin (else the block takes it too). Out of line: the in-place cases of the
 * realloc fast path stay a leaf. */
static tb_noinline bool inl_grow_into_next(tb_heap_t *h, uint8_t *b, size_t head, size_t nh, size_t s) {
  size_t size = inl_size(head);
  uint8_t *next = b + size;
  size_t ns = inl_size(nh), sum = size + ns;
  if (!tbd_grow_fits(size, ns, s)) return false;
  inl_bin_unlink(h, next, ns);
  TB_STAT_INC(h->st, merges);
  if (tbd_take_split(sum, s)) {
    uint8_t *r = b + s;
    *inl_hdr(r) = (sum - s) | INL_PINUSE; /* its next block stays PINUSE = 0 */
    inl_set_foot(r, sum - s);
    inl_bin_insert(h, r, sum - s);
    TB_STAT_INC(h->st, splits);
    INL_ASSERT_FREE(h, r);
  } else {
    s = sum;
    *inl_hdr(b + s) |= INL_PINUSE;
  }
  *inl_hdr(b) = s | (head & INL_FLAGS);
  INL_ASSERT_INUSE(h, b);
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

/* The new block of a realloc that moves (old header `head`, new block
 * size s, request n): what tbd_move_request asks for first, else n. The
 * fast version for unlocked calls and the locked one decide
 * alike. */
static tb_always_inline void *inl_move_to(tb_heap_t *h, size_t head, size_t s, size_t n) {
  size_t first = tbd_move_request(head & INL_LARGE, s, n, h->can_grow);
  void *q = inl_malloc(h, first);
  return tb_likely(q != NULL) || first == n ? q : inl_malloc(h, n);
}

static void *inl_move_locked(tb_heap_t *h, size_t head, size_t s, size_t n) {
  size_t first = tbd_move_request(head & INL_LARGE, s, n, h->can_grow);
  void *q = inl_malloc_locked(h, first);
  return q || first == n ? q : inl_malloc_locked(h, n);
}

/* The move of an unlocked call (header `head`, new block size s, request
 * n): out of line, so that the in-place cases of the fast path below are a
 * leaf that saves no registers. */
static tb_noinline void *inl_move_copy(tb_heap_t *h, void *p, size_t head, size_t s, size_t n) {
  size_t old = inl_usable_of(inl_blk(p), p);
  void *q = inl_move_to(h, head, s, n);
  if (!q) return NULL; /* errno set by inl_malloc */
  memcpy(q, p, old < n ? old : n);
  inl_free(h, p);
  return q;
}

/* Whether block b (header `head`) stays in place for request n, block
 * size s: the case of tbd_realloc_case, applied (kept, shrunk, or grown
 * into its next block or the top). */
static tb_always_inline bool inl_resize(tb_heap_t *h, uint8_t *b, size_t head, size_t n, size_t s) {
  size_t size = inl_size(head), usable = (head & INL_LARGE) ? inl_usable_of(b, inl_mem(b)) : 0;
  switch (tbd_realloc_case(head & INL_LARGE, size, usable, n, s, h->can_grow)) {
  case TBD_RE_KEEP: return true;
  case TBD_RE_SHRINK: inl_shrink(h, b, size, s); return true;
  case TBD_RE_NEXT: return inl_grow_next(h, b, head, s);
  case TBD_RE_MOVE: break;
  }
  return false;
}

/* realloc, every case: NULL and 0, large blocks, the lock (when needed)
 * and, at level 3, the validation. */
static tb_noinline void *inl_realloc_general(tb_heap_t *h, void *p, size_t n) {
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
  if (tb_likely(inl_unlocked(h))) { /* no lock held: the public calls take their fast paths */
    uint8_t *b = inl_block_of(h, p);
    size_t head = *inl_hdr(b);
    TB_STAT_INC(h->st, reallocs);
    if (inl_resize(h, b, head, n, s)) {
      TB_STAT_INC(h->st, realloc_inplace);
      return inl_done(h, p);
    }
    return inl_move_copy(h, p, head, s, n);
  }
  bool taken = tb_heap_lock(&h->lock, h->locked);
  uint8_t *b = inl_block_of(h, p);
  size_t head = *inl_hdr(b), old = inl_usable_of(b, p);
  TB_STAT_INC(h->st, reallocs);
  void *q = p;
  if (inl_resize(h, b, head, n, s)) {
    TB_STAT_INC(h->st, realloc_inplace);
  } else if ((q = inl_move_locked(h, head, s, n)) != NULL) {
    memcpy(q, p, old < n ? old : n);
    inl_free_locked(h, p);
  }
  INL_VALIDATE(h);
  tb_heap_unlock(&h->lock, taken);
  if (!q) errno = ENOMEM;
  return q;
}

/* The rarer cases of the fast path below, as tail calls (so that it saves
 * no registers): a real shrink; growth into a free next block, else a
 * move. */
static tb_noinline void *inl_shrink_fast(tb_heap_t *h, void *p, size_t size, size_t s) {
  inl_shrink(h, inl_blk(p), size, s);
  return p;
}

static tb_noinline void *inl_next_or_move(tb_heap_t *h, void *p, size_t head, size_t nh, size_t s, size_t n) {
  if (inl_grow_into_next(h, inl_blk(p), head, nh, s)) {
    TB_STAT_INC(h->st, realloc_inplace);
    return inl_done(h, p);
  }
  return inl_move_copy(h, p, head, s, n);
}

/* The fast path of an unlocked call (every level): a block of the space
 * that stays small is kept, shrunk, grown into the top or a free next
 * block, or moved, as tbd_realloc_case and the general way decide; everything
 * else goes the general way. */
TB_INTERNAL void *inl_realloc(tb_heap_t *h, void *p, size_t n) {
  if (tb_likely(p && n - 1 < TB_SMALL_MAX - TB_WORD) && tb_likely(inl_unlocked(h))) {
    uint8_t *b = inl_block_of(h, p);
    size_t head = *inl_hdr(b);
    if (tb_likely(!(head & INL_LARGE))) {
      size_t s = tb_block_size(n, INL_MIN_BLOCK), size = inl_size(head);
      TB_STAT_INC(h->st, reallocs);
      tbd_realloc_t c = tbd_realloc_case(false, size, 0, n, s, false /* s is small: never large */);
      if (c != TBD_RE_NEXT) { /* kept or shrunk: never moved while small */
        TB_STAT_INC(h->st, realloc_inplace);
        if (tb_likely(c == TBD_RE_KEEP)) return inl_done(h, p);
        return inl_done(h, inl_shrink_fast(h, p, size, s));
      }
      uint8_t *next = b + size;
      if (next == h->top) {
        if (!inl_grow_into_top(h, b, head, size, s)) return inl_move_copy(h, p, head, s, n);
        TB_STAT_INC(h->st, realloc_inplace);
        return inl_done(h, p);
      }
      size_t nh = *inl_hdr(next);
      if (nh & INL_CINUSE) return inl_move_copy(h, p, head, s, n);
      return inl_next_or_move(h, p, head, nh, s, n);
    }
  }
  return inl_realloc_general(h, p, n);
}

TB_INTERNAL size_t inl_usable_size(tb_heap_t *h, const void *p) {
  return p ? inl_usable_of(inl_block_of(h, p), (void *)p) : 0;
}
