/* realloc.c: realloc and usable_size, by the policy of tb_policy.h: a
 * block keeps its room on a small change and gives back its tail only on a
 * real shrink; it grows in place into a free successor or the top when
 * they hold enough, otherwise it moves, taking room (tb_realloc_room):
 * allocate, copy, free. */
#include "oob.h"

static size_t oob_usable_of(tb_heap_t *h, uint32_t i) {
  const oob_rec_t *r = &h->rec[i];
  if (oob_status(r) == OOB_LARGE) return oob_size(r) - (size_t)r->prev * TB_ALIGN_SIZE;
  return oob_size(r) - OOB_WORD;
}

TB_INTERNAL size_t oob_usable_size(tb_heap_t *h, const void *p) {
  if (!p) return 0;
  bool taken = oob_lock(h);
  size_t u = oob_usable_of(h, oob_get_rec(h, p));
  oob_unlock(h, taken);
  return u;
}

/* Block i (USED, size have < s) grows into its free successor n, whose
 * size is enough (have + size(n) >= s). The successor's record is reused
 * for the remainder, which goes to the head of its bin as a block freed
 * now would (the same as joining n and splitting the tail off with a new
 * record, one record fewer to recycle and take); with no remainder n is
 * recycled. Returns p (the block's user pointer, or anything), so that
 * the fast path of oob_realloc can call it last. */
static tb_noinline void *oob_grow_into_next(tb_heap_t *h, uint32_t i, uint32_t n, uint64_t have, size_t s, void *p) {
  oob_rec_t *rec = h->rec, *r = &rec[i], *x = &rec[n];
  uint64_t xs = oob_size(x), rem = have + xs - s;
  unsigned xb = tb_bin_index(xs);
  TB_STAT_INC(h->st, merges);
  if (tbd_take_split(have + xs, s)) {
    x->off = r->off + s;
    oob_set(x, rem, OOB_FREE);
    oob_bin_move(h, n, xb, tb_bin_index(rem));
    TB_STAT_INC(h->st, splits);
  } else { /* the block takes all of n */
    uint32_t nn = x->next; /* a free block never touches the top */
    oob_bin_unlink(h, n, xb);
    r->next = nn;
    rec[nn].prev = i;
    oob_rec_recycle(h, n);
    s = have + xs;
  }
  oob_set(r, s, OOB_USED);
  OOB_ASSERT_USED(h, i);
  if (r->next == n) OOB_ASSERT_FREE(h, n); /* the remainder */
  return p;
}

/* oob_shrink, returning p, for the same reason. */
static tb_noinline void *oob_shrink_then(tb_heap_t *h, uint32_t i, size_t s, void *p) {
  oob_shrink(h, i, s);
  return p;
}

/* Block i (USED, `have` bytes), followed by the top, grows to s > have
 * when the two hold s: it takes what tbd_top_take says of the top. */
static tb_always_inline bool oob_grow_into_top(tb_heap_t *h, oob_rec_t *r, uint64_t have, size_t s) {
  uint64_t top = h->limit - h->top_off;
  if (!tbd_grow_fits(have, top, s)) return false;
  size_t took = tbd_top_take(top, s - have);
  h->top_off += took;
  r->size = (have + took) | OOB_USED;
  TB_STAT_INC(h->st, merges);
  OOB_ASSERT_TOP(h);
  return true;
}

/* Whether block i stays in place for request n, block size s: the case
 * of tbd_realloc_case, applied (kept, shrunk, or grown into a free
 * successor or the top, which must hold s already: the space is not grown
 * for it). */
static bool oob_resize(tb_heap_t *h, uint32_t i, size_t n, size_t s) {
  oob_rec_t *r = &h->rec[i];
  uint64_t have = oob_size(r);
  bool large = oob_status(r) == OOB_LARGE;
  switch (tbd_realloc_case(large, have, large ? oob_usable_of(h, i) : 0, n, s, h->can_grow)) {
  case TBD_RE_KEEP: return true;
  case TBD_RE_SHRINK: oob_shrink(h, i, s); return true;
  case TBD_RE_NEXT: break;
  case TBD_RE_MOVE: return false;
  }
  uint32_t nx = r->next;
  if (!nx) return oob_grow_into_top(h, r, have, s);
  oob_rec_t *x = &h->rec[nx];
  if (oob_status(x) != OOB_FREE || !tbd_grow_fits(have, oob_size(x), s)) return false;
  oob_grow_into_next(h, i, nx, have, s, NULL);
  return true;
}

/* The new block of a realloc that moves record i (request n, block size
 * s): what tbd_move_request asks for first, else n. The fast version
 * (unlocked) and the general one decide alike. */
static tb_always_inline size_t oob_move_request(tb_heap_t *h, uint32_t i, size_t s, size_t n) {
  return tbd_move_request(oob_status(&h->rec[i]) == OOB_LARGE, s, n, h->can_grow);
}

static tb_always_inline void *oob_move_unlocked(tb_heap_t *h, uint32_t i, size_t s, size_t n) {
  size_t first = oob_move_request(h, i, s, n);
  void *q = oob_malloc_unlocked(h, first);
  /* the same decision as oob_malloc_unlocked, rarely needed */
  return tb_likely(q != NULL) || first == n ? q : oob_malloc_core(h, n);
}

/* The move of the fast path below: the small block i (`have` bytes, user
 * pointer p) grows to block size s (request n) and its successor is in
 * use. Out of line, so that the in-place cases of the fast path are a leaf
 * that saves no registers (measured: the prologue and epilogue were a
 * third of realloc's time in realloc_copy). */
static tb_noinline void *oob_move_copy_unlocked(tb_heap_t *h, uint32_t i, void *p, uint64_t have, size_t s, size_t n) {
  void *q = oob_move_unlocked(h, i, s, n);
  if (q) {
    memcpy(q, p, have - OOB_WORD); /* have - OOB_WORD < n: the whole old block */
    TB_STAT_INC(h->st, frees);
    oob_release_unlocked(h, i, p);
  }
  return q;
}

static void *oob_move_core(tb_heap_t *h, uint32_t i, size_t s, size_t n) {
  size_t first = oob_move_request(h, i, s, n);
  void *q = oob_malloc_core(h, first);
  return q || first == n ? q : oob_malloc_core(h, n);
}

/* realloc, every case: with the lock (when needed) and, at level 3, the
 * validation. `known` is p's record when the fast path below has looked it
 * up already (it then holds the heap: no lock is taken), else 0 (slot 0 is
 * never used). Out of line, so that the fast path is a leaf. */
static tb_noinline void *oob_realloc_general(tb_heap_t *h, void *p, size_t n, uint32_t known) {
  bool taken = false;
  uint32_t i = known;
  if (!i) {
    if (!p) {
      taken = oob_lock(h);
      void *q = oob_malloc_core(h, n);
      oob_validate(h, "realloc(NULL, n)");
      oob_unlock(h, taken);
      return q;
    }
    taken = oob_lock(h);
    i = oob_get_rec(h, p);
  }
  void *q = NULL;
  if (n == 0) { /* frees p, as glibc does */
    TB_STAT_INC(h->st, frees);
    oob_release(h, i, p);
    goto out;
  }
  if (!known) TB_STAT_INC(h->st, reallocs); /* else the fast path counted it */
  size_t s = tbd_block_size(n);
  if (!s) {
    errno = ENOMEM;
    goto out;
  }
  if (oob_resize(h, i, n, s)) {
    TB_STAT_INC(h->st, realloc_inplace);
    q = p;
    goto out;
  }
  size_t old = oob_usable_of(h, i);
  if (!taken && oob_unlocked(h)) { /* the fast paths of malloc and free */
    q = oob_move_unlocked(h, i, s, n);
    if (q) {
      memcpy(q, p, old < n ? old : n);
      TB_STAT_INC(h->st, frees);
      oob_release_unlocked(h, i, p);
    }
    goto out;
  }
  q = oob_move_core(h, i, s, n);
  if (q) {
    /* Copying the caller's data is the caller's request, not metadata
     * traffic: it is not counted in user_bytes_read/written. */
    memcpy(q, p, old < n ? old : n);
    TB_STAT_INC(h->st, frees);
    oob_release(h, i, p);
  }
out:
  oob_validate(h, "realloc");
  oob_unlock(h, taken);
  return q;
}

TB_INTERNAL void *oob_realloc(tb_heap_t *h, void *p, size_t n) {
  if (tb_likely(p && n - 1 < TB_SMALL_MAX - OOB_WORD) && tb_likely(oob_unlocked(h))) {
    /* The fast path of an unlocked call (every level) for a small block
     * that stays small: keep (or shrink) in place, grow into the top or a
     * free successor that is large enough, or move when the successor is
     * in use; the same decisions as oob_resize and the general
     * move, taken sooner. A free successor or the top too small, and large
     * blocks, go the general way. Every call out of it is its last act (a
     * tail call unless level 3's walk follows), so that at level 0 it
     * saves no register and sets up no frame. */
    uint32_t i = oob_get_rec(h, p);
    /* Counted once here for every way out (the general way does not count
     * it again when it is given i). Counted on each way out instead, next
     * to realloc_inplace, gcc -O2 merged the two adjacent counters into one
     * 16-byte load and store (SLP vectorization) on the ways that grow,
     * while the ways that keep wrote them one by one; the 16-byte load
     * then could not take its value from the two 8-byte stores of the
     * previous call (store-to-load forwarding fails), which made
     * realloc_inplace 25% slower (AMD Zen 5). */
    TB_STAT_INC(h->st, reallocs);
    oob_rec_t *r = &h->rec[i];
    uint64_t sz = r->size, have = sz & ~OOB_STATUS_MASK;
    size_t s = tbd_block_size(n);
    uint32_t nx = r->next;
    if (tb_likely((sz & OOB_STATUS_MASK) == OOB_USED)) {
      tbd_realloc_t c = tbd_realloc_case(false, have, 0, n, s, false /* s is small: never large */);
      if (c != TBD_RE_NEXT) { /* kept or shrunk: never moved while small */
        TB_STAT_INC(h->st, realloc_inplace);
        return oob_done(h, c == TBD_RE_SHRINK ? oob_shrink_then(h, i, s, p) : p, "realloc");
      }
      if (!nx) { /* the top follows: grow into what it holds */
        if (oob_grow_into_top(h, r, have, s)) {
          TB_STAT_INC(h->st, realloc_inplace);
          return oob_done(h, p, "realloc");
        }
      } else {
        uint64_t xsz = h->rec[nx].size;
        if ((xsz & OOB_STATUS_MASK) != OOB_FREE) {
          return oob_done(h, oob_move_copy_unlocked(h, i, p, have, s, n), "realloc");
        }
        if (tbd_grow_fits(have, xsz & ~OOB_STATUS_MASK, s)) {
          TB_STAT_INC(h->st, realloc_inplace);
          return oob_done(h, oob_grow_into_next(h, i, nx, have, s, p), "realloc");
        }
      }
    }
    return oob_realloc_general(h, p, n, i); /* i is known; no lock is needed */
  }
  return oob_realloc_general(h, p, n, 0);
}
