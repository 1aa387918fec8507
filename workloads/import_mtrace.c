/* import_mtrace.c: glibc mtrace log -> trace (see import.h): parses each
 * line (bounded: at most 4096 bytes, no NUL bytes), maps addresses to
 * object ids through the importers' shared map (idmap.h: freed ids are
 * reused), repairs what a partial log leaves inconsistent, and refuses
 * what the trace loader would (a size above 2^48 B). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idmap.h"
#include "import.h"

#define MAX_LINE 4096         /* longest log line (glibc's are under 100 bytes) */
#define MAX_SIZE (1ull << 48) /* the trace loader's largest size */

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool is_sep(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0; }

/* A whole number as mtrace prints it: 0x and hex digits, or decimal; no
 * sign, no overflow, followed by a blank or the end. */
static bool parse_u64(char **p, uint64_t *v) {
  char *s = *p;
  uint64_t x = 0;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s += 2;
    if (hexval(*s) < 0) return false;
    for (; hexval(*s) >= 0; s++) {
      if (x >> 60) return false;
      x = x << 4 | (uint64_t)hexval(*s);
    }
  } else {
    if (*s < '0' || *s > '9') return false;
    for (; *s >= '0' && *s <= '9'; s++) {
      unsigned d = (unsigned)(*s - '0');
      if (x > (UINT64_MAX - d) / 10) return false;
      x = x * 10 + d;
    }
  }
  if (!is_sep(*s)) return false;
  *p = s;
  *v = x;
  return true;
}

/* Parse a pointer as mtrace prints it: 0x..., or "(nil)" as 0. */
static bool parse_addr(char **p, uint64_t *v) {
  while (**p == ' ' || **p == '\t') (*p)++;
  if (!strncmp(*p, "(nil)", 5) && is_sep((*p)[5])) {
    *p += 5;
    *v = 0;
    return true;
  }
  if ((*p)[0] != '0' || ((*p)[1] != 'x' && (*p)[1] != 'X')) return false;
  return parse_u64(p, v);
}

static bool at_end(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  return *p == 0;
}

/* The word at p for a message: at most 24 bytes, unprintable ones as '?'. */
static const char *word(char *buf, const char *p) {
  size_t n = 0;
  while (n < 24 && !is_sep(p[n])) {
    buf[n] = p[n] >= 0x20 && p[n] < 0x7f ? p[n] : '?';
    n++;
  }
  buf[n] = 0;
  return buf;
}

/* One line into buf (NUL-terminated, newline kept): its length, 0 at the
 * end, -1 if longer than MAX_LINE, -2 if it holds a NUL byte. */
static long read_line(FILE *f, char *buf) {
  long n = 0;
  bool nul = false;
  int c;
  while ((c = getc_unlocked(f)) != EOF) {
    if (n == MAX_LINE) return -1;
    if (c == 0) nul = true;
    buf[n++] = (char)c;
    if (c == '\n') break;
  }
  buf[n] = 0;
  return nul ? -2 : n;
}

int tb_import_mtrace(const char *in, const char *out, tb_trace_format_t fmt, tb_compress_t comp,
                     tb_import_stats_t *st, char *err, size_t errlen) {
  memset(st, 0, sizeof *st);
  int fd = open(in, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat sb;
  if (fd < 0) {
    snprintf(err, errlen, "%s: cannot open: %s", in, strerror(errno));
    return 2;
  }
  if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
    snprintf(err, errlen, "%s: not a regular file (a FIFO, device or directory is not read)", in);
    close(fd);
    return 2;
  }
  FILE *f = fdopen(fd, "r");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", in, strerror(errno));
    close(fd);
    return 1;
  }
  char prov[1024];
  snprintf(prov, sizeof prov, "imported by testbed import --from mtrace %s", in);
  tb_trace_writer_t *w = tb_trace_writer_open(out, fmt, comp, prov, err, errlen);
  if (!w) {
    fclose(f);
    return 1;
  }
  tb_idmap_t m = {0};
  char *line = malloc(MAX_LINE + 1);
  long n;
  bool started = false, pending_realloc = false;
  uint64_t realloc_old = 0;
  int rc = 0;
  char wb[32];
#define FAIL(rc_, ...)                                                             \
  do {                                                                             \
    char msg_[256];                                                                \
    snprintf(msg_, sizeof msg_, __VA_ARGS__);                                      \
    snprintf(err, errlen, "%s:%llu: %s", in, (unsigned long long)st->lines, msg_); \
    rc = rc_;                                                                      \
    goto done;                                                                     \
  } while (0)
#define BAD(...) FAIL(2, __VA_ARGS__)
#define EMIT(op_)                                                  \
  do {                                                             \
    tb_op_t o_ = op_;                                              \
    if (tb_trace_write(w, 0, &o_)) FAIL(1, "writing %s failed", out); \
    st->ops++;                                                     \
  } while (0)
/* The object at address a is freed (it is live). */
#define FREE_AT(a_)                                         \
  do {                                                      \
    uint32_t fid_;                                          \
    if (tb_idmap_remove(&m, a_, &fid_) < 0) FAIL(1, "out of memory"); \
    EMIT(((tb_op_t){.code = TB_OP_FREE, .id = fid_}));      \
  } while (0)
/* A new object at address a (a live one there is freed first: its free was not traced). */
#define NEW_AT(a_, id_)                                                     \
  do {                                                                      \
    uint32_t old_;                                                          \
    if (tb_idmap_get(&m, a_, &old_)) {                                      \
      FREE_AT(a_);                                                          \
      st->reused_live++;                                                    \
    }                                                                       \
    if (tb_idmap_add(&m, a_, &(id_))) FAIL(1, "out of memory (or ids exhausted)"); \
  } while (0)
  if (!line) FAIL(1, "out of memory");
  while ((n = read_line(f, line)) != 0) {
    st->lines++;
    if (n == -1) BAD("line longer than %d bytes (not an mtrace log?)", MAX_LINE);
    if (n == -2) BAD("NUL byte in the line (not an mtrace log?)");
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
    while (*p == ' ' || *p == '\t') p++;
    if (!parse_addr(&p, &addr)) BAD("malformed address '%s' (expected 0x and hex digits, or (nil))", word(wb, p));
    if (code == '+' || code == '>' || code == '!') {
      while (*p == ' ' || *p == '\t') p++;
      if (!parse_u64(&p, &size)) BAD("malformed size '%s' (expected a whole number, 0x hex or decimal)", word(wb, p));
      /* what the trace would carry must be what the loader accepts */
      if (size > MAX_SIZE && addr && code != '!')
        BAD("size %llu too large (a trace allows at most 2^48 B)", (unsigned long long)size);
    }
    if (!at_end(p)) BAD("extra text at the end of the line");
    if (pending_realloc && code != '>') BAD("realloc '<' not followed by its '>' line");
    uint32_t id;
    switch (code) {
    case '+': {
      if (!addr) break; /* failed allocation */
      NEW_AT(addr, id);
      EMIT(((tb_op_t){.code = TB_OP_MALLOC, .id = id, .arg = size}));
      break;
    }
    case '-': {
      if (!addr) break;
      if (!tb_idmap_get(&m, addr, &id)) {
        st->dropped_frees++;
        break;
      }
      FREE_AT(addr);
      break;
    }
    case '<':
      pending_realloc = true;
      realloc_old = addr;
      break;
    case '>': {
      if (!pending_realloc) BAD("realloc '>' without its '<' line");
      pending_realloc = false;
      if (!addr) break; /* cannot happen in glibc's log ('!' says a failure) */
      if (!realloc_old || !tb_idmap_get(&m, realloc_old, &id)) { /* the old block predates the log: a fresh object */
        if (realloc_old) st->dropped_frees++;
        NEW_AT(addr, id);
        EMIT(((tb_op_t){.code = TB_OP_MALLOC, .id = id, .arg = size}));
        break;
      }
      if (size == 0) { /* realloc(p, 0) frees */
        FREE_AT(realloc_old);
        break;
      }
      if (addr != realloc_old) {
        uint32_t o;
        if (tb_idmap_get(&m, addr, &o)) { /* new address still live for us: its free was lost */
          FREE_AT(addr);
          st->reused_live++;
        }
        if (tb_idmap_move(&m, realloc_old, addr)) FAIL(1, "out of memory");
      }
      EMIT(((tb_op_t){.code = TB_OP_REALLOC, .id = id, .arg = size}));
      break;
    }
    case '!':
      st->failed_reallocs++;
      break;
    default:
      BAD("unknown operation '%c'", code >= 0x20 && code < 0x7f ? code : '?');
    }
  }
  if (ferror(f)) FAIL(1, "read error");
  if (pending_realloc) BAD("truncated: realloc '<' without its '>' line");
  if (st->lines == 0) {
    snprintf(err, errlen, "%s:1: empty file (not an mtrace log)", in);
    rc = 2;
  } else if (st->ops == 0) {
    snprintf(err, errlen, "%s:%llu: no allocations in the log", in, (unsigned long long)st->lines);
    rc = 2;
  }
done:
  free(line);
  fclose(f);
  tb_idmap_free(&m);
  if (rc) {
    tb_trace_writer_abort(w);
    return rc;
  }
  return tb_trace_writer_close(w, err, errlen) ? 1 : 0;
}
