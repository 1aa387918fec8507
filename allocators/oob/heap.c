/* heap.c: creating and destroying an oob heap, and the ways it gets more
 * memory: the record array (rec_space), the user region's top and, with
 * OOB_BINS_ARRAY, the bins' arrays (bin_space). */
#include "oob.h"

#if OOB_MAP || OOB_BINS_ARRAY
/* oob_create failed with errno value rc after the record array was made:
 * undo it and the user space, free the heap. */
static tb_heap_t *oob_create_undo(tb_heap_t *h, int rc) {
  space_destroy(&h->rec_space);
  tb_heap_space_close(h->space, &h->own_space);
  free(h);
  errno = rc;
  return NULL;
}
#endif

TB_INTERNAL tb_heap_t *oob_create(const tb_heap_opts_t *opts) {
  tb_heap_t *h;
  TB_HEAP_NEW(h, opts);
  if (!h) return NULL;
  /* The record array uses the user space's os table so that failure
   * injection reaches it too; it starts with one page of records. */
  space_config_t rc_cfg = {.initial = OOB_REC_COLOR + 64 * sizeof(oob_rec_t), .reserve = OOB_REC_RESERVE,
                           .os = h->space->os, .tag = SPACE_TAG_META};
  int rc = space_init_mmap(&h->rec_space, &rc_cfg);
  if (rc) {
    tb_heap_space_close(h->space, &h->own_space);
    free(h);
    errno = rc;
    return NULL;
  }
#if OOB_MAP
  /* The address maps, each in its own space on the same os table: the
   * flat one reserved for the whole region, committed as far as it is. */
  rc = amap_init(&h->amap, h->space->reserved, h->space->committed, h->space->os);
  if (!rc && (rc = amap_large_init(&h->large, h->space->os)) != 0) amap_destroy(&h->amap);
  if (rc) return oob_create_undo(h, rc);
#endif
#if OOB_BINS_ARRAY
  /* The bins' arrays: their own space on the same os table, every bin
   * (1..127) starting with OOB_BIN_CAP0 entries, so that no bin is short. */
  space_config_t bc_cfg = {.initial = OOB_BIN_COLOR + (TB_NBINS - 1) * OOB_BIN_CAP0 * sizeof(oob_ent_t),
                           .reserve = OOB_BIN_RESERVE, .os = h->space->os,
                           .tag = SPACE_TAG_META};
  rc = space_init_mmap(&h->bin_space, &bc_cfg);
  if (rc) return oob_create_undo(h, rc);
  h->bin_used = OOB_BIN_COLOR;
  for (unsigned b = 1; b < TB_NBINS; b++) {
    h->bins[b].a = (oob_ent_t *)(void *)(h->bin_space.base + h->bin_used);
    h->bins[b].cap = OOB_BIN_CAP0;
    h->bin_used += OOB_BIN_CAP0 * sizeof(oob_ent_t);
  }
#endif
  h->rec = (oob_rec_t *)(void *)(h->rec_space.base + OOB_REC_COLOR);
  h->cap = (uint32_t)((h->rec_space.committed - OOB_REC_COLOR) / sizeof(oob_rec_t));
  h->nrec = 1; /* slot 0 means "none" */
  h->base = h->space->base;
  h->can_grow = h->space->kind == SPACE_MMAP;
  h->top_off = TB_WORD;
  h->limit = h->space->committed >= 2 * TB_WORD ? h->space->committed - TB_WORD : TB_WORD;
  h->locked = opts && opts->mode == TB_MODE_LOCKED;
  tb_stats_reset(&h->st);
#if OOB_BINS_ARRAY || OOB_MAP
  h->peak = oob_committed(h);
#else
  h->peak = h->space->committed + h->rec_space.committed;
#endif
  return h;
}

TB_INTERNAL void oob_destroy(tb_heap_t *h) {
  if (!h) return;
#if TB_CHECK_LEVEL >= 3
  oob_validate_now(h, "the last operation (at destroy)"); /* corruption since the last walk dies here */
#endif
  for (uint32_t i = 1; i < h->nrec; i++) {
    oob_rec_t *r = &h->rec[i];
    if (oob_status(r) == OOB_LARGE) {
      uintptr_t user = (uintptr_t)r->off + TB_WORD;
      space_unmap(h->space, (void *)(user - (uintptr_t)r->prev * TB_ALIGN_SIZE), oob_size(r));
    }
  }
  space_destroy(&h->rec_space);
#if OOB_BINS_ARRAY
  space_destroy(&h->bin_space);
#endif
#if OOB_MAP
  amap_destroy(&h->amap);
  amap_large_destroy(&h->large);
#endif
  tb_heap_space_close(h->space, &h->own_space);
  free(h);
}

TB_INTERNAL tb_noinline bool oob_lock_slow(tb_heap_t *h) { return tb_heap_lock(&h->lock, true); }

/* Commit more of the record array (by the space's growth policy). */
TB_INTERNAL bool oob_rec_grow(tb_heap_t *h) {
  size_t want = OOB_REC_COLOR + ((size_t)h->nrec + OOB_REC_SPARE) * sizeof(oob_rec_t);
  if ((size_t)h->nrec + OOB_REC_SPARE > UINT32_MAX || space_grow_to(&h->rec_space, want) != 0) return false;
  size_t cap = (h->rec_space.committed - OOB_REC_COLOR) / sizeof(oob_rec_t);
  h->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
  uint64_t c = oob_committed(h);
  if (c > h->peak) h->peak = c;
  return true;
}

/* Make the top at least `need` bytes long by growing the user region. */
TB_INTERNAL bool oob_grow_space(tb_heap_t *h, size_t need) {
  if (need > h->space->reserved || h->top_off > h->space->reserved - need - TB_WORD) return false;
  if (space_grow_to(h->space, h->top_off + need + TB_WORD) != 0) return false;
  h->limit = h->space->committed - TB_WORD;
#if OOB_MAP
  /* The map grows with the region; where it cannot, the region beyond what
   * it covers stays unused (no block could be found there). */
  if (amap_cover(&h->amap, h->space->committed) != 0) {
    if (h->amap.cover - TB_WORD < h->limit) h->limit = h->amap.cover - TB_WORD;
    if (h->limit - h->top_off < need) return false;
  }
#endif
  TB_STAT_INC(h->st, grows);
  uint64_t c = oob_committed(h);
  if (c > h->peak) h->peak = c;
  return true;
}

#if OOB_BINS_ARRAY
/* Give bin b's array twice the capacity: a new segment at the end of the
 * used part of bin_space (committed as needed), the members copied in
 * order. The old segment is not reused: a bin's old segments together are
 * smaller than its current one, so bin_space stays under twice the
 * arrays' capacity. False (nothing changed) when bin_space cannot grow. */
TB_INTERNAL bool oob_bin_grow(tb_heap_t *h, unsigned b) {
  oob_bin_t *bn = &h->bins[b];
  uint64_t ncap = (uint64_t)bn->cap * 2;
  size_t bytes = (size_t)ncap * sizeof(oob_ent_t);
  if (ncap > UINT32_MAX || bytes > h->bin_space.reserved - h->bin_used) return false;
  if (h->bin_used + bytes > h->bin_space.committed && space_grow_to(&h->bin_space, h->bin_used + bytes) != 0)
    return false;
  oob_ent_t *a = (oob_ent_t *)(void *)(h->bin_space.base + h->bin_used);
  memcpy(a, bn->a, (size_t)bn->n * sizeof(oob_ent_t));
  bn->a = a;
  bn->cap = (uint32_t)ncap;
  h->bin_used += bytes;
  tb_binmap_clear(&h->short_map, b); /* cap - n >= cap / 2 >= OOB_BIN_SPARE now */
  uint64_t c = oob_committed(h);
  if (c > h->peak) h->peak = c;
  return true;
}

/* oob_bin_push when bin b has OOB_BIN_SPARE free entries or fewer: the
 * array grows first when it is full, then (eagerly) when the insert leaves
 * fewer than OOB_BIN_SPARE free, so that the next operation that can fail
 * finds room. Growth failing is not an error here: a full bin that cannot
 * grow parks the block (status PARKED, chained on h->parked, in no bin:
 * nothing allocates from it, neighbours do not merge with it) and a short
 * one is marked in short_map; the next operation that can fail repairs
 * both first (oob_bins_fix) or fails with ENOMEM before it starts. Only an
 * operation that cannot fail (free, realloc in place) ever parks: the
 * others start with OOB_BIN_SPARE free entries in every bin. */
TB_INTERNAL tb_noinline void oob_bin_push_slow(tb_heap_t *h, unsigned b, uint32_t i, uint64_t size) {
  oob_bin_t *bn = &h->bins[b];
  if (bn->n == bn->cap && !oob_bin_grow(h, b)) {
    oob_rec_t *r = &h->rec[i];
    oob_set(r, size, OOB_PARKED);
    r->fd = 0; /* parked in order: oob_bins_fix gives them back oldest first, as they would have been binned */
    if (h->parked)
      h->rec[h->parked_tail].fd = i;
    else
      h->parked = i;
    h->parked_tail = i;
    tb_binmap_set(&h->short_map, b);
    return;
  }
  bn->a[bn->n++] = oob_ent(i, size);
  tb_binmap_set(&h->map, b);
  if (bn->cap - bn->n < OOB_BIN_SPARE && !oob_bin_grow(h, b)) tb_binmap_set(&h->short_map, b);
}

/* Grow every short bin, then give each parked block back (merged with its
 * free neighbours, into its bin or the top, as a free now would); repeat
 * until neither is left. False when an array cannot grow. */
TB_INTERNAL tb_noinline bool oob_bins_fix(tb_heap_t *h) {
  for (;;) {
    unsigned b;
    while ((b = tb_binmap_next(&h->short_map, 0)) < TB_NBINS) {
      if (h->bins[b].cap - h->bins[b].n >= OOB_BIN_SPARE)
        tb_binmap_clear(&h->short_map, b);
      else if (!oob_bin_grow(h, b))
        return false;
    }
    uint32_t i = h->parked;
    if (!i) return true;
    oob_rec_t *r = &h->rec[i];
    h->parked = r->fd;
    oob_set(r, oob_size(r), OOB_USED);
    oob_release(h, i, h->base + r->off + TB_WORD);
  }
}
#endif
