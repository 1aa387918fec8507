/* space.c: growth policy for mmap and fixed spaces (contract in space.h). */
#include "space.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

static _Atomic(space_region_hook_t) region_hook;

void space_set_region_hook(space_region_hook_t hook) {
  atomic_store_explicit(&region_hook, hook, memory_order_release);
}

static void tell(const void *base, size_t len, space_tag_t tag) {
  space_region_hook_t h = atomic_load_explicit(&region_hook, memory_order_acquire);
  if (h) h(base, len, tag);
}

void space_tell(const void *base, size_t len, space_tag_t tag) {
  if (base && len) tell(base, len, tag);
}

int space_init_mmap(space_t *s, const space_config_t *cfg) {
  space_config_t c = {0};
  if (cfg) c = *cfg;
  memset(s, 0, sizeof *s);
  s->os = c.os ? c.os : &space_os_system;
  s->page_size = s->os->page_size(s->os->ctx);
  s->kind = SPACE_MMAP;
  s->tag = c.tag;
  s->growth_shift = c.growth_shift ? c.growth_shift : SPACE_DEFAULT_GROWTH_SHIFT;
  if (s->growth_shift > 8) return EINVAL;
  size_t initial = space_page_round(s, c.initial ? c.initial : SPACE_DEFAULT_INITIAL);
  size_t reserve = space_page_round(s, c.reserve ? c.reserve : SPACE_DEFAULT_RESERVE);
  if (initial == 0 || reserve == 0) return EINVAL;
  if (initial > reserve) return EINVAL;
  void *base = s->os->reserve(s->os->ctx, reserve);
  if (!base) return ENOMEM;
  int rc = s->os->commit(s->os->ctx, base, initial);
  if (rc) {
    s->os->release(s->os->ctx, base, reserve);
    return rc;
  }
  s->base = (uint8_t *)base;
  s->reserved = reserve;
  s->committed = initial;
  s->initial = initial;
  tell(s->base, s->reserved, s->tag);
  return 0;
}

int space_init_fixed(space_t *s, void *buf, size_t size) {
  memset(s, 0, sizeof *s);
  if (!buf || ((uintptr_t)buf & 15u) != 0) return EINVAL;
  size &= ~(size_t)15;
  s->os = &space_os_system;
  s->page_size = s->os->page_size(s->os->ctx);
  s->kind = SPACE_FIXED;
  s->base = (uint8_t *)buf;
  s->committed = s->reserved = s->initial = size;
  tell(s->base, size, SPACE_TAG_BLOCKS);
  return 0;
}

int space_grow_to(space_t *s, size_t need) {
  if (need <= s->committed) return 0;
  if (s->kind != SPACE_MMAP || need > s->reserved) return ENOMEM;
  /* Grow by powers of 2^shift from the current size until `need` fits,
   * capped at the reservation. */
  size_t target = s->committed;
  while (target < need) {
    if (target > (s->reserved >> s->growth_shift)) {
      target = s->reserved;
      break;
    }
    target <<= s->growth_shift;
  }
  if (target > s->reserved) target = s->reserved;
  int rc = s->os->commit(s->os->ctx, s->base + s->committed, target - s->committed);
  if (rc) return ENOMEM;
  s->committed = target;
  s->grows++;
  return 0;
}

int space_trim(space_t *s, size_t keep) {
  if (s->kind != SPACE_MMAP) return 0;
  if (keep < s->initial) keep = s->initial;
  keep = space_page_round(s, keep);
  if (keep == 0 || keep >= s->committed) return 0;
  int rc = s->os->decommit(s->os->ctx, s->base + keep, s->committed - keep);
  if (rc) return rc;
  s->committed = keep;
  return 0;
}

void space_destroy(space_t *s) {
  if (s->kind == SPACE_MMAP && s->base) s->os->release(s->os->ctx, s->base, s->reserved);
  memset(s, 0, sizeof *s);
}

void *space_map(const space_t *s, size_t size) {
  size_t n = space_page_round(s, size);
  if (n == 0) return NULL;
  void *p = s->os->map(s->os->ctx, n);
  if (p) tell(p, n, SPACE_TAG_BLOCKS);
  return p;
}

void space_unmap(const space_t *s, void *p, size_t size) {
  size_t n = space_page_round(s, size);
  if (p && n) s->os->release(s->os->ctx, p, n);
}
