/* malloc.c: malloc and calloc, and the fit rule of tb_policy.h over the
 * record array: exact small bin, best fit in a large bin, the first
 * non-empty bin above (bitmap), then the top, growing the space. */
#include "oob.h"

/* Split record i (in use, size >= s) so that it keeps s bytes; the
 * remainder becomes a free block in its bin. Only for blocks taken from a
 * bin: their successor is in use, never free and never the top. */
static void oob_split_taken(tb_heap_t *h, uint32_t i, size_t s) {
  oob_rec_t *r = &h->rec[i];
  uint64_t have = oob_size(r);
  if (!tbd_take_split(have, s)) return;
  uint32_t j = oob_rec_new(h);
  r = &h->rec[i];
  oob_rec_t *t = &h->rec[j];
  t->off = r->off + s;
  oob_set(t, have - s, OOB_FREE);
  t->prev = i;
  t->next = r->next;
  if (r->next)
    h->rec[r->next].prev = j;
  else
    h->last = j; /* not reached while the invariants hold */
  r->next = j;
  oob_set(r, s, OOB_USED);
  oob_bin_insert(h, j);
  TB_STAT_INC(h->st, splits);
  OOB_ASSERT_FREE(h, j);
}

/* A block of exactly block size s (or the whole of a bin block too small
 * to split), status USED, back-pointer not yet written: the fit rule
 * (tbd_fit: the bins; then the top, grown when too small). 0 + errno
 * ENOMEM when the space cannot grow. Needs oob_rec_ready(). *offp = its
 * offset. */
TB_INTERNAL tb_always_inline uint32_t oob_take(tb_heap_t *h, size_t s, uint64_t *offp) {
  unsigned b;
  tbd_cur_t c;
  uint32_t i;
  if (tbd_fit(h, s, &b, &c)) {
#if OOB_BINS_ARRAY
    i = oob_ent_rec(h->bins[b].a[c]);
    oob_bin_cut(h, b, c);
#else
    i = c;
    oob_bin_unlink(h, i, b);
#endif
    oob_rec_t *r = &h->rec[i];
    oob_set(r, oob_size(r), OOB_USED);
    *offp = r->off;
    oob_split_taken(h, i, s);
    return i;
  }
  /* The top, grown if needed. */
  if (h->limit - h->top_off < s && !oob_grow_space(h, s)) {
    errno = ENOMEM;
    return 0;
  }
  i = oob_rec_new(h);
  oob_rec_t *r = &h->rec[i];
  uint64_t off = h->top_off, top = h->limit - off;
  size_t took = tbd_top_take(top, s);
  uint32_t last = h->last;
  r->off = off;
  oob_set(r, took, OOB_USED);
  r->prev = last;
  r->next = 0; /* fd, bk: meaningful only while FREE */
  if (last) h->rec[last].next = i;
  h->last = i;
  h->top_off = off + took;
  TB_STAT_ADD(h->st, splits, tbd_top_split(top, took));
  *offp = off;
  return i;
}

/* A large block straight from the system: `len` bytes of block (word
 * included) at an address whose user pointer is aligned to `align`. */
TB_INTERNAL void *oob_large_map(tb_heap_t *h, size_t len, size_t align) {
  size_t pad = align > TB_ALIGN_SIZE ? align : TB_ALIGN_SIZE;
  size_t total = len > SIZE_MAX - pad ? 0 : space_page_round(h->space, len + pad);
#if OOB_MAP
  if (!amap_large_ready(&h->large)) total = 0; /* no room to find it again */
#endif
  if (!total) {
    errno = ENOMEM;
    return NULL;
  }
  uint8_t *m = space_map(h->space, total);
  if (!m) {
    errno = ENOMEM;
    return NULL;
  }
  uintptr_t user = tb_align_up((uintptr_t)m + OOB_WORD, pad);
  uint32_t i = oob_rec_new(h);
  oob_rec_t *r = &h->rec[i];
  r->off = (uint64_t)(user - TB_WORD);
  oob_set(r, total, OOB_LARGE);
  r->prev = (uint32_t)((user - (uintptr_t)m) / TB_ALIGN_SIZE);
  r->next = r->fd = r->bk = 0;
#if OOB_MAP
  amap_large_put(&h->large, (void *)user, i);
#else
  *(uint64_t *)(user - TB_WORD) = i;
  TB_STAT_ADD(h->st, user_bytes_written, TB_WORD);
#endif
  h->large_bytes += total;
  uint64_t c = oob_committed(h);
  if (c > h->peak) h->peak = c;
  return (void *)user;
}

/* malloc of block size s (tbd_block_size of the request: not 0): what
 * oob_malloc_core does once it has s. The fast paths below fall back here
 * with s, so the request itself is dead once s is known (one register
 * fewer kept across them). */
static tb_noinline void *oob_malloc_sized(tb_heap_t *h, size_t s) {
  if (tb_unlikely(!oob_rec_ready(h))) {
    errno = ENOMEM;
    return NULL;
  }
  void *p;
  if (tb_unlikely(tb_is_large(s, h->can_grow))) {
    p = oob_large_map(h, s, TB_ALIGN_SIZE);
  } else {
    uint64_t off;
    uint32_t i = oob_take(h, s, &off);
    p = i ? oob_enframe(h, i, off) : NULL;
  }
  TB_STAT_ADD(h->st, mallocs, p != NULL); /* blocks handed out: mallocs - frees = live */
  return p;
}

TB_INTERNAL void *oob_malloc_core(tb_heap_t *h, size_t n) {
  size_t s = tbd_block_size(n);
  if (tb_unlikely(!s)) {
    errno = ENOMEM;
    return NULL;
  }
  return oob_malloc_sized(h, s);
}

/* Fast paths, step 2 of the fit rule: block i (just taken from a bin,
 * `have` bytes at offset boff) keeps s bytes in use; new record j becomes
 * its free tail, which the caller puts in the tail's bin. Its successor is
 * in use (never the top) while the invariants hold. */
static tb_always_inline void oob_split_tail(tb_heap_t *h, uint32_t i, uint32_t j, uint64_t boff, uint64_t have, size_t s) {
  oob_rec_t *rec = h->rec, *r = &rec[i], *t = &rec[j];
  uint32_t nx = r->next;
  t->off = boff + s;
  t->size = (have - s) | OOB_FREE;
  t->prev = i;
  t->next = nx;
  if (nx)
    rec[nx].prev = j;
  else
    h->last = j; /* not reached while the invariants hold */
  r->next = j;
  oob_set(r, s, OOB_USED);
}

#if OOB_BINS_ARRAY
/* Step 2 of the malloc fast path below, with arrays: out of line, so that
 * the exact-fit and top paths keep few registers (the remainder's entry
 * needs several). s is a small block size, nb the first non-empty bin
 * above its bin; what cannot be done here goes to oob_malloc_sized. */
static tb_noinline void *oob_malloc_split_fast(tb_heap_t *h, size_t s, unsigned nb) {
  oob_rec_t *rec = h->rec;
  uint32_t i;
  /* The entry gives the size; the remainder's bin must take it without
   * growing (a plain store), else the general way does the same with
   * growth. */
  oob_bin_t *nbn = &h->bins[nb];
  oob_ent_t e = nbn->a[nbn->n - 1];
  uint64_t have = (e >> 32) << TB_ALIGN_SHIFT;
  unsigned rb = tb_bin_index(have - s);
  oob_bin_t *rbn = &h->bins[rb];
  uint32_t j;
  if (tb_likely((e >> 32) != OOB_ENT_SAT && rbn->cap - rbn->n > OOB_BIN_SPARE) && tbd_above_splits(have, s) &&
      tb_likely(j = oob_rec_take(h))) {
    i = oob_ent_rec(e);
    if (!--nbn->n) tb_binmap_clear(&h->map, nb);
    uint64_t boff = rec[i].off;
    oob_split_tail(h, i, j, boff, have, s);
    rbn->a[rbn->n++] = oob_ent(j, have - s);
    tb_binmap_set(&h->map, rb);
    TB_STAT_INC(h->st, bin_steps);
    TB_STAT_INC(h->st, splits);
    TB_STAT_INC(h->st, mallocs);
    return oob_enframe(h, i, boff);
  }
  return oob_malloc_sized(h, s);
}
#else
/* Step 2 of the malloc fast path below, with lists: the newest block of
 * bin nb, the first non-empty bin above the bin of small request n (block
 * size s), split when TBD_ABOVE_SPLITS says so (always with a 16-byte
 * minimum block; else the general way takes it whole). Out of line, for
 * the same reason as with arrays: inline, its registers were saved and
 * restored by every malloc fast path, the exact fit and the top included
 * (four registers, where 08a1d09 saved none on the exact fit and two on
 * the top). With the request dead once s is known (the fallback is
 * oob_malloc_sized), the fast paths save one register (x86-64 gcc 12). */
static tb_noinline void *oob_malloc_split_fast(tb_heap_t *h, size_t s, unsigned nb) {
  oob_rec_t *rec = h->rec;
  uint32_t j;
  if (TBD_ABOVE_SPLITS(oob_size(&rec[h->bin[nb]]), s) && tb_likely(j = oob_rec_take(h))) {
    uint32_t i = h->bin[nb];
    oob_rec_t *r = &rec[i];
    oob_bin_behead(h, nb, r->fd);
    uint64_t have = oob_size(r), boff = r->off;
    oob_split_tail(h, i, j, boff, have, s);
    oob_bin_insert(h, j);
    OOB_ASSERT_FREE(h, j);
    h->rem = j;
    h->rem_bin = tb_bin_index(have - s);
    TB_STAT_INC(h->st, bin_steps);
    TB_STAT_INC(h->st, splits);
    TB_STAT_INC(h->st, mallocs);
    return oob_enframe(h, i, boff);
  }
  return oob_malloc_sized(h, s);
}

/* Step 2 of the fit rule for small exact bin b: the first non-empty bin
 * above it (TB_NBINS: none). When the remainder of the last step-2 split
 * of the fast path still heads its bin and no bin between b and it is
 * non-empty, that bin is the answer, found without the bitmap search and
 * the bin-head load that follows it. Small blocks carved one after the
 * other out of one free block (a block freed by a realloc move, then
 * small allocations) are that case; each split waits for the previous
 * one's stores (the bitmap, then the bin head, then the record), which
 * makes it about twice as slow as a split of the top (measured on AMD Zen
 * 5: about 25 against 12 cycles); the hint takes the bitmap search off
 * that chain (about 10% of the split). It is checked, never trusted, so
 * the decision is the fit rule's. */
static tb_always_inline unsigned oob_step2_bin(const tb_heap_t *h, unsigned b) {
  uint32_t lr = h->rem;
  unsigned lb = h->rem_bin;
  if (lb > b && lb < 64 && lr && h->bin[lb] == lr && !(h->map.w[0] & (((uint64_t)1 << lb) - ((uint64_t)2 << b))))
    return lb;
  return tb_binmap_next(&h->map, b + 1);
}
#endif

/* The fast paths for a caller that holds the heap (unlocked, every level),
 * used by malloc and by realloc's move. For a small request: the head of
 * its exact bin (step 1 of the fit rule), else the newest block of the
 * first non-empty bin above, split (step 2), else the top when it is large
 * enough (step 3 without growth). It makes the same decision as oob_take,
 * only sooner (tests/oob/test_oob_same.c compares it with the general way);
 * anything else goes through oob_malloc_core. */
TB_INTERNAL tb_always_inline void *oob_malloc_unlocked(tb_heap_t *h, size_t n) {
#if OOB_BINS_ARRAY
  /* A short bin or a parked block: the general way repairs them first. */
  if (tb_likely(n <= TB_SMALL_MAX - OOB_WORD) && tb_likely(oob_bins_clear(h))) {
#else
  if (tb_likely(n <= TB_SMALL_MAX - OOB_WORD)) {
#endif
    size_t s = tbd_block_size(n);
    unsigned b = (unsigned)(s >> TB_ALIGN_SHIFT);
    oob_rec_t *rec = h->rec;
#if OOB_BINS_ARRAY
    oob_bin_t *bn = &h->bins[b];
    uint32_t i = 0;
    if (bn->n) {
      i = oob_ent_rec(bn->a[--bn->n]);
      if (!bn->n) tb_binmap_clear(&h->map, b);
      oob_rec_t *r = &rec[i];
#else
    uint32_t i = h->bin[b];
    if (i) {
      oob_rec_t *r = &rec[i];
      oob_bin_behead(h, b, r->fd);
#endif
      oob_set(r, s, OOB_USED); /* exact fit: small bins hold one size */
      TB_STAT_INC(h->st, bin_steps);
      TB_STAT_INC(h->st, mallocs);
      return oob_enframe(h, i, r->off);
    }
    unsigned nb;
#if OOB_BINS_ARRAY
    if ((h->map.w[0] | h->map.w[1]) && (nb = tb_binmap_next(&h->map, b + 1)) < TB_NBINS) {
#else
    if ((h->map.w[0] | h->map.w[1]) && (nb = oob_step2_bin(h, b)) < TB_NBINS) {
#endif
      /* Step 2 of the fit rule: the newest block of the first non-empty
       * bin above, split (out of line: oob_malloc_split_fast). */
      return oob_malloc_split_fast(h, s, nb);
    } else {
      /* Step 3: no bin can serve s; the top, when it holds s without
       * growing and the rest can stand alone (tbd_top_take takes s). */
      uint64_t off = h->top_off;
      if (h->limit - off >= s && tbd_rem_ok(h->limit - off - s) && tb_likely(i = oob_rec_take(h))) {
        oob_rec_t *r = &rec[i];
        uint32_t last = h->last;
        r->off = off;
        oob_set(r, s, OOB_USED);
        r->prev = last;
        r->next = 0;
        if (last) rec[last].next = i;
        h->last = i;
        h->top_off = off + s;
        TB_STAT_ADD(h->st, splits, tbd_top_split(h->limit - off, s));
        TB_STAT_INC(h->st, mallocs);
        return oob_enframe(h, i, off);
      }
    }
    return oob_malloc_sized(h, s);
  }
  return oob_malloc_core(h, n);
}

/* malloc with the lock (when needed) and, at level 3, the validation; out
 * of line so that the unlocked fast path of oob_malloc is a leaf that
 * saves no registers (a measurable share of a 10 ns malloc+free pair). */
static tb_noinline void *oob_malloc_locked(tb_heap_t *h, size_t n) {
  bool taken = oob_lock(h);
  void *p = oob_malloc_core(h, n);
  oob_validate(h, "malloc");
  oob_unlock(h, taken);
  return p;
}

TB_INTERNAL void *oob_malloc(tb_heap_t *h, size_t n) {
  if (tb_likely(oob_unlocked(h))) return oob_done(h, oob_malloc_unlocked(h, n), "malloc");
  return oob_malloc_locked(h, n);
}

TB_INTERNAL void *oob_calloc(tb_heap_t *h, size_t n, size_t size) {
  size_t t;
  if (!tb_calloc_total(n, size, &t)) return NULL;
  bool taken = oob_lock(h);
  void *p = oob_malloc_core(h, t);
  oob_validate(h, "calloc");
  oob_unlock(h, taken);
  /* Freed blocks keep their old content; zero what the caller asked for,
   * unless the block is a fresh mapping (tb_calloc_clears). (The caller's
   * bytes, not metadata: not counted as user_bytes_written.) */
  if (p && tb_calloc_clears(tbd_block_size(t), h->can_grow)) memset(p, 0, t);
  return p;
}
