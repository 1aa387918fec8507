/* free.c: free, with immediate merging through the records (never by
 * reading user memory), and giving back the tail of a block that shrinks. */
#include "oob.h"

static void oob_large_unmap(tb_heap_t *h, uint32_t i) {
  oob_rec_t *r = &h->rec[i];
  uintptr_t user = (uintptr_t)r->off + TB_WORD;
  size_t len = oob_size(r);
  space_unmap(h->space, (void *)(user - (uintptr_t)r->prev * TB_ALIGN_SIZE), len);
#if OOB_MAP
  amap_large_del(&h->large, (const void *)user);
#endif
  h->large_bytes -= len;
  oob_rec_recycle(h, i);
}

/* Record i (USED), the block of user pointer `user`, becomes free: merged
 * with a free successor, then either merged into the top (the successor is
 * the top) or with a free predecessor, and the result goes to the head of
 * its bin. The block's offset is computed from `user` (equal to r->off, as
 * oob_get_rec proves at level >= 1): it keeps the record load off the
 * critical path of a free followed by a malloc from the top. */
TB_INTERNAL void oob_release(tb_heap_t *h, uint32_t i, const void *user) {
  oob_rec_t *r = &h->rec[i];
  if (tb_unlikely(oob_status(r) == OOB_LARGE)) {
    oob_large_unmap(h, i);
    return;
  }
  oob_unframe(h, user);
  uint64_t size = oob_size(r);
  uint32_t n = r->next;
  if (n && oob_status(&h->rec[n]) == OOB_FREE) {
    oob_rec_t *x = &h->rec[n];
    oob_bin_remove(h, n);
    size += oob_size(x);
    r->next = x->next;
    if (x->next)
      h->rec[x->next].prev = i;
    else
      h->last = i;
    oob_rec_recycle(h, n);
    TB_STAT_INC(h->st, merges);
  }
  uint32_t p = r->prev;
  bool pfree = p && oob_status(&h->rec[p]) == OOB_FREE;
  if (!r->next) {
    /* The top follows: the block (and a free predecessor) join it. */
    tb_assert(r->off == (uint64_t)((const uint8_t *)user - h->base) - TB_WORD);
    h->top_off = (uint64_t)((const uint8_t *)user - h->base) - TB_WORD;
    h->last = p;
    oob_rec_recycle(h, i);
    TB_STAT_INC(h->st, merges);
    if (pfree) {
      oob_rec_t *q = &h->rec[p];
      oob_bin_remove(h, p);
      h->top_off = q->off;
      h->last = q->prev;
      oob_rec_recycle(h, p);
      TB_STAT_INC(h->st, merges);
    }
    if (h->last) h->rec[h->last].next = 0;
    OOB_ASSERT_TOP(h);
    return;
  }
  if (pfree) {
    oob_rec_t *q = &h->rec[p];
    uint64_t qs = oob_size(q);
#if OOB_BINS_ARRAY
    oob_set(q, qs + size, OOB_FREE);
    q->next = r->next;
    h->rec[r->next].prev = p;
    oob_rec_recycle(h, i);
    TB_STAT_INC(h->st, merges);
    oob_bin_resized(h, p, qs, qs + size); /* to the newest place of its bin */
    OOB_ASSERT_FREE(h, p);
    return;
#else
    /* The result goes to the head of its bin: when the predecessor already
     * is the head of the bin the merged size falls in, it stays put. */
    bool stays = q->bk == 0 && tb_bin_index(qs) == tb_bin_index(qs + size);
    if (!stays) oob_bin_remove(h, p);
    oob_set(q, qs + size, OOB_FREE);
    q->next = r->next;
    h->rec[r->next].prev = p;
    oob_rec_recycle(h, i);
    TB_STAT_INC(h->st, merges);
    if (!stays) oob_bin_insert(h, p);
    OOB_ASSERT_FREE(h, p);
    return;
#endif
  }
  oob_set(r, size, OOB_FREE);
  oob_bin_insert(h, i);
  OOB_ASSERT_FREE(h, i);
}

/* Record i (USED) keeps s bytes; a tail of at least OOB_MIN_BLOCK goes back
 * to the top, to a free successor, or to its bin as a new free block. A
 * new record is needed only in the last case; without one (record array
 * exhausted) the block keeps its tail. */
TB_INTERNAL void oob_shrink(tb_heap_t *h, uint32_t i, size_t s) {
  oob_rec_t *r = &h->rec[i];
  uint64_t have = oob_size(r);
  if (!tbd_take_split(have, s)) return;
  uint64_t rem = have - s;
  uint32_t n = r->next;
  if (!n) {
    h->top_off -= rem; /* the tail merges with the top */
    TB_STAT_INC(h->st, merges);
  } else if (oob_status(&h->rec[n]) == OOB_FREE) {
    oob_rec_t *x = &h->rec[n];
    oob_bin_remove(h, n);
    x->off -= rem;
    oob_set(x, oob_size(x) + rem, OOB_FREE);
    oob_bin_insert(h, n);
    TB_STAT_INC(h->st, merges);
  } else {
    if (h->cap - h->nrec < 1 && !h->free_slot && !h->spare && !oob_rec_grow(h)) return;
    uint32_t j = oob_rec_new(h);
    r = &h->rec[i];
    oob_rec_t *t = &h->rec[j];
    t->off = r->off + s;
    oob_set(t, rem, OOB_FREE);
    t->prev = i;
    t->next = n;
    h->rec[n].prev = j;
    r->next = j;
    oob_bin_insert(h, j);
  }
  oob_set(r, s, OOB_USED);
  TB_STAT_INC(h->st, splits);
  OOB_ASSERT_USED(h, i);
#if TB_CHECK_LEVEL >= 2
  if (r->next && oob_status(&h->rec[r->next]) == OOB_FREE) OOB_ASSERT_FREE(h, r->next); /* the tail */
#endif
}

/* Free record q grew from size qs to ms by a merge: it goes to the head of
 * the bin of ms (where LIFO puts a block freed now), unless it is there
 * already. Out of line: the caller's common case (it heads its bin and
 * ms stays in it, tb_same_bin_quick) then needs no spare registers. */
static tb_noinline void oob_rebin(tb_heap_t *h, uint32_t q, uint64_t qs, uint64_t ms) {
#if OOB_BINS_ARRAY
  oob_bin_resized(h, q, qs, ms); /* the entry caches the size: always touched */
#else
  unsigned qb = tb_bin_index(qs), mb = tb_bin_index(ms);
  if (h->rec[q].bk || qb != mb) oob_bin_move(h, q, qb, mb);
#endif
}

#if !OOB_BINS_ARRAY
/* Record q heads small bin qb and grew by a merge to the size of small bin
 * mb > qb: it goes to the head of mb. This is the common case of frees in
 * address order while the free run is small (each one grows its free
 * predecessor by one block, so the bin changes every time), so it is done
 * here without oob_rebin's call and general bin-index computation, and
 * both bitmap bits (one word: small bins are below 64) change in one
 * read-modify-write instead of two back to back on the same word. The
 * decision is oob_rebin's: a small bin holds one size, so qb != mb. */
static tb_always_inline void oob_bin_head_small(tb_heap_t *h, uint32_t q, unsigned qb, unsigned mb) {
  oob_rec_t *rec = h->rec, *r = &rec[q];
  uint32_t fd = r->fd, head = h->bin[mb];
  uint64_t gone = 0; /* qb's bit, when q was its only member */
  h->bin[qb] = fd;
  if (fd)
    rec[fd].bk = 0;
  else
    gone = (uint64_t)1 << qb;
  r->fd = head; /* r->bk stays 0: q heads its new bin too */
  if (head) rec[head].bk = q;
  h->bin[mb] = q;
  h->map.w[0] = (h->map.w[0] & ~gone) | (uint64_t)1 << mb;
}

/* Record i (USED, `size` bytes), whose predecessor pv is free and whose
 * successor n is in use, is freed (a run of frees in address order): pv
 * absorbs it, and stays put when it already heads the bin of the merged
 * size (where LIFO would put it anyway); otherwise it moves with the bin
 * indices computed once. Out of line, and called last (a tail call), so
 * that free's other fast paths need fewer registers: with this path
 * inline, every free saved three callee-saved registers (five with the
 * small-bin move above inline too); now it saves two. Lists only: with
 * arrays the merge ends in oob_rebin, and a second call before it made
 * oob-array's hundred_fifo slower (1.15 -> 1.25 of glibc). */
static tb_noinline void oob_merge_prev(tb_heap_t *h, uint32_t i, uint32_t pv, uint32_t n, uint64_t size) {
  oob_rec_t *rec = h->rec, *q = &rec[pv];
  uint64_t qs = oob_size(q), ms = qs + size;
  uint32_t qbk = q->bk;
  q->size = ms | OOB_FREE;
  q->next = n;
  rec[n].prev = pv;
  oob_rec_recycle(h, i);
  TB_STAT_INC(h->st, merges);
  /* The bins last: oob_rebin is then a tail call, nothing kept across it. */
  if (tb_likely(!qbk) && ms <= TB_SMALL_MAX)
    oob_bin_head_small(h, pv, (unsigned)(qs >> TB_ALIGN_SHIFT), (unsigned)(ms >> TB_ALIGN_SHIFT));
  else if (qbk || !tb_same_bin_quick(qs, ms))
    oob_rebin(h, pv, qs, ms);
}
#endif

/* oob_release for a caller that holds the heap (unlocked, every check level), with
 * fast paths for no free neighbour (the block joins the top, or goes to its
 * bin alone) and for only the predecessor free. They do what oob_release
 * does, with fewer registers; every other case goes there. free and
 * realloc's move both use it. */
TB_INTERNAL tb_always_inline void oob_release_unlocked(tb_heap_t *h, uint32_t i, const void *p) {
  oob_rec_t *rec = h->rec, *r = &rec[i];
  uint64_t sz = r->size;
  uint32_t n = r->next, pv = r->prev;
  if (tb_likely((sz & OOB_STATUS_MASK) == OOB_USED)) oob_unframe(h, p); /* oob-map: its entry goes */
  if (tb_likely((sz & OOB_STATUS_MASK) == OOB_USED) && (!pv || oob_status(&rec[pv]) != OOB_FREE)) {
    if (!n) {
      h->top_off = (uint64_t)((const uint8_t *)p - h->base) - TB_WORD;
      h->last = pv;
      if (pv) rec[pv].next = 0;
      oob_rec_recycle(h, i);
      TB_STAT_INC(h->st, merges);
      OOB_ASSERT_TOP(h);
      return;
    }
    if (oob_status(&rec[n]) != OOB_FREE) {
#if OOB_BINS_ARRAY
      /* A plain store when the bin has room to spare; else the general
       * way (oob_release), which grows the array (keeps this a leaf). */
      uint64_t bs = sz & ~OOB_STATUS_MASK;
      unsigned b = tb_bin_index(bs);
      oob_bin_t *bn = &h->bins[b];
      if (tb_likely(bn->cap - bn->n > OOB_BIN_SPARE)) {
        r->size = bs | OOB_FREE;
        bn->a[bn->n++] = oob_ent(i, bs);
        tb_binmap_set(&h->map, b);
        OOB_ASSERT_FREE(h, i);
        return;
      }
#else
      r->size = (sz & ~OOB_STATUS_MASK) | OOB_FREE;
      oob_bin_insert(h, i);
      OOB_ASSERT_FREE(h, i);
      return;
#endif
    }
  } else if (tb_likely((sz & OOB_STATUS_MASK) == OOB_USED) && n && oob_status(&rec[n]) != OOB_FREE) {
#if OOB_BINS_ARRAY
    /* Only the predecessor is free: it absorbs the block and takes the
     * newest place of its bin (oob_rebin: the entry caches the size). */
    oob_rec_t *q = &rec[pv];
    uint64_t qs = oob_size(q), ms = qs + (sz & ~OOB_STATUS_MASK);
    q->size = ms | OOB_FREE;
    q->next = n;
    rec[n].prev = pv;
    oob_rec_recycle(h, i);
    TB_STAT_INC(h->st, merges);
    oob_rebin(h, pv, qs, ms); /* last: a tail call, nothing kept across it */
#else
    oob_merge_prev(h, i, pv, n, sz & ~OOB_STATUS_MASK); /* a tail call */
#endif
    return;
  }
  oob_release(h, i, p);
}

/* free with the lock (when needed) and, at level 3, the validation; out of
 * line for the same reason as oob_malloc_locked. */
static tb_noinline void oob_free_locked(tb_heap_t *h, void *p) {
  bool taken = oob_lock(h);
  uint32_t i = oob_get_rec(h, p);
  TB_STAT_INC(h->st, frees);
  oob_release(h, i, p);
  oob_validate(h, "free");
  oob_unlock(h, taken);
}

TB_INTERNAL void oob_free(tb_heap_t *h, void *p) {
  if (!p) return;
  if (tb_likely(oob_unlocked(h))) {
    uint32_t i = oob_get_rec(h, p);
    TB_STAT_INC(h->st, frees);
    oob_release_unlocked(h, i, p);
    oob_validate(h, "free");
    return;
  }
  oob_free_locked(h, p);
}
