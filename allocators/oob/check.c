/* check.c: the whole-heap validation (check(), and after every operation
 * at check level 3) and the statistics, both from one walk of the records. */
#include "oob.h"

typedef struct oob_walk_s {
  uint64_t live_bytes, live_blocks, free_blocks, free_bytes, largest_free, large_blocks, blocks;
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
      if (*(const uint64_t *)(uintptr_t)r->off != i) OOB_FAIL("large block record %u: back-pointer differs", i);
      continue;
    }
    if (s != OOB_USED && s != OOB_FREE) OOB_FAIL("record %u has unknown status %u", i, s);
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
    if (s != OOB_USED && s != OOB_FREE) OOB_FAIL("physical chain reaches record %u of status %u", i, s);
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
    } else {
      w->live_blocks++;
      w->live_bytes += sz - TB_WORD;
      if (*oob_word(h, r->off) != i) OOB_FAIL("block of record %u: back-pointer names %llu", i,
                                             (unsigned long long)*oob_word(h, r->off));
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
  /* Bins and bitmap. */
  uint64_t binned = 0;
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
  if (binned != w->free_blocks) OOB_FAIL("%llu free blocks, %llu in bins", (unsigned long long)w->free_blocks,
                                         (unsigned long long)binned);
  return true;
}

TB_INTERNAL bool oob_check(tb_heap_t *h, char *why, size_t len) {
  oob_walk_t w;
  return oob_walk(h, &w, why, len);
}

static bool oob_check_op(tb_heap_t *h, char *why, size_t len) {
  bool taken = oob_lock(h);
  bool ok = oob_check(h, why, len);
  oob_unlock(h, taken);
  if (ok && why && len) why[0] = '\0';
  return ok;
}

static void oob_stats(tb_heap_t *h, tb_stats_t *st) {
  bool taken = oob_lock(h);
  oob_walk_t w;
  bool ok = oob_walk(h, &w, NULL, 0);
  *st = h->st; /* counters (NA when statistics are compiled out) */
  uint64_t committed = h->space->committed + h->rec_space.committed + h->large_bytes;
  st->committed_bytes = committed;
  st->peak_committed_bytes = h->peak > committed ? h->peak : committed;
  if (ok) {
    /* Record array committed + one back-pointer word per block (free ones
     * included: the word stays reserved in front of every block). */
    st->metadata_bytes = h->rec_space.committed + TB_WORD * (w.blocks + w.large_blocks);
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
