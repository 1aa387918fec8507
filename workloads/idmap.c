/* idmap.c: address -> object id map of the importers (see idmap.h). */
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

static size_t slot_of(const tb_idmap_t *m, uint64_t k) {
  return (size_t)(((k >> 4) * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);
}

static int grow(tb_idmap_t *m) {
  size_t nc = m->cap ? m->cap * 2 : 1 << 12;
  uint64_t *k = calloc(nc, sizeof *k);
  uint32_t *v = malloc(nc * sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return -1;
  }
  tb_idmap_t o = *m;
  m->key = k;
  m->val = v;
  m->cap = nc;
  for (size_t i = 0; i < o.cap; i++)
    if (o.key[i]) {
      size_t s = slot_of(m, o.key[i]);
      while (m->key[s]) s = (s + 1) & (nc - 1);
      m->key[s] = o.key[i];
      m->val[s] = o.val[i];
    }
  free(o.key);
  free(o.val);
  return 0;
}

/* Slot of k, or the empty slot where it would go (cap > 0). */
static size_t find(const tb_idmap_t *m, uint64_t k) {
  size_t s = slot_of(m, k);
  while (m->key[s] && m->key[s] != k) s = (s + 1) & (m->cap - 1);
  return s;
}

static int put(tb_idmap_t *m, uint64_t k, uint32_t id) {
  if ((m->n + 1) * 2 > m->cap && grow(m)) return -1;
  size_t s = find(m, k);
  if (!m->key[s]) m->n++;
  m->key[s] = k;
  m->val[s] = id;
  return 0;
}

static void del_slot(tb_idmap_t *m, size_t s) {
  size_t mask = m->cap - 1;
  m->key[s] = 0;
  m->n--;
  for (size_t j = (s + 1) & mask; m->key[j]; j = (j + 1) & mask) {
    size_t h = slot_of(m, m->key[j]);
    /* move j back into the hole s if its home h is not in (s, j] */
    if (((j - h) & mask) >= ((j - s) & mask)) {
      m->key[s] = m->key[j];
      m->val[s] = m->val[j];
      m->key[j] = 0;
      s = j;
    }
  }
}

bool tb_idmap_get(const tb_idmap_t *m, uint64_t a, uint32_t *id) {
  if (!m->cap || !a) return false;
  size_t s = find(m, a);
  if (!m->key[s]) return false;
  *id = m->val[s];
  return true;
}

int tb_idmap_add(tb_idmap_t *m, uint64_t a, uint32_t *id) {
  if (!a) return -1;
  uint32_t v;
  if (m->nfree) v = m->freeids[m->nfree - 1];
  else if (m->next_id == UINT32_MAX - 1) return -1;
  else v = m->next_id;
  if (put(m, a, v)) return -1;
  if (m->nfree) m->nfree--;
  else m->next_id++;
  *id = v;
  return 0;
}

int tb_idmap_remove(tb_idmap_t *m, uint64_t a, uint32_t *id) {
  if (!m->cap || !a) return 0;
  size_t s = find(m, a);
  if (!m->key[s]) return 0;
  if (m->nfree == m->freecap) {
    size_t c = m->freecap ? m->freecap * 2 : 1024;
    uint32_t *f = realloc(m->freeids, c * sizeof *f);
    if (!f) return -1;
    m->freeids = f;
    m->freecap = c;
  }
  *id = m->val[s];
  m->freeids[m->nfree++] = m->val[s];
  del_slot(m, s);
  return 1;
}

int tb_idmap_move(tb_idmap_t *m, uint64_t from, uint64_t to) {
  if (!m->cap || !from || !to) return -1;
  size_t s = find(m, from);
  if (!m->key[s]) return -1;
  uint32_t id = m->val[s];
  del_slot(m, s);
  return put(m, to, id);
}

void tb_idmap_free(tb_idmap_t *m) {
  free(m->key);
  free(m->val);
  free(m->freeids);
  memset(m, 0, sizeof *m);
}
