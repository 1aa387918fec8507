/* check.c: the whole-heap validation (check(), and after every operation
 * at check level 3) and the statistics, both from one walk of the records. */
#include "oob.h"

typedef struct oob_walk_s {
  uint64_t live_bytes, live_blocks, free_blocks, free_bytes, largest_free, large_blocks, blocks;
#if OOB_BINS_ARRAY
  uint64_t parked; /* PARKED blocks, counted in free_blocks too */
#endif
} oob_walk_t;

#define OOB_FAIL(...)                                  \
  do {                                                 \
    if (why && len) snprintf(why, len, __VA_ARGS__);   \
    return false;                                      \
  } while (0)

/* Walk the heap; fill w; false with a reason when an invariant fails. */
static bool oob_walk(tb_heap_t *h, oob_walk_t *w, char *why, size_t len) {
  memset(w, 0, sizeof *w);
  if (h->top_off > h->limit || (h->top_off & TB_ALIGN_MASK) != TB_WORD)
    OOB_FAIL("top offset %llu bad (limit %llu)", (unsigned long long)h->top_off, (unsigned long long)h->limit);
  if (h->limit + TB_WORD > h->space->committed && h->limit != TB_WORD) OOB_FAIL("limit beyond committed space");
  if (h->nrec > h->cap || OOB_REC_COLOR + (uint64_t)h->cap * sizeof(oob_rec_t) > h->rec_space.committed)
    OOB_FAIL("record counts nrec %u cap %u exceed the record space", h->nrec, h->cap);
  /* Census of slots. */
  uint64_t dead = 0, used_or_free = 0, first = 0;
  for (uint32_t i = 1; i < h->nrec; i++) {
    const oob_rec_t *r = &h->rec[i];
    unsigned s = oob_status(r);
    if (s == OOB_DEAD) {
      dead++;
      continue;
    }
    if (s == OOB_LARGE) {
      w->large_blocks++;
      w->live_blocks++;
      w->live_bytes += oob_size(r) - (uint64_t)r->prev * TB_ALIGN_SIZE;
#if OOB_MAP
      if (amap_large_get(&h->large, (const void *)(uintptr_t)(r->off + TB_WORD)) != i)
        OOB_FAIL("large block record %u: the large map does not name it", i);
#else
      if (*(const uint64_t *)(uintptr_t)r->off != i) OOB_FAIL("large block record %u: back-pointer differs", i);
#endif
      continue;
    }
#if OOB_BINS_ARRAY
    if (s != OOB_USED && s != OOB_FREE && s != OOB_PARKED) OOB_FAIL("record %u has unknown status %u", i, s);
#else
    if (s != OOB_USED && s != OOB_FREE) OOB_FAIL("record %u has unknown status %u", i, s);
#endif
    used_or_free++;
    if (r->off == TB_WORD) {
      if (first) OOB_FAIL("records %llu and %u both start at offset 8", (unsigned long long)first, i);
      first = i;
    }
  }
  /* Recycled chain: only DEAD slots, each once (bounded by the census). */
  uint64_t chain = 0;
  if (h->spare) {
    if (h->spare >= h->nrec || oob_status(&h->rec[h->spare]) != OOB_DEAD) OOB_FAIL("spare slot %u is live", h->spare);
    chain = 1;
  }
  for (uint32_t i = h->free_slot; i; i = h->rec[i].fd) {
    if (i >= h->nrec || oob_status(&h->rec[i]) != OOB_DEAD || i == h->spare)
      OOB_FAIL("recycled chain holds live or spare slot %u", i);
    if (++chain > dead) OOB_FAIL("recycled chain longer than the dead slots (cycle?)");
  }
  if (chain != dead) OOB_FAIL("%llu dead slots but %llu on the recycled chain", (unsigned long long)dead,
                              (unsigned long long)chain);
  /* Physical walk: the records tile [8, top_off). */
  uint64_t off = TB_WORD, walked = 0;
  uint32_t prev = 0, i = (h->top_off > TB_WORD) ? (uint32_t)first : 0;
  if (h->top_off > TB_WORD && !first) OOB_FAIL("no record starts the region");
  bool prev_free = false;
  while (i) {
    const oob_rec_t *r = &h->rec[i];
    uint64_t sz = oob_size(r);
    unsigned s = oob_status(r);
#if OOB_BINS_ARRAY
    if (s != OOB_USED && s != OOB_FREE && s != OOB_PARKED)
      OOB_FAIL("physical chain reaches record %u of status %u", i, s);
#else
    if (s != OOB_USED && s != OOB_FREE) OOB_FAIL("physical chain reaches record %u of status %u", i, s);
#endif
    if (r->off != off) OOB_FAIL("record %u at offset %llu, expected %llu (gap or overlap)", i,
                                (unsigned long long)r->off, (unsigned long long)off);
    if (sz < OOB_MIN_BLOCK || (sz & TB_ALIGN_MASK)) OOB_FAIL("record %u has bad size %llu", i, (unsigned long long)sz);
    if (r->prev != prev) OOB_FAIL("record %u: prev %u, but the predecessor is %u", i, r->prev, prev);
    if (++walked > used_or_free) OOB_FAIL("physical chain longer than the records (cycle?)");
    if (s == OOB_FREE) {
      if (prev_free) OOB_FAIL("free blocks %u and %u touch", prev, i);
      w->free_blocks++;
      w->free_bytes += sz;
      if (sz > w->largest_free) w->largest_free = sz;
#if OOB_MAP
      if (amap_get(&h->amap, r->off + TB_WORD) != 0) OOB_FAIL("free block of record %u has a map entry", i);
#endif
#if OOB_BINS_ARRAY
    } else if (s == OOB_PARKED) {
      /* Free but held off the bins; its word is the one it had in use. */
      w->parked++;
      w->free_blocks++;
      w->free_bytes += sz;
      if (sz > w->largest_free) w->largest_free = sz;
      if (*oob_word(h, r->off) != i) OOB_FAIL("parked block of record %u: back-pointer differs", i);
#endif
    } else {
      w->live_blocks++;
      w->live_bytes += sz - OOB_WORD;
#if OOB_MAP
      if (amap_get(&h->amap, r->off + TB_WORD) != i) OOB_FAIL("block of record %u: map entry names %u", i,
                                                             amap_get(&h->amap, r->off + TB_WORD));
#else
      if (*oob_word(h, r->off) != i) OOB_FAIL("block of record %u: back-pointer names %llu", i,
                                             (unsigned long long)*oob_word(h, r->off));
#endif
    }
    w->blocks++;
    prev_free = s == OOB_FREE;
    off += sz;
    prev = i;
    if (r->next && r->next >= h->nrec) OOB_FAIL("record %u: next %u out of range", i, r->next);
    i = r->next;
  }
  if (off != h->top_off) OOB_FAIL("blocks end at %llu, top starts at %llu", (unsigned long long)off,
                                  (unsigned long long)h->top_off);
  if (prev != h->last) OOB_FAIL("last block is %u, heap says %u", prev, h->last);
  if (prev_free) OOB_FAIL("free block %u touches the top", prev);
  if (walked != used_or_free) OOB_FAIL("%llu records in use or free, %llu in the physical chain",
                                       (unsigned long long)used_or_free, (unsigned long long)walked);
  uint64_t top = h->limit - h->top_off;
  if (top > w->largest_free) w->largest_free = top;
#if OOB_MAP
  /* The map: it covers the region, and holds exactly the blocks in use
   * (each found under its own start above, so no other entry is set: no
   * free block, interior, top or uncommitted granule). */
  if (h->amap.cover < h->limit + TB_WORD) OOB_FAIL("map covers %zu bytes, the region %llu", h->amap.cover,
                                                   (unsigned long long)(h->limit + TB_WORD));
  uint64_t entries = amap_count(&h->amap, h->amap.cover);
  if (entries != w->live_blocks - w->large_blocks)
    OOB_FAIL("map holds %llu entries for %llu blocks in use", (unsigned long long)entries,
             (unsigned long long)(w->live_blocks - w->large_blocks));
  if (h->large.n != w->large_blocks || 2 * h->large.n > h->large.cap)
    OOB_FAIL("large map holds %zu keys (capacity %zu) for %llu large blocks", h->large.n, h->large.cap,
             (unsigned long long)w->large_blocks);
#endif
  /* Bins and bitmap. */
  uint64_t binned = 0;
#if OOB_BINS_ARRAY
  /* Every array lies in the used part of bin_space, within its capacity;
   * every entry names a FREE record of its bin, with its size cached right;
   * no record twice (marked through fd, which FREE records do not use
   * with arrays); a bin without OOB_BIN_SPARE free entries is in
   * short_map. Together with the count, every FREE block is in its bin
   * exactly once. */
  if (h->bin_used > h->bin_space.committed) OOB_FAIL("bin space: %llu bytes used, %llu committed",
                                                     (unsigned long long)h->bin_used,
                                                     (unsigned long long)h->bin_space.committed);
  const uint8_t *blo = h->bin_space.base + OOB_BIN_COLOR, *bhi = h->bin_space.base + h->bin_used;
  for (unsigned b = 0; b < TB_NBINS; b++) {
    const oob_bin_t *bn = &h->bins[b];
    if (tb_binmap_test(&h->map, b) != (bn->n != 0)) OOB_FAIL("bitmap bit %u disagrees with the bin", b);
    if (bn->n > bn->cap) OOB_FAIL("bin %u holds %u entries, capacity %u", b, bn->n, bn->cap);
    if (b == 0) {
      if (bn->cap) OOB_FAIL("bin 0 has an array");
      continue;
    }
    if (bn->cap < OOB_BIN_CAP0 || (bn->cap & (bn->cap - 1))) OOB_FAIL("bin %u: capacity %u", b, bn->cap);
    const uint8_t *a0 = (const uint8_t *)bn->a;
    if (a0 < blo || a0 > bhi || (size_t)(bhi - a0) < (size_t)bn->cap * sizeof(oob_ent_t))
      OOB_FAIL("bin %u: array outside the used bin space", b);
    if (bn->cap - bn->n < OOB_BIN_SPARE && !tb_binmap_test(&h->short_map, b))
      OOB_FAIL("bin %u has %u free entries but is not marked short", b, bn->cap - bn->n);
    for (uint32_t k = 0; k < bn->n; k++) {
      uint32_t j = oob_ent_rec(bn->a[k]);
      if (j == 0 || j >= h->nrec) OOB_FAIL("bin %u entry %u names record %u out of range", b, k, j);
      if (oob_status(&h->rec[j]) == OOB_FREE) h->rec[j].fd = 0;
    }
  }
  for (unsigned b = 1; b < TB_NBINS; b++) {
    const oob_bin_t *bn = &h->bins[b];
    for (uint32_t k = 0; k < bn->n; k++) {
      uint32_t j = oob_ent_rec(bn->a[k]);
      oob_rec_t *r = &h->rec[j];
      if (oob_status(r) != OOB_FREE) OOB_FAIL("bin %u holds record %u that is not free", b, j);
      if (tb_bin_index(oob_size(r)) != b) OOB_FAIL("record %u (size %llu) in bin %u", j,
                                                   (unsigned long long)oob_size(r), b);
      if (bn->a[k] != oob_ent(j, oob_size(r))) OOB_FAIL("bin %u entry %u: cached size disagrees with record %u",
                                                        b, k, j);
      if (r->fd) OOB_FAIL("record %u is in the bins twice", j);
      r->fd = 1;
      if (++binned > w->free_blocks) OOB_FAIL("bins hold more records than there are free blocks");
    }
  }
  uint64_t parked = 0;
  for (uint32_t j = h->parked; j; j = h->rec[j].fd) {
    if (j >= h->nrec || oob_status(&h->rec[j]) != OOB_PARKED) OOB_FAIL("parked chain holds record %u", j);
    if (++parked > w->parked) OOB_FAIL("parked chain longer than the parked blocks (cycle?)");
  }
  if (parked != w->parked) OOB_FAIL("%llu parked blocks, %llu on the chain", (unsigned long long)w->parked,
                                    (unsigned long long)parked);
  binned += parked;
#else

  for (unsigned b = 0; b < TB_NBINS; b++) {
    if (tb_binmap_test(&h->map, b) != (h->bin[b] != 0)) OOB_FAIL("bitmap bit %u disagrees with the bin", b);
    uint32_t bk = 0;
    for (uint32_t j = h->bin[b]; j; j = h->rec[j].fd) {
      if (j >= h->nrec) OOB_FAIL("bin %u links to record %u out of range", b, j);
      const oob_rec_t *r = &h->rec[j];
      if (oob_status(r) != OOB_FREE) OOB_FAIL("bin %u holds record %u that is not free", b, j);
      if (tb_bin_index(oob_size(r)) != b) OOB_FAIL("record %u (size %llu) in bin %u", j,
                                                   (unsigned long long)oob_size(r), b);
      if (r->bk != bk) OOB_FAIL("bin %u: record %u back link %u, expected %u", b, j, r->bk, bk);
      if (++binned > w->free_blocks) OOB_FAIL("bins hold more records than there are free blocks");
      bk = j;
    }
  }
#endif
  if (binned != w->free_blocks) OOB_FAIL("%llu free blocks, %llu in bins", (unsigned long long)w->free_blocks,
                                         (unsigned long long)binned);
#if TB_STATS
  if (h->st.mallocs - h->st.frees != w->live_blocks)
    OOB_FAIL("stats say %llu mallocs - %llu frees live blocks; walk finds %llu", (unsigned long long)h->st.mallocs,
             (unsigned long long)h->st.frees, (unsigned long long)w->live_blocks);
#endif
  return true;
}

TB_INTERNAL bool oob_check(tb_heap_t *h, char *why, size_t len) {
  oob_walk_t w;
  return oob_walk(h, &w, why, len);
}

TB_INTERNAL bool oob_check_op(tb_heap_t *h, char *why, size_t len) {
  bool taken = oob_lock(h);
  bool ok = oob_check(h, why, len);
  oob_unlock(h, taken);
  if (ok && why && len) why[0] = '\0';
  return ok;
}

TB_INTERNAL void oob_stats(tb_heap_t *h, tb_stats_t *st) {
  bool taken = oob_lock(h);
  oob_walk_t w;
  bool ok = oob_walk(h, &w, NULL, 0);
  *st = h->st; /* counters (NA when statistics are compiled out) */
  uint64_t committed = oob_committed(h);
  st->committed_bytes = committed;
  st->peak_committed_bytes = h->peak > committed ? h->peak : committed;
  if (ok) {
    /* Record array committed + one back-pointer word per block (free ones
     * included: the word stays reserved in front of every block). */
#if OOB_BINS_ARRAY
    st->metadata_bytes = h->rec_space.committed + h->bin_space.committed + TB_WORD * (w.blocks + w.large_blocks);
#elif OOB_MAP
    /* No word in band: the records and both maps. */
    st->metadata_bytes = h->rec_space.committed + amap_committed(&h->amap) + amap_large_committed(&h->large);
#else
    st->metadata_bytes = h->rec_space.committed + TB_WORD * (w.blocks + w.large_blocks);
#endif
    st->live_bytes = w.live_bytes;
    st->live_blocks = w.live_blocks;
    st->free_blocks = w.free_blocks;
    st->free_bytes = w.free_bytes;
    st->top_bytes = h->limit - h->top_off;
    st->largest_free = w.largest_free;
    st->large_blocks = w.large_blocks;
  }
  oob_unlock(h, taken);
}

#if OOB_MAP && TB_CHECK_LEVEL >= 1
/* free/realloc/usable_size of p found no block in use in the map (check
 * level >= 1): say what p is, from the records, and die. */
TB_INTERNAL _Noreturn tb_noinline void oob_map_fatal(tb_heap_t *h, const void *p) {
  uintptr_t u = (uintptr_t)p - (uintptr_t)h->base;
  if (u >= h->limit + TB_WORD) tb_fatal("oob-map", "invalid pointer (not from this heap) or double free of a large block:", p);
  if (u >= h->top_off + TB_WORD) tb_fatal("oob-map", "invalid pointer or double free (in the unused top of the heap):", p);
  for (uint32_t i = 1; i < h->nrec; i++) {
    const oob_rec_t *r = &h->rec[i];
    unsigned s = oob_status(r);
    uint64_t start = r->off + TB_WORD;
    if ((s != OOB_USED && s != OOB_FREE) || u < start || u >= start + oob_size(r)) continue;
    if (s == OOB_USED) tb_fatal("oob-map", "invalid pointer (inside a block in use, not its start):", p);
    if (u == start) tb_fatal("oob-map", "double free (the block is free):", p);
    tb_fatal("oob-map", "double free or invalid pointer (inside a free block):", p);
  }
  tb_fatal("oob-map", "invalid pointer (no block there):", p);
}
#endif
