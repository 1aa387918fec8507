/* import_mtrace.c: glibc mtrace log -> trace (see import.h): parses each
 * line, maps addresses to object ids through an open-addressing hash
 * table, recycles freed ids, and repairs what a partial log leaves
 * inconsistent. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

typedef struct {
  uint64_t addr; /* 0: empty slot */
  uint32_t id;
  uint64_t size;
  bool tomb;     /* deleted: keep probing past it */
} slot_t;

typedef struct {
  slot_t *s;
  size_t cap, used; /* used counts live and tombstoned slots */
  uint32_t *freeids;
  size_t nfree, capfree;
  uint32_t next_id;
} map_t;

static size_t hash(uint64_t a) { return (size_t)((a >> 4) * 0x9e3779b97f4a7c15ull >> 17); }

static slot_t *find(map_t *m, uint64_t a) {
  if (!m->cap) return NULL;
  for (size_t i = hash(a) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (m->s[i].addr == a && !m->s[i].tomb) return &m->s[i];
    if (m->s[i].addr == 0 && !m->s[i].tomb) return NULL;
  }
}

static int grow(map_t *m) {
  size_t oc = m->cap, nc = oc ? oc * 2 : 1024;
  slot_t *old = m->s, *ns = calloc(nc, sizeof *ns);
  if (!ns) return -1;
  m->s = ns;
  m->cap = nc;
  m->used = 0;
  for (size_t i = 0; i < oc; i++)
    if (old[i].addr && !old[i].tomb) {
      size_t j = hash(old[i].addr) & (nc - 1);
      while (ns[j].addr) j = (j + 1) & (nc - 1);
      ns[j] = old[i];
      m->used++;
    }
  free(old);
  return 0;
}

static slot_t *insert(map_t *m, uint64_t a) {
  if ((m->used + 1) * 4 > m->cap * 3 && grow(m)) return NULL;
  size_t i = hash(a) & (m->cap - 1);
  while (m->s[i].addr && !m->s[i].tomb) i = (i + 1) & (m->cap - 1);
  if (!m->s[i].tomb) m->used++;
  m->s[i] = (slot_t){.addr = a};
  return &m->s[i];
}

static uint32_t take_id(map_t *m) { return m->nfree ? m->freeids[--m->nfree] : m->next_id++; }

static int give_id(map_t *m, uint32_t id) {
  if (m->nfree == m->capfree) {
    size_t c = m->capfree ? m->capfree * 2 : 1024;
    uint32_t *q = realloc(m->freeids, c * sizeof *q);
    if (!q) return -1;
    m->freeids = q;
    m->capfree = c;
  }
  m->freeids[m->nfree++] = id;
  return 0;
}

/* Parse a pointer as mtrace prints it: 0x..., or "(nil)" as 0. */
static bool parse_addr(char **p, uint64_t *v) {
  while (**p == ' ' || **p == '\t') (*p)++;
  if (!strncmp(*p, "(nil)", 5)) {
    *p += 5;
    *v = 0;
    return true;
  }
  if ((*p)[0] != '0' || ((*p)[1] != 'x' && (*p)[1] != 'X')) return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(*p, &end, 16);
  if (errno || end == *p + 2) return false;
  *p = end;
  *v = x;
  return true;
}

static bool at_end(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  return *p == 0;
}

int tb_import_mtrace(const char *in, const char *out, tb_trace_format_t fmt, tb_compress_t comp,
                     tb_import_stats_t *st, char *err, size_t errlen) {
  memset(st, 0, sizeof *st);
  FILE *f = fopen(in, "r");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", in, strerror(errno));
    return -1;
  }
  char prov[1024];
  snprintf(prov, sizeof prov, "imported by testbed import --from mtrace %s", in);
  tb_trace_writer_t *w = tb_trace_writer_open(out, fmt, comp, prov, err, errlen);
  if (!w) {
    fclose(f);
    return -1;
  }
  map_t m = {0};
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  bool started = false, pending_realloc = false;
  uint64_t realloc_old = 0;
  int rc = 0;
#define BAD(...)                                                                   \
  do {                                                                             \
    char msg_[256];                                                                \
    snprintf(msg_, sizeof msg_, __VA_ARGS__);                                      \
    snprintf(err, errlen, "%s:%llu: %s", in, (unsigned long long)st->lines, msg_); \
    rc = -1;                                                                       \
    goto done;                                                                     \
  } while (0)
#define EMIT(op_)                                              \
  do {                                                         \
    tb_op_t o_ = op_;                                          \
    if (tb_trace_write(w, 0, &o_)) BAD("writing %s failed", out); \
    st->ops++;                                                 \
  } while (0)
  while ((n = getline(&line, &cap, f)) > 0) {
    st->lines++;
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (at_end(p)) continue;
    if (p[0] == '=') {
      if (!strncmp(p, "= Start", 7) && at_end(p + 7)) {
        started = true;
        continue;
      }
      if (!strncmp(p, "= End", 5) && at_end(p + 5)) {
        if (pending_realloc) BAD("realloc '<' without its '>' line");
        started = false;
        continue;
      }
      BAD("unknown '=' line");
    }
    if (!started) BAD("operation outside '= Start' ... '= End' (not an mtrace log?)");
    if (p[0] == '@') { /* caller: "@ file:[0xaddr]" or "@ [0xaddr]": skip to the op */
      p++;
      while (*p == ' ') p++;
      while (*p && *p != ' ' && *p != '\t') p++;
      while (*p == ' ' || *p == '\t') p++;
    }
    char code = *p;
    if (!code || (p[1] != ' ' && p[1] != '\t')) BAD("malformed line (expected '+', '-', '<', '>' or '!' and an address)");
    p++;
    uint64_t addr, size = 0;
    if (!parse_addr(&p, &addr)) BAD("malformed address");
    if (code == '+' || code == '>' || code == '!') {
      while (*p == ' ' || *p == '\t') p++;
      char *end;
      errno = 0;
      size = strtoull(p, &end, 0);
      if (errno || end == p) BAD("malformed size");
      p = end;
    }
    if (!at_end(p)) BAD("extra text at the end of the line");
    if (pending_realloc && code != '>') BAD("realloc '<' not followed by its '>' line");
    switch (code) {
    case '+': {
      if (!addr) break; /* failed allocation */
      slot_t *s = find(&m, addr);
      if (s) { /* reuse of a live address: its free was not traced */
        EMIT(((tb_op_t){.code = TB_OP_FREE, .id = s->id}));
        if (give_id(&m, s->id)) BAD("out of memory");
        s->tomb = true;
        st->reused_live++;
      }
      if (!(s = insert(&m, addr))) BAD("out of memory");
      s->id = take_id(&m);
      s->size = size;
      EMIT(((tb_op_t){.code = TB_OP_MALLOC, .id = s->id, .arg = size}));
      break;
    }
    case '-': {
      if (!addr) break;
      slot_t *s = find(&m, addr);
      if (!s) {
        st->dropped_frees++;
        break;
      }
      EMIT(((tb_op_t){.code = TB_OP_FREE, .id = s->id}));
      if (give_id(&m, s->id)) BAD("out of memory");
      s->tomb = true;
      break;
    }
    case '<':
      pending_realloc = true;
      realloc_old = addr;
      break;
    case '>': {
      if (!pending_realloc) BAD("realloc '>' without its '<' line");
      pending_realloc = false;
      slot_t *s = find(&m, realloc_old);
      if (!addr) break; /* cannot happen in glibc's log ('!' says a failure) */
      if (!s) { /* the old block predates the log: a fresh object */
        st->dropped_frees++;
        slot_t *o = find(&m, addr);
        if (o) {
          EMIT(((tb_op_t){.code = TB_OP_FREE, .id = o->id}));
          if (give_id(&m, o->id)) BAD("out of memory");
          o->tomb = true;
          st->reused_live++;
        }
        if (!(s = insert(&m, addr))) BAD("out of memory");
        s->id = take_id(&m);
        s->size = size;
        EMIT(((tb_op_t){.code = TB_OP_MALLOC, .id = s->id, .arg = size}));
        break;
      }
      uint32_t id = s->id;
      if (size == 0) { /* realloc(p, 0) frees */
        EMIT(((tb_op_t){.code = TB_OP_FREE, .id = id}));
        if (give_id(&m, id)) BAD("out of memory");
        s->tomb = true;
        break;
      }
      if (addr != realloc_old) {
        slot_t *o = find(&m, addr);
        if (o) { /* new address still live for us: its free was lost */
          EMIT(((tb_op_t){.code = TB_OP_FREE, .id = o->id}));
          if (give_id(&m, o->id)) BAD("out of memory");
          o->tomb = true;
          st->reused_live++;
        }
        s = find(&m, realloc_old);
        s->tomb = true;
        if (!(s = insert(&m, addr))) BAD("out of memory");
        s->id = id;
      }
      s->size = size;
      EMIT(((tb_op_t){.code = TB_OP_REALLOC, .id = id, .arg = size}));
      break;
    }
    case '!':
      st->failed_reallocs++;
      break;
    default:
      BAD("unknown operation '%c'", code);
    }
  }
  if (ferror(f)) BAD("read error");
  if (pending_realloc) BAD("truncated: realloc '<' without its '>' line");
  if (st->lines == 0) {
    snprintf(err, errlen, "%s:1: empty file (not an mtrace log)", in);
    rc = -1;
  } else if (st->ops == 0) {
    snprintf(err, errlen, "%s:%llu: no allocations in the log", in, (unsigned long long)st->lines);
    rc = -1;
  }
done:
  free(line);
  fclose(f);
  free(m.s);
  free(m.freeids);
  if (rc) {
    tb_trace_writer_abort(w);
    return -1;
  }
  return tb_trace_writer_close(w, err, errlen);
}
