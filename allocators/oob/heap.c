/* heap.c: creating and destroying an oob heap, and the two ways it gets
 * more memory: the record array (rec_space) and the user region's top. */
#include "oob.h"

static tb_heap_t *oob_create(const tb_heap_opts_t *opts) {
  tb_heap_t *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  if (!(h->space = tb_heap_space_open(opts, &h->own_space))) {
    free(h);
    return NULL;
  }
  /* The record array uses the user space's os table so that failure
   * injection reaches it too; it starts with one page of records. */
  space_config_t rc_cfg = {.initial = OOB_REC_COLOR + 64 * sizeof(oob_rec_t), .reserve = OOB_REC_RESERVE,
                           .os = h->space->os};
  int rc = space_init_mmap(&h->rec_space, &rc_cfg);
  if (rc) {
    tb_heap_space_close(h->space, &h->own_space);
    free(h);
    errno = rc;
    return NULL;
  }
  h->rec = (oob_rec_t *)(void *)(h->rec_space.base + OOB_REC_COLOR);
  h->cap = (uint32_t)((h->rec_space.committed - OOB_REC_COLOR) / sizeof(oob_rec_t));
  h->nrec = 1; /* slot 0 means "none" */
  h->base = h->space->base;
  h->can_grow = h->space->kind == SPACE_MMAP;
  h->top_off = TB_WORD;
  h->limit = h->space->committed >= 2 * TB_WORD ? h->space->committed - TB_WORD : TB_WORD;
  h->locked = opts && opts->mode == TB_MODE_LOCKED;
  tb_stats_t *st = &h->st;
  tb_stats_clear(st);
#define OOB_ZERO_COUNTER(name, unit, kind, desc) \
  if (TB_STATS && strcmp(#kind, "counter") == 0) st->name = 0;
  TB_STAT_FIELDS(OOB_ZERO_COUNTER)
#undef OOB_ZERO_COUNTER
  h->peak = h->space->committed + h->rec_space.committed;
  return h;
}

static void oob_destroy(tb_heap_t *h) {
  if (!h) return;
  for (uint32_t i = 1; i < h->nrec; i++) {
    oob_rec_t *r = &h->rec[i];
    if (oob_status(r) == OOB_LARGE) {
      uintptr_t user = (uintptr_t)r->off + TB_WORD;
      space_unmap(h->space, (void *)(user - (uintptr_t)r->prev * TB_ALIGN_SIZE), oob_size(r));
    }
  }
  space_destroy(&h->rec_space);
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
  uint64_t c = h->space->committed + h->rec_space.committed + h->large_bytes;
  if (c > h->peak) h->peak = c;
  return true;
}

/* Make the top at least `need` bytes long by growing the user region. */
TB_INTERNAL bool oob_grow_top(tb_heap_t *h, size_t need) {
  if (need > h->space->reserved || h->top_off > h->space->reserved - need - TB_WORD) return false;
  if (space_grow_to(h->space, h->top_off + need + TB_WORD) != 0) return false;
  h->limit = h->space->committed - TB_WORD;
  TB_STAT_INC(h->st, grows);
  uint64_t c = h->space->committed + h->rec_space.committed + h->large_bytes;
  if (c > h->peak) h->peak = c;
  return true;
}
