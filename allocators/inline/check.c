/* check.c: the whole-heap validator (check level 3 runs it when
 * tb_check_walk_due says so and when a heap is destroyed; tests call it
 * through ops->check) and statistics. */
#include "inl.h"

#define INL_FAIL(...)                              \
  do {                                             \
    if (why && len) snprintf(why, len, __VA_ARGS__); \
    free(frees);                                   \
    free(seen);                                    \
    return false;                                  \
  } while (0)

static bool inl_find(uint8_t *const *a, size_t n, const uint8_t *x, size_t *at) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  *at = lo;
  return lo < n && a[lo] == x;
}

TB_INTERNAL bool inl_check(tb_heap_t *h, char *why, size_t len) {
  uint8_t **frees = NULL;
  unsigned char *seen = NULL;
  size_t nfree = 0, cap = 0, nlive = 0;
  const space_t *sp = h->space;
  if (h->first != sp->base + TB_WORD) INL_FAIL("first block %p is not base + 8", (void *)h->first);
  if (h->end != sp->base + sp->committed - TB_WORD) INL_FAIL("end %p disagrees with the committed space", (void *)h->end);
  if (h->top < h->first || h->top > h->end || h->top + h->top_size != h->end)
    INL_FAIL("top %p + %zu does not end at %p", (void *)h->top, h->top_size, (void *)h->end);
  if (h->top_size & TB_ALIGN_MASK) INL_FAIL("top size %zu not a multiple of 16", h->top_size);
  /* 1. The blocks tile [first, top) and their tags agree. */
  bool prev_inuse = true;
  uint8_t *b = h->first;
  while (b < h->top) {
    size_t head = *inl_hdr(b), size = inl_size(head);
    bool inuse = head & INL_CINUSE;
    if (head & INL_LARGE) INL_FAIL("block %p in the space has the large bit", (void *)b);
    if (size < INL_MIN_BLOCK || (size & TB_ALIGN_MASK) || size > (size_t)(h->top - b))
      INL_FAIL("block %p has bad size %zu (top %p)", (void *)b, size, (void *)h->top);
    if (((head & INL_PINUSE) != 0) != prev_inuse)
      INL_FAIL("block %p: PINUSE %d but previous block in use %d", (void *)b, (head & INL_PINUSE) != 0, prev_inuse);
    if (!inuse) {
      if (!prev_inuse) INL_FAIL("free block %p touches a free previous block", (void *)b);
      if (*(size_t *)(void *)(b + size - TB_WORD) != size)
        INL_FAIL("free block %p: footer %zu != size %zu", (void *)b, *(size_t *)(void *)(b + size - TB_WORD), size);
      if (nfree == cap) {
        cap = cap ? 2 * cap : 256;
        uint8_t **nf = realloc(frees, cap * sizeof *frees);
        if (!nf) INL_FAIL("out of memory while checking");
        frees = nf;
      }
      frees[nfree++] = b;
    } else {
      nlive++;
    }
    prev_inuse = inuse;
    b += size;
  }
  if (b != h->top) INL_FAIL("blocks end at %p, not at the top %p", (void *)b, (void *)h->top);
  if (!prev_inuse) INL_FAIL("the block before the top is free (should have merged)");
  /* 2. Every free block sits in exactly the right bin; the bitmap agrees. */
  seen = calloc(nfree ? nfree : 1, 1);
  if (!seen) INL_FAIL("out of memory while checking");
  size_t inbins = 0;
  for (unsigned i = 0; i < TB_NBINS; i++) {
    if (tb_binmap_test(&h->map, i) != (h->bins[i] != NULL))
      INL_FAIL("bitmap bit %u is %d but bin is %s", i, tb_binmap_test(&h->map, i), h->bins[i] ? "non-empty" : "empty");
    inl_free_t *prev = NULL;
    for (inl_free_t *f = h->bins[i]; f; prev = f, f = f->next) {
      size_t at;
      if (++inbins > nfree) INL_FAIL("bins hold more blocks than the %zu free ones (cycle or stray)", nfree);
      if (!inl_find(frees, nfree, (uint8_t *)f, &at)) INL_FAIL("bin %u holds %p, which is not a free block", i, (void *)f);
      if (seen[at]) INL_FAIL("free block %p is in a bin twice", (void *)f);
      seen[at] = 1;
      if (f->prev != prev) INL_FAIL("bin %u: %p has prev link %p, expected %p", i, (void *)f, (void *)f->prev, (void *)prev);
      size_t size = inl_size(f->head);
      if (tb_bin_index(size) != i) INL_FAIL("free block %p of size %zu is in bin %u, not %u", (void *)f, size, i, tb_bin_index(size));
    }
  }
  if (inbins != nfree) INL_FAIL("%zu free blocks but %zu in bins", nfree, inbins);
  /* 3. Large blocks. */
  size_t nl = 0, lbytes = 0;
  inl_large_t *lp = NULL;
  for (inl_large_t *l = h->large; l; lp = l, l = l->next) {
    if (++nl > h->nlarge) INL_FAIL("large list longer than %zu", h->nlarge);
    if (l->prev != lp) INL_FAIL("large block %p: bad prev link", (void *)l);
    uint8_t *p = l->user;
    if (p < (uint8_t *)l + INL_LARGE_HDR || p > (uint8_t *)l + l->maplen || ((void **)p)[-2] != l ||
        ((size_t *)(void *)p)[-1] != (l->maplen | INL_LARGE | INL_CINUSE))
      INL_FAIL("large block %p: user pointer %p and its tags disagree", (void *)l, (void *)p);
    lbytes += l->maplen;
    nlive++;
  }
  if (nl != h->nlarge || lbytes != h->large_bytes) INL_FAIL("large blocks: %zu (%zu B) listed, %zu (%zu B) counted", nl, lbytes, h->nlarge, h->large_bytes);
  /* 4. The statistics agree with the walk. */
#if TB_STATS
  if (h->st.mallocs - h->st.frees != nlive)
    INL_FAIL("stats say %llu mallocs - %llu frees live blocks; walk finds %zu",
             (unsigned long long)h->st.mallocs, (unsigned long long)h->st.frees, nlive);
#endif
  free(frees);
  free(seen);
  return true;
}

#if TB_CHECK_LEVEL >= 3
TB_INTERNAL void inl_validate_now(tb_heap_t *h) {
  char why[256];
  if (!inl_check(h, why, sizeof why)) {
    fprintf(stderr, "testbed: inline: heap check failed: %s\n", why);
    tb_fatal("inline", "heap corrupt, heap", (void *)h);
  }
}

TB_INTERNAL void inl_validate(tb_heap_t *h) {
  if (tb_check_walk_due(&h->check_ops)) inl_validate_now(h);
}
#endif

TB_INTERNAL bool inl_check_op(tb_heap_t *h, char *why, size_t len) {
  bool taken = tb_heap_lock(&h->lock, h->locked);
  bool ok = inl_check(h, why, len);
  tb_heap_unlock(&h->lock, taken);
  return ok;
}

/* Gauges come from a walk (so they exist without TB_STATS too); counters
 * from the heap's tb_stats_t. */
TB_INTERNAL void inl_stats(tb_heap_t *h, tb_stats_t *st) {
  bool taken = tb_heap_lock(&h->lock, h->locked);
  *st = h->st; /* the counters (NA when not counted); gauges follow */
  uint64_t live = 0, nlive = 0, nfree = 0, fbytes = 0, largest = h->top_size;
  uint64_t meta = sizeof *h + 2 * TB_WORD; /* heap struct, the word before first and the one at end */
  for (uint8_t *b = h->first; b < h->top;) {
    size_t head = *inl_hdr(b), size = inl_size(head);
    if (head & INL_CINUSE) {
      nlive++;
      live += size - TB_WORD;
      meta += TB_WORD;
    } else {
      nfree++;
      fbytes += size;
      meta += INL_MIN_BLOCK; /* header, two links, footer */
      if (size > largest) largest = size;
    }
    b += size;
  }
  meta += TB_WORD; /* the top's header slot */
  for (inl_large_t *l = h->large; l; l = l->next) {
    nlive++;
    live += (uint64_t)((uint8_t *)l + l->maplen - (uint8_t *)l->user);
    meta += (uint64_t)((uint8_t *)l->user - (uint8_t *)l);
  }
  st->committed_bytes = h->space->committed + h->large_bytes;
  st->peak_committed_bytes = h->peak_committed;
  st->metadata_bytes = meta;
  st->live_bytes = live;
  st->live_blocks = nlive;
  st->free_blocks = nfree;
  st->free_bytes = fbytes;
  st->top_bytes = h->top_size;
  st->largest_free = largest;
  st->large_blocks = h->nlarge;
  tb_heap_unlock(&h->lock, taken);
}
