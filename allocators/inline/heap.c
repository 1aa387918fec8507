/* heap.c: inline heap lifetime (create, destroy) and large blocks
 * straight from the system. */
#include "inl.h"

TB_INTERNAL tb_heap_t *inl_create(const tb_heap_opts_t *opts) {
  tb_heap_t *h;
  TB_HEAP_NEW(h, opts);
  if (!h) return NULL;
  space_t *s = h->space;
  if (s->committed < 2 * INL_MIN_BLOCK || ((uintptr_t)s->base & TB_ALIGN_MASK)) {
    tb_heap_space_close(h->space, &h->own_space);
    free(h);
    errno = EINVAL;
    return NULL;
  }
  h->first = s->base + TB_WORD;
  h->end = s->base + s->committed - TB_WORD;
  h->top = h->first;
  h->top_size = (size_t)(h->end - h->top);
  h->can_grow = s->kind == SPACE_MMAP;
  h->locked = opts && opts->mode == TB_MODE_LOCKED;
  h->peak_committed = s->committed;
  tb_stats_reset(&h->st);
  /* Every access of inline's metadata is an access of the user region:
   * a count of them apart from the allocator's others would mean nothing. */
  h->st.user_bytes_read = TB_STAT_NA;
  h->st.user_bytes_written = TB_STAT_NA;
  INL_VALIDATE(h);
  return h;
}

TB_INTERNAL void inl_destroy(tb_heap_t *h) {
  if (!h) return;
#if TB_CHECK_LEVEL >= 3
  inl_validate_now(h); /* the last walk: corruption since the previous one dies here */
#endif
  while (h->large) {
    inl_large_t *l = h->large;
    h->large = l->next;
    space_unmap(h->space, l, l->maplen);
  }
  tb_heap_space_close(h->space, &h->own_space);
  free(h);
}

#if TB_CHECK_LEVEL >= 1
TB_INTERNAL _Noreturn void inl_invalid(const char *what, const void *p) { tb_fatal("inline", what, p); }
#endif

/* ---- large blocks ------------------------------------------------------------ */

TB_INTERNAL void *inl_large_map(tb_heap_t *h, size_t align, size_t n) {
  if (n > TB_MAX_REQUEST || align > TB_MAX_REQUEST) return NULL;
  size_t want = INL_LARGE_HDR + n + (align > TB_ALIGN_SIZE ? align : 0);
  size_t len = space_page_round(h->space, want);
  if (!len) return NULL;
  inl_large_t *l = space_map(h->space, len);
  if (!l) return NULL;
  uint8_t *p = (uint8_t *)tb_align_up((uintptr_t)l + INL_LARGE_HDR, align);
  ((void **)p)[-2] = l;
  ((size_t *)(void *)p)[-1] = len | INL_LARGE | INL_CINUSE;
  l->user = p;
  l->maplen = len;
  l->prev = NULL;
  l->next = h->large;
  if (h->large) h->large->prev = l;
  h->large = l;
  h->nlarge++;
  h->large_bytes += len;
  if (h->space->committed + h->large_bytes > h->peak_committed)
    h->peak_committed = h->space->committed + h->large_bytes;
  return p;
}

#if TB_CHECK_LEVEL >= 1
/* Whether p is the user pointer of one of h's large blocks (a walk of the
 * list: the only way to know without touching memory that may be gone). */
TB_INTERNAL bool inl_large_owns(const tb_heap_t *h, const void *p) {
  for (const inl_large_t *l = h->large; l; l = l->next)
    if (l->user == p) return true;
  return false;
}
#endif

TB_INTERNAL void inl_large_unmap(tb_heap_t *h, void *p) {
  inl_large_t *l = ((void **)p)[-2];
  if (l->prev)
    l->prev->next = l->next;
  else
    h->large = l->next;
  if (l->next) l->next->prev = l->prev;
  h->nlarge--;
  h->large_bytes -= l->maplen;
  space_unmap(h->space, l, l->maplen);
}
