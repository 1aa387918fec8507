/* aligned_alloc.c: blocks aligned to a power of two > 16. A block of
 * tb_aligned_take_size(s, a, OOB_MIN_BLOCK) bytes is taken (tb_policy.h);
 * the lead padding (tbd_aligned_lead: 0 or at least OOB_MIN_BLOCK)
 * becomes a free block with its own record, and the tail is given back
 * like a realloc shrink. No marker in user memory. */
#include "oob.h"

static void *oob_aligned_core(tb_heap_t *h, size_t a, size_t n) {
  if (a <= TB_ALIGN_SIZE) return oob_malloc_core(h, n);
  size_t s = tbd_block_size(n);
  if (!s || a > TB_MAX_REQUEST || !oob_rec_ready(h)) {
    errno = ENOMEM;
    return NULL;
  }
  if (tb_is_large(s, h->can_grow)) {
    if (a / TB_ALIGN_SIZE > UINT32_MAX) {
      errno = ENOMEM; /* the mapping offset would not fit the record */
      return NULL;
    }
    void *p = oob_large_map(h, s, a);
    TB_STAT_ADD(h->st, mallocs, p != NULL);
    return p;
  }
  size_t t = tb_aligned_take_size(s, a, OOB_MIN_BLOCK);
  uint64_t off;
  uint32_t i = oob_take(h, t, &off);
  if (!i) return NULL;
  oob_rec_t *r = &h->rec[i];
  uintptr_t user = (uintptr_t)h->base + (uintptr_t)r->off + TB_WORD;
  size_t lead = tbd_aligned_lead(user, a);
  if (lead) {
    /* The predecessor of a block just taken is never free (no two free
     * blocks touch, and none touches the top), so the lead stands alone. */
    uint32_t j = oob_rec_new(h);
    r = &h->rec[i];
    oob_rec_t *l = &h->rec[j];
    tb_assert(!r->prev || oob_status(&h->rec[r->prev]) != OOB_FREE);
    l->off = r->off;
    oob_set(l, lead, OOB_FREE);
    l->prev = r->prev;
    l->next = i;
    if (r->prev) h->rec[r->prev].next = j;
    r->prev = j;
    r->off += lead;
    oob_set(r, oob_size(r) - lead, OOB_USED);
    oob_bin_insert(h, j);
    TB_STAT_INC(h->st, splits);
  }
  oob_shrink(h, i, s);
  TB_STAT_INC(h->st, mallocs);
  return oob_enframe(h, i, h->rec[i].off);
}

TB_INTERNAL void *oob_aligned_alloc(tb_heap_t *h, size_t a, size_t n) {
  if (a == 0 || (a & (a - 1))) {
    errno = EINVAL;
    return NULL;
  }
  bool taken = oob_lock(h);
  void *p = oob_aligned_core(h, a, n);
  oob_validate(h, "aligned_alloc");
  oob_unlock(h, taken);
  return p;
}
