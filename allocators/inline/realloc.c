/* realloc.c: realloc by the policy of tb_policy.h: a block keeps its room
 * on a small change and gives back its tail only on a real shrink; it
 * grows in place into a free next neighbour or the top when they hold
 * enough, otherwise it moves, taking room (tb_realloc_room): allocate,
 * copy, free. */
#include "inl.h"

/* Block b (in use) keeps s of its `size` bytes; the tail becomes free. */
static tb_noinline void inl_shrink(tb_heap_t *h, uint8_t *b, size_t size, size_t s) {
  if (!tb_should_split(size, s, INL_MIN_BLOCK)) return;
  *inl_hdr(b) = s | (*inl_hdr(b) & INL_FLAGS);
  TB_STAT_INC(h->st, splits);
  inl_release(h, b + s, size - s);
}

static tb_noinline bool inl_grow_into_next(tb_heap_t *h, uint8_t *b, size_t head, size_t nh, size_t s);

/* Block b (header `head`, size bytes), followed by the top, grows to s
 * when the two hold s: the rest stays the top (or joins the block when it
 * is shorter than MIN_BLOCK). */
static tb_always_inline bool inl_grow_top(tb_heap_t *h, uint8_t *b, size_t head, size_t size, size_t s) {
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

/* Try to resize in place; returns whether it worked. */
static tb_always_inline bool inl_resize(tb_heap_t *h, uint8_t *b, size_t s) {
  size_t head = *inl_hdr(b), size = inl_size(head);
  if (s <= size) {
    if (!tb_realloc_keeps(size, s)) inl_shrink(h, b, size, s);
    return true;
  }
  uint8_t *next = b + size;
  if (next == h->top) return inl_grow_top(h, b, head, size, s);
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

/* Whether a realloc that cannot stay in place (old header `head`, new
 * block size s) asks for the room of s: a block of the space that grows
 * does (it failed to resize, so s is above its size); a large block, or
 * one that becomes large, asks for exactly the request. */
static tb_always_inline bool inl_move_room(const tb_heap_t *h, size_t head, size_t s) {
  return !(head & INL_LARGE) && !tb_is_large(s, h->can_grow);
}

/* The new block of a realloc that moves (request n): the room when
 * inl_move_room says so and it can be had, else n. The fast version for
 * unlocked calls below level 3 and the locked one decide alike. */
#if TB_CHECK_LEVEL < 3
static tb_always_inline void *inl_move_to(tb_heap_t *h, size_t head, size_t s, size_t n) {
  if (inl_move_room(h, head, s)) {
    void *q = inl_malloc(h, tb_realloc_room(s) - TB_WORD);
    if (tb_likely(q != NULL)) return q;
  }
  return inl_malloc(h, n);
}
#endif

static void *inl_move_locked(tb_heap_t *h, size_t head, size_t s, size_t n) {
  if (inl_move_room(h, head, s)) {
    void *q = inl_malloc_locked(h, tb_realloc_room(s) - TB_WORD);
    if (q) return q;
  }
  return inl_malloc_locked(h, n);
}

#if TB_CHECK_LEVEL < 3
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
#endif

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
    return inl_move_copy(h, p, head, s, n);
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
    q = inl_move_locked(h, *inl_hdr(b), s, n);
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

#if TB_CHECK_LEVEL < 3
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
    return p;
  }
  return inl_move_copy(h, p, head, s, n);
}
#endif

/* The fast path of an unlocked call below level 3: a block of the space
 * that stays small is kept, shrunk, grown into the top or a free next
 * block, or moved, as inl_resize and the general way decide; everything
 * else goes the general way. */
static void *inl_realloc(tb_heap_t *h, void *p, size_t n) {
#if TB_CHECK_LEVEL < 3
  if (tb_likely(p && n - 1 < TB_SMALL_MAX - TB_WORD) && tb_likely(inl_unlocked(h))) {
#if TB_CHECK_LEVEL >= 1
    inl_validate_ptr(h, p);
#endif
    uint8_t *b = inl_blk(p);
    size_t head = *inl_hdr(b);
    if (tb_likely(!(head & INL_LARGE))) {
      size_t s = tb_block_size(n, INL_MIN_BLOCK), size = inl_size(head); /* s small: never large */
      TB_STAT_INC(h->st, reallocs);
      if (s <= size) {
        TB_STAT_INC(h->st, realloc_inplace);
        if (tb_likely(tb_realloc_keeps(size, s))) return p;
        return inl_shrink_fast(h, p, size, s);
      }
      uint8_t *next = b + size;
      if (next == h->top) {
        if (!inl_grow_top(h, b, head, size, s)) return inl_move_copy(h, p, head, s, n);
        TB_STAT_INC(h->st, realloc_inplace);
        return p;
      }
      size_t nh = *inl_hdr(next);
      if (nh & INL_CINUSE) return inl_move_copy(h, p, head, s, n);
      return inl_next_or_move(h, p, head, nh, s, n);
    }
  }
#endif
  return inl_realloc_general(h, p, n);
}

static size_t inl_usable_size(tb_heap_t *h, const void *p) {
  (void)h;
  return p ? inl_usable_of(inl_blk(p), (void *)p) : 0;
}
