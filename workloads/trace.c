/* trace.c: reading and writing workload traces (see trace.h for the
 * objects, workloads/README.md for the file formats).
 *
 * Writer: ops in global order are encoded (text lines or binary varint
 * records) into a 64 KiB buffer that is flushed to a sink (plain file, gzip
 * via zlib, zstd via libzstd) under a temporary name; close() renames it.
 *
 * Loader: the file is read in chunks and decompressed as it is parsed
 * (format from the first bytes), each op validated against the state of
 * its object, split into one stream per thread, and a TB_OP_SYNC is
 * inserted before an op whose object was last used by another thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "trace.h"

#ifdef TB_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef TB_HAVE_ZSTD
#include <zstd.h>
#endif

static const char text_magic[] = "testbed-trace 1";
static const unsigned char bin_magic[8] = {'T', 'B', 'T', 'R', 'A', 'C', 'E', '1'};

static const char *const op_names[] = {NULL, "malloc", "calloc", "aligned", "realloc", "free", "read", "write", "sync"};

/* Largest size a trace may ask for (2^48 B): beyond, any allocator fails and
 * the value is more likely a corrupt record. */
#define TB_TRACE_MAX_SIZE (1ull << 48)

/* ---- writer ------------------------------------------------------------------ */

struct tb_trace_writer_s {
  char *path;
  tb_atomic_t out; /* the file under its temporary name (atomic_file.h) */
  FILE *f;
  tb_trace_format_t fmt;
  tb_compress_t comp;
#ifdef TB_HAVE_ZLIB
  gzFile gz;
#endif
#ifdef TB_HAVE_ZSTD
  ZSTD_CCtx *zc;
  void *zout;
  size_t zoutlen;
#endif
  unsigned char buf[1 << 16];
  size_t len;
  uint32_t prev_thread;
  uint32_t prev_id;
  uint64_t count;
  int failed; /* errno of the first failure, 0 while fine */
};

static void w_sink(tb_trace_writer_t *w, const void *p, size_t n, int end) {
  if (w->failed) return;
  switch (w->comp) {
  case TB_COMPRESS_NONE:
    if (n && fwrite(p, 1, n, w->f) != n) w->failed = errno ? errno : EIO;
    break;
#ifdef TB_HAVE_ZLIB
  case TB_COMPRESS_GZIP:
    if (n && gzwrite(w->gz, p, (unsigned)n) != (int)n) w->failed = EIO;
    break;
#endif
#ifdef TB_HAVE_ZSTD
  case TB_COMPRESS_ZSTD: {
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
      ZSTD_outBuffer out = {w->zout, w->zoutlen, 0};
      size_t r = ZSTD_compressStream2(w->zc, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(r)) {
        w->failed = EIO;
        return;
      }
      if (out.pos && fwrite(w->zout, 1, out.pos, w->f) != out.pos) {
        w->failed = errno ? errno : EIO;
        return;
      }
      if (end ? r == 0 : in.pos == in.size) break;
    }
    break;
  }
#endif
  default:
    w->failed = ENOTSUP;
  }
}

static void w_flush(tb_trace_writer_t *w) {
  w_sink(w, w->buf, w->len, 0);
  w->len = 0;
}

static void w_bytes(tb_trace_writer_t *w, const void *p, size_t n) {
  const unsigned char *c = p;
  while (n) {
    if (w->len == sizeof w->buf) w_flush(w);
    size_t k = sizeof w->buf - w->len;
    if (k > n) k = n;
    memcpy(w->buf + w->len, c, k);
    w->len += k;
    c += k;
    n -= k;
  }
}

static inline void w_varint(tb_trace_writer_t *w, uint64_t v) {
  unsigned char b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  b[n++] = (unsigned char)v;
  w_bytes(w, b, n);
}

static void w_printf(tb_trace_writer_t *w, const char *fmt, ...) {
  char line[160];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0) w_bytes(w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

tb_trace_writer_t *tb_trace_writer_open(const char *path, tb_trace_format_t fmt, tb_compress_t comp,
                                        const char *provenance, char *err, size_t errlen) {
  if (fmt != TB_TRACE_TEXT && fmt != TB_TRACE_BINARY) {
    snprintf(err, errlen, "%s: unknown trace format %d", path, (int)fmt);
    return NULL;
  }
#ifndef TB_HAVE_ZLIB
  if (comp == TB_COMPRESS_GZIP) {
    snprintf(err, errlen, "%s: gzip support was not built (zlib missing)", path);
    return NULL;
  }
#endif
#ifndef TB_HAVE_ZSTD
  if (comp == TB_COMPRESS_ZSTD) {
    snprintf(err, errlen, "%s: zstd support was not built (libzstd missing)", path);
    return NULL;
  }
#endif
  if (comp != TB_COMPRESS_NONE && comp != TB_COMPRESS_GZIP && comp != TB_COMPRESS_ZSTD) {
    snprintf(err, errlen, "%s: unknown compression %d", path, (int)comp);
    return NULL;
  }
  tb_trace_writer_t *w = calloc(1, sizeof *w);
  if (!w) {
    snprintf(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  w->fmt = fmt;
  w->comp = comp;
  w->path = strdup(path);
  if (!w->path) {
    free(w);
    snprintf(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  /* Under a temporary name, renamed into place by close only (atomic_file.h). */
  w->f = tb_atomic_open(path, &w->out);
  if (!w->f) {
    snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    free(w->path);
    free(w);
    return NULL;
  }
  int fd = fileno(w->f);
#ifdef TB_HAVE_ZLIB
  if (w->f && comp == TB_COMPRESS_GZIP) w->gz = gzdopen(dup(fd), "wb6");
#endif
#ifdef TB_HAVE_ZSTD
  if (w->f && comp == TB_COMPRESS_ZSTD) {
    w->zc = ZSTD_createCCtx();
    w->zoutlen = ZSTD_CStreamOutSize();
    w->zout = malloc(w->zoutlen);
    if (w->zc) ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, 9);
  }
#endif
  bool ok = w->f != NULL;
#ifdef TB_HAVE_ZLIB
  if (comp == TB_COMPRESS_GZIP) ok = ok && w->gz;
#endif
#ifdef TB_HAVE_ZSTD
  if (comp == TB_COMPRESS_ZSTD) ok = ok && w->zc && w->zout;
#endif
  if (!ok) {
    snprintf(err, errlen, "%s: cannot open the output stream", path);
    tb_trace_writer_abort(w);
    return NULL;
  }
  /* Header: magic, then the provenance (text: one comment per line). */
  if (fmt == TB_TRACE_TEXT) {
    w_printf(w, "%s\n", text_magic);
    const char *p = provenance;
    while (p && *p) {
      const char *e = strchr(p, '\n');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      w_bytes(w, "# ", 2);
      w_bytes(w, p, n);
      w_bytes(w, "\n", 1);
      p += n + (e ? 1 : 0);
    }
  } else {
    w_bytes(w, bin_magic, sizeof bin_magic);
    /* Canonical provenance: lines, each ending in a newline (as text keeps it). */
    size_t n = provenance ? strlen(provenance) : 0;
    bool nl = n && provenance[n - 1] != '\n';
    w_varint(w, n + nl);
    w_bytes(w, provenance, n);
    if (nl) w_bytes(w, "\n", 1);
  }
  return w;
}

int tb_trace_write(tb_trace_writer_t *w, uint32_t thread, const tb_op_t *op) {
  if (w->failed) return -1;
  if (op->code < TB_OP_MALLOC || op->code > TB_OP_WRITE) {
    w->failed = EINVAL; /* syncs are the loader's business, never on disk */
    return -1;
  }
  w->count++;
  if (w->fmt == TB_TRACE_TEXT) {
    switch (op->code) {
    case TB_OP_ALIGNED:
      w_printf(w, "%u aligned %u %llu %llu\n", thread, op->id, (unsigned long long)op->arg,
               op->align < 64 ? 1ull << op->align : 0ull);
      break;
    case TB_OP_FREE:
      w_printf(w, "%u free %u\n", thread, op->id);
      break;
    case TB_OP_READ:
    case TB_OP_WRITE:
      w_printf(w, "%u %s %u %u %u\n", thread, op_names[op->code], op->id, tb_touch_offset(op), tb_touch_len(op));
      break;
    default:
      w_printf(w, "%u %s %u %llu\n", thread, op_names[op->code], op->id, (unsigned long long)op->arg);
    }
  } else {
    unsigned char h = op->code;
    if (thread != w->prev_thread) h |= 0x10;
    w_bytes(w, &h, 1);
    if (thread != w->prev_thread) w_varint(w, thread);
    w->prev_thread = thread;
    int64_t d = (int64_t)op->id - (int64_t)w->prev_id;
    w_varint(w, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63)); /* zigzag */
    w->prev_id = op->id;
    switch (op->code) {
    case TB_OP_ALIGNED:
      w_varint(w, op->arg);
      w_bytes(w, &op->align, 1);
      break;
    case TB_OP_FREE:
      break;
    case TB_OP_READ:
    case TB_OP_WRITE:
      w_varint(w, tb_touch_offset(op));
      w_varint(w, tb_touch_len(op));
      break;
    default:
      w_varint(w, op->arg);
    }
  }
  return w->failed ? -1 : 0;
}

static void w_release(tb_trace_writer_t *w) {
#ifdef TB_HAVE_ZSTD
  ZSTD_freeCCtx(w->zc);
  free(w->zout);
#endif
  free(w->path);
  free(w);
}

/* The end of the trace, the streams closed, the file finished under its
 * temporary name (kept in *held, or committed when held is NULL). */
static int w_finish(tb_trace_writer_t *w, tb_atomic_t *held, char *err, size_t errlen) {
  if (w->fmt == TB_TRACE_BINARY && !w->failed) {
    unsigned char end = 0;
    w_bytes(w, &end, 1);
    w_varint(w, w->count); /* lets the loader tell a whole file from a cut one */
  }
  w_flush(w);
  if (w->comp == TB_COMPRESS_ZSTD) w_sink(w, NULL, 0, 1);
#ifdef TB_HAVE_ZLIB
  if (w->gz && gzclose(w->gz) != Z_OK && !w->failed) w->failed = EIO;
  w->gz = NULL;
#endif
  w->f = NULL;
  if (w->failed)
    tb_atomic_abort(&w->out);
  else if ((held ? tb_atomic_finish(&w->out) : tb_atomic_commit(&w->out)) != 0)
    w->failed = errno ? errno : EIO;
  if (w->failed) {
    snprintf(err, errlen, "%s: write failed: %s", w->path,
             w->failed == EINVAL ? "invalid op given to the writer" : strerror(w->failed));
    w_release(w);
    return -1;
  }
  if (held) *held = w->out;
  w_release(w);
  return 0;
}

int tb_trace_writer_close(tb_trace_writer_t *w, char *err, size_t errlen) { return w_finish(w, NULL, err, errlen); }

int tb_trace_writer_finish(tb_trace_writer_t *w, tb_atomic_t *held, char *err, size_t errlen) {
  return w_finish(w, held, err, errlen);
}

void tb_trace_writer_abort(tb_trace_writer_t *w) {
  if (!w) return;
#ifdef TB_HAVE_ZLIB
  if (w->gz) gzclose(w->gz);
#endif
  w->f = NULL;
  tb_atomic_abort(&w->out); /* closes the stream, removes the temporary */
  w_release(w);
}

/* ---- reading: a window over the content -------------------------------------
 *
 * The input is read in chunks and decompressed as it is parsed, into a
 * window that holds at most a line (text, TB_TRACE_MAX_LINE) or a record
 * (binary) beyond what the parser has consumed, so memory is bounded by the
 * decoded trace, not by the file, and content that is no trace stops at its
 * first bytes (/dev/zero-like data, a compressed bomb). Only regular files
 * are read: a FIFO, a device or a directory is refused before any read, and
 * at most st_size bytes are read (a file that grows meanwhile is cut there,
 * and then found truncated). */

#define RD_CHUNK ((size_t)1 << 16)
#define TB_TRACE_MAX_LINE 4096         /* longest text line, newline excluded */
#define TB_TRACE_MAX_PROV ((size_t)1 << 20) /* most provenance bytes in a trace */

typedef struct {
  const char *path;
  int fd;                   /* -1: from memory */
  const unsigned char *mem; /* the memory input and what of it is unread */
  size_t memleft;
  uint64_t fileleft;        /* bytes of the file still to read (st_size bound) */
  tb_compress_t comp;
  unsigned char *in;        /* raw (compressed) bytes: in[inpos..inlen) unread */
  size_t inpos, inlen;
  bool in_eof;
#ifdef TB_HAVE_ZLIB
  z_stream z;
  bool zinit;
#endif
#ifdef TB_HAVE_ZSTD
  ZSTD_DCtx *zd;
  size_t zr; /* last ZSTD_decompressStream result: 0 at the end of a frame */
#endif
  unsigned char *w; /* content window: w[pos..len) not yet consumed */
  size_t pos, len, cap;
  bool eof; /* no content beyond w[len) */
  char *err;
  size_t errlen;
} rd_t;

static int rd_fail(rd_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_fail(rd_t *r, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(r->err, r->errlen, "%s: %s", r->path, msg);
  return -1;
}

/* Raw bytes into dst (at most n): the count, 0 at the end, -1 on error. */
static ssize_t rd_raw(rd_t *r, unsigned char *dst, size_t n) {
  if (r->fd < 0) {
    if (n > r->memleft) n = r->memleft;
    memcpy(dst, r->mem, n);
    r->mem += n;
    r->memleft -= n;
    return (ssize_t)n;
  }
  if (n > r->fileleft) n = (size_t)r->fileleft;
  for (;;) {
    ssize_t k = n ? read(r->fd, dst, n) : 0;
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return rd_fail(r, "read error: %s", strerror(errno));
    r->fileleft -= (uint64_t)k;
    return k;
  }
}

/* Compressed input: refill r->in when it is used up. */
static int rd_in(rd_t *r) {
  if (r->inpos < r->inlen || r->in_eof) return 0;
  ssize_t k = rd_raw(r, r->in, RD_CHUNK);
  if (k < 0) return -1;
  r->inpos = 0;
  r->inlen = (size_t)k;
  if (k == 0) r->in_eof = true;
  return 0;
}

/* Make at least `want` unconsumed content bytes available (fewer only at
 * the end of the content). */
static int rd_fill(rd_t *r, size_t want) {
  while (r->len - r->pos < want && !r->eof) {
    if (r->pos && r->cap - r->len < RD_CHUNK) { /* move the unconsumed part to the front */
      memmove(r->w, r->w + r->pos, r->len - r->pos);
      r->len -= r->pos;
      r->pos = 0;
    }
    size_t need = (want > RD_CHUNK ? want : RD_CHUNK) + r->len;
    if (r->cap < need) {
      size_t c = r->cap ? r->cap : RD_CHUNK;
      while (c < need) c *= 2;
      unsigned char *q = realloc(r->w, c);
      if (!q) return rd_fail(r, "out of memory");
      r->w = q;
      r->cap = c;
    }
    unsigned char *dst = r->w + r->len;
    size_t room = r->cap - r->len;
    switch (r->comp) {
    case TB_COMPRESS_NONE: {
      if (r->inpos < r->inlen) { /* the bytes read to detect the compression */
        size_t k = r->inlen - r->inpos < room ? r->inlen - r->inpos : room;
        memcpy(dst, r->in + r->inpos, k);
        r->inpos += k;
        r->len += k;
        break;
      }
      ssize_t k = rd_raw(r, dst, room);
      if (k < 0) return -1;
      if (k == 0) r->eof = true;
      r->len += (size_t)k;
      break;
    }
#ifdef TB_HAVE_ZLIB
    case TB_COMPRESS_GZIP: {
      if (rd_in(r)) return -1;
      r->z.next_in = r->in + r->inpos;
      r->z.avail_in = (uInt)(r->inlen - r->inpos);
      r->z.next_out = dst;
      r->z.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
      int z = inflate(&r->z, Z_NO_FLUSH);
      r->len += (size_t)(r->z.next_out - dst);
      r->inpos = (size_t)(r->z.next_in - r->in);
      if (z == Z_STREAM_END) {
        if (rd_in(r)) return -1;
        if (r->inpos == r->inlen) r->eof = true; /* the last member ended */
        else if (inflateReset(&r->z) != Z_OK) return rd_fail(r, "gzip data corrupt");
      } else if (z == Z_BUF_ERROR && r->in_eof && r->inpos == r->inlen) {
        return rd_fail(r, "gzip data truncated");
      } else if (z != Z_OK && z != Z_BUF_ERROR) {
        return rd_fail(r, "gzip data corrupt");
      }
      break;
    }
#endif
#ifdef TB_HAVE_ZSTD
    case TB_COMPRESS_ZSTD: {
      if (rd_in(r)) return -1;
      if (r->inpos == r->inlen && r->zr == 0) { /* the last frame ended */
        r->eof = true;
        break;
      }
      ZSTD_inBuffer in = {r->in, r->inlen, r->inpos};
      ZSTD_outBuffer out = {dst, room, 0};
      r->zr = ZSTD_decompressStream(r->zd, &out, &in);
      if (ZSTD_isError(r->zr)) return rd_fail(r, "zstd data %s", ZSTD_getErrorName(r->zr));
      if (out.pos == 0 && in.pos == in.size && r->in_eof && r->zr != 0) return rd_fail(r, "zstd data truncated");
      r->inpos = in.pos;
      r->len += out.pos;
      break;
    }
#endif
    default:
      return rd_fail(r, "unsupported compression");
    }
  }
  return 0;
}

/* Open path (or the memory input when path's data is given), detect the
 * compression from the first bytes. */
static int rd_open(rd_t *r, const char *path, const void *data, size_t len, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->fd = -1;
  r->err = err;
  r->errlen = errlen;
  if (data) {
    r->mem = data;
    r->memleft = len;
  } else {
    r->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (r->fd < 0) return rd_fail(r, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st)) return rd_fail(r, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
      return rd_fail(r, "not a regular file (%s): a trace is read from a file",
                     S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO or pipe"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a socket or other special file");
    r->fileleft = (uint64_t)st.st_size;
  }
  r->in = malloc(RD_CHUNK);
  if (!r->in) return rd_fail(r, "out of memory");
  /* The first bytes tell the compression. */
  while (r->inlen < 4 && !r->in_eof) {
    ssize_t k = rd_raw(r, r->in + r->inlen, RD_CHUNK - r->inlen);
    if (k < 0) return -1;
    if (k == 0) r->in_eof = true;
    r->inlen += (size_t)k;
  }
  const unsigned char *b = r->in;
  if (r->inlen >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
#ifdef TB_HAVE_ZLIB
    r->comp = TB_COMPRESS_GZIP;
    if (inflateInit2(&r->z, 15 + 16) != Z_OK) return rd_fail(r, "out of memory");
    r->zinit = true;
#else
    return rd_fail(r, "gzip-compressed, but gzip support was not built");
#endif
  } else if (r->inlen >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
#ifdef TB_HAVE_ZSTD
    r->comp = TB_COMPRESS_ZSTD;
    r->zd = ZSTD_createDCtx();
    if (!r->zd) return rd_fail(r, "out of memory");
    r->zr = 1;
#else
    return rd_fail(r, "zstd-compressed, but zstd support was not built");
#endif
  }
  return 0;
}

static void rd_close(rd_t *r) {
  if (r->fd >= 0) close(r->fd);
#ifdef TB_HAVE_ZLIB
  if (r->zinit) inflateEnd(&r->z);
#endif
#ifdef TB_HAVE_ZSTD
  ZSTD_freeDCtx(r->zd);
#endif
  free(r->in);
  free(r->w);
}

/* ---- loader: validation, streams, syncs --------------------------------------- */

#define TB_TRACE_MAX_THREADS 1024
/* Ids are dense: an allocation names an id at most this much above the
 * number of allocations before it (every source takes a freed id or the
 * next new one), so the loader's and the replay's per-id arrays are
 * bounded by the trace's length, not by a stray large id. */
#define TB_TRACE_ID_SLACK 65536u

typedef struct {
  uint64_t size;     /* requested size while live */
  size_t last_idx;   /* index in last_thread's stream of the last op on it */
  uint32_t last_thread;
  uint8_t live;
  uint8_t used; /* some op has named it */
} obj_state_t;

typedef struct {
  const char *path;
  bool text;
  tb_trace_t *t;
  obj_state_t *obj;
  size_t objcap;
  size_t *cap;          /* cap[t]: capacity of t->ops[t] */
  uint64_t *synced[TB_TRACE_MAX_THREADS]; /* synced[t][u]: 1 + u's op index t already waited for */
  uint64_t live_bytes;
  size_t runcap;
  uint64_t where; /* line (text) or op number (binary) of the op being loaded */
  uint64_t allocs; /* allocating ops so far (ids are dense: see TB_TRACE_ID_SLACK) */
  char *err;
  size_t errlen;
} loader_t;

static int lerr(loader_t *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lerr(loader_t *L, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (L->text)
    snprintf(L->err, L->errlen, "%s:%llu: %s", L->path, (unsigned long long)L->where, msg);
  else
    snprintf(L->err, L->errlen, "%s: op %llu: %s", L->path, (unsigned long long)L->where, msg);
  return -1;
}

static int push(loader_t *L, uint32_t th, const tb_op_t *op) {
  tb_trace_t *t = L->t;
  if (t->nops[th] == L->cap[th]) {
    size_t c = L->cap[th] ? L->cap[th] * 2 : 1024;
    tb_op_t *q = realloc(t->ops[th], c * sizeof *q);
    if (!q) return lerr(L, "out of memory");
    t->ops[th] = q;
    L->cap[th] = c;
  }
  t->ops[th][t->nops[th]++] = *op;
  return 0;
}

static int add_thread(loader_t *L, uint32_t th) {
  tb_trace_t *t = L->t;
  if (th >= TB_TRACE_MAX_THREADS) return lerr(L, "thread number %u too large (at most %d threads)", th, TB_TRACE_MAX_THREADS - 1);
  if (th < t->nthreads) return 0;
  uint32_t n = th + 1;
  tb_op_t **ops = realloc(t->ops, n * sizeof *ops);
  if (ops) t->ops = ops;
  size_t *nops = realloc(t->nops, n * sizeof *nops);
  if (nops) t->nops = nops;
  size_t *cap = realloc(L->cap, n * sizeof *cap);
  if (cap) L->cap = cap;
  if (!ops || !nops || !cap) return lerr(L, "out of memory");
  for (uint32_t i = t->nthreads; i < n; i++) {
    t->ops[i] = NULL;
    t->nops[i] = 0;
    L->cap[i] = 0;
  }
  t->nthreads = n;
  return 0;
}

/* Validate one op of thread th against its object's state, then append it
 * (after a sync when the object was last used by another thread). */
static int add_op(loader_t *L, uint32_t th, tb_op_t op) {
  tb_trace_t *t = L->t;
  if (add_thread(L, th)) return -1;
  if (op.id == UINT32_MAX) return lerr(L, "object id %u too large", op.id);
  bool alloc = op.code == TB_OP_MALLOC || op.code == TB_OP_CALLOC || op.code == TB_OP_ALIGNED;
  if (op.id >= L->objcap && !alloc) /* never named by an allocation: not live */
    return lerr(L, "%s of id %u, which is not live", op.code <= TB_OP_WRITE ? op_names[op.code] : "op", op.id);
  if (alloc && op.id > L->allocs + TB_TRACE_ID_SLACK)
    return lerr(L, "%s of id %u: ids must be dense (at most %u more than the %llu allocations before it)",
                op_names[op.code], op.id, TB_TRACE_ID_SLACK, (unsigned long long)L->allocs);
  if (alloc) L->allocs++;
  if (op.id >= L->objcap) {
    size_t c = L->objcap ? L->objcap : 1024;
    while (c <= op.id) c *= 2;
    obj_state_t *q = realloc(L->obj, c * sizeof *q);
    if (!q) return lerr(L, "out of memory");
    memset(q + L->objcap, 0, (c - L->objcap) * sizeof *q);
    L->obj = q;
    L->objcap = c;
  }
  obj_state_t *o = &L->obj[op.id];
  const char *name = op_names[op.code];
  switch (op.code) {
  case TB_OP_MALLOC:
  case TB_OP_CALLOC:
  case TB_OP_ALIGNED:
    if (o->live) return lerr(L, "%s of id %u, which is still live (id reuse while live)", name, op.id);
    if (op.arg > TB_TRACE_MAX_SIZE) return lerr(L, "%s size %llu too large", name, (unsigned long long)op.arg);
    if (op.code == TB_OP_ALIGNED && (op.align < 4 || op.align > 30))
      return lerr(L, "alignment 2^%u out of range (16 B to 1 GiB)", op.align);
    o->live = 1;
    o->size = op.arg;
    L->live_bytes += op.arg;
    break;
  case TB_OP_REALLOC:
    if (!o->live) return lerr(L, "realloc of id %u, which is not live", op.id);
    if (op.arg == 0) return lerr(L, "realloc of id %u to size 0 (write a free)", op.id);
    if (op.arg > TB_TRACE_MAX_SIZE) return lerr(L, "realloc size %llu too large", (unsigned long long)op.arg);
    L->live_bytes += op.arg - o->size;
    o->size = op.arg;
    break;
  case TB_OP_FREE:
    if (!o->live) return lerr(L, "free of id %u, which is not live", op.id);
    o->live = 0;
    L->live_bytes -= o->size;
    break;
  case TB_OP_READ:
  case TB_OP_WRITE:
    if (!o->live) return lerr(L, "%s of id %u, which is not live", name, op.id);
    if ((uint64_t)tb_touch_offset(&op) + tb_touch_len(&op) > o->size) {
      if (tb_touch_len(&op) == 0) /* an empty touch still names a place in the object */
        return lerr(L, "%s of 0 bytes at offset %u of id %u, beyond its size %llu", name, tb_touch_offset(&op), op.id,
                    (unsigned long long)o->size);
      return lerr(L, "%s of bytes %u..%llu of id %u, beyond its size %llu (bytes 0..%llu)", name, tb_touch_offset(&op),
                  (unsigned long long)tb_touch_offset(&op) + tb_touch_len(&op) - 1, op.id, (unsigned long long)o->size,
                  (unsigned long long)o->size - 1);
    }
    break;
  default:
    return lerr(L, "unknown operation code %u", op.code);
  }
  bool peak = L->live_bytes > t->peak_live_bytes;
  if (peak) t->peak_live_bytes = L->live_bytes;
  if (o->used && o->last_thread != th) {
    uint32_t u = o->last_thread;
    if (!L->synced[th]) {
      L->synced[th] = calloc(TB_TRACE_MAX_THREADS, sizeof(uint64_t));
      if (!L->synced[th]) return lerr(L, "out of memory");
    }
    if (L->synced[th][u] < o->last_idx + 1) {
      tb_op_t s = {.code = TB_OP_SYNC, .id = u, .arg = o->last_idx};
      if (push(L, th, &s)) return -1;
      L->synced[th][u] = o->last_idx + 1;
      t->nsyncs++;
    }
  }
  if (push(L, th, &op)) return -1;
  if (peak) {
    t->peak_live_thread = th;
    t->peak_live_op = t->nops[th];
  }
  if (t->nruns == 0 || t->run_thread[t->nruns - 1] != th) {
    if (t->nruns == L->runcap) {
      size_t c = L->runcap ? L->runcap * 2 : 64;
      uint32_t *a = realloc(t->run_thread, c * sizeof *a);
      if (a) t->run_thread = a;
      uint32_t *b = realloc(t->run_count, c * sizeof *b);
      if (b) t->run_count = b;
      if (!a || !b) return lerr(L, "out of memory");
      L->runcap = c;
    }
    t->run_thread[t->nruns] = th;
    t->run_count[t->nruns++] = 0;
  }
  if (t->run_count[t->nruns - 1] == UINT32_MAX) return lerr(L, "run of one thread too long");
  t->run_count[t->nruns - 1]++;
  o->used = 1;
  o->last_thread = th;
  o->last_idx = t->nops[th] - 1;
  if (op.id >= t->nobjects) t->nobjects = op.id + 1;
  t->total_ops++;
  return 0;
}

/* Provenance: append one comment line. */
static int add_prov(loader_t *L, const char *s, size_t n) {
  tb_trace_t *t = L->t;
  size_t old = t->provenance ? strlen(t->provenance) : 0;
  if (old + n + 1 > TB_TRACE_MAX_PROV) return lerr(L, "provenance longer than %zu bytes (not a trace?)", TB_TRACE_MAX_PROV);
  if (memchr(s, 0, n)) return lerr(L, "NUL byte in the provenance (not a trace?)");
  char *p = realloc(t->provenance, old + n + 2);
  if (!p) return lerr(L, "out of memory");
  memcpy(p + old, s, n);
  p[old + n] = '\n';
  p[old + n + 1] = 0;
  t->provenance = p;
  return 0;
}

/* s[0..n) for a message: at most 40 bytes, anything unprintable as '?'. */
static const char *printable(char *buf, const char *s, size_t n) {
  if (n > 40) n = 40;
  for (size_t i = 0; i < n; i++) buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
  buf[n] = 0;
  return buf;
}

static bool parse_num(const char **s, const char *end, uint64_t *v) {
  const char *p = *s;
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  if (p == end || *p < '0' || *p > '9') return false;
  uint64_t x = 0;
  while (p < end && *p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (x > (UINT64_MAX - d) / 10) return false;
    x = x * 10 + d;
    p++;
  }
  if (p < end && *p != ' ' && *p != '\t') return false;
  *s = p;
  *v = x;
  return true;
}

/* Whether the window's first bytes can begin a trace: the binary magic, or
 * as much of the text header as is there. */
static bool header_possible(const unsigned char *p, size_t n) {
  if (n >= sizeof bin_magic && !memcmp(p, bin_magic, sizeof bin_magic)) return true;
  size_t k = strlen(text_magic);
  return !memcmp(p, text_magic, n < k ? n : k);
}

static int parse_text(loader_t *L, rd_t *r) {
  L->where = 0;
  bool header = false;
  for (;;) {
    /* The next line: w[pos..e), without its newline. */
    size_t scanned = 0, e;
    bool nl;
    for (;;) {
      size_t avail = r->len - r->pos;
      const unsigned char *c = memchr(r->w + r->pos + scanned, '\n', avail - scanned);
      if (c) {
        e = (size_t)(c - r->w);
        nl = true;
        break;
      }
      if (!header && !header_possible(r->w + r->pos, avail)) {
        L->where = 1;
        return lerr(L, "not a trace (first line must be '%s')", text_magic);
      }
      if (r->eof) {
        e = r->len;
        nl = false;
        break;
      }
      if (avail > TB_TRACE_MAX_LINE) {
        L->where++;
        return lerr(L, "line longer than %d bytes", TB_TRACE_MAX_LINE);
      }
      scanned = avail;
      if (rd_fill(r, avail + 1)) return -1;
    }
    if (!nl && e == r->pos) break; /* end of the content */
    L->where++;
    const char *p = (const char *)r->w + r->pos, *le = (const char *)r->w + e;
    r->pos = e + nl;
    if (le - p > TB_TRACE_MAX_LINE) return lerr(L, "line longer than %d bytes", TB_TRACE_MAX_LINE);
    if (le > p && le[-1] == '\r') le--;
    if (!header) {
      if ((size_t)(le - p) != strlen(text_magic) || memcmp(p, text_magic, (size_t)(le - p)))
        return lerr(L, "not a trace (first line must be '%s')", text_magic);
      header = true;
    } else if (p < le && *p == '#') {
      const char *c = p + 1;
      if (c < le && *c == ' ') c++;
      if (add_prov(L, c, (size_t)(le - c))) return -1;
    } else {
      const char *q = p;
      while (q < le && (*q == ' ' || *q == '\t')) q++;
      if (q < le) {
        uint64_t th, id, a = 0, b = 0;
        if (!parse_num(&q, le, &th)) return lerr(L, "malformed line (expected: THREAD OP ID ARGS...)");
        while (q < le && (*q == ' ' || *q == '\t')) q++;
        const char *w = q;
        while (q < le && *q != ' ' && *q != '\t') q++;
        size_t wl = (size_t)(q - w);
        int code = 0;
        for (int k = TB_OP_MALLOC; k <= TB_OP_WRITE; k++)
          if (strlen(op_names[k]) == wl && !memcmp(w, op_names[k], wl)) code = k;
        char pb[48];
        if (!code) return lerr(L, "unknown operation '%s'", printable(pb, w, wl));
        int nargs = code == TB_OP_FREE ? 0 : (code == TB_OP_ALIGNED || code >= TB_OP_READ) ? 2 : 1;
        if (!parse_num(&q, le, &id)) return lerr(L, "malformed %s: missing or bad object id", op_names[code]);
        if (nargs >= 1 && !parse_num(&q, le, &a)) return lerr(L, "malformed %s: missing or bad argument", op_names[code]);
        if (nargs >= 2 && !parse_num(&q, le, &b)) return lerr(L, "malformed %s: missing or bad argument", op_names[code]);
        while (q < le && (*q == ' ' || *q == '\t')) q++;
        if (q != le) return lerr(L, "malformed %s: extra text at the end of the line", op_names[code]);
        if (th > UINT32_MAX) return lerr(L, "thread number too large");
        if (id >= UINT32_MAX) return lerr(L, "object id too large");
        tb_op_t op = {.code = (uint8_t)code, .id = (uint32_t)id, .arg = a};
        if (code == TB_OP_ALIGNED) {
          if (b == 0 || (b & (b - 1))) return lerr(L, "alignment %llu is not a power of two", (unsigned long long)b);
          op.align = (uint8_t)__builtin_ctzll(b);
          if (op.align < 4) op.align = 4; /* the API treats alignments below 16 as 16 */
        } else if (code >= TB_OP_READ) {
          if (a > UINT32_MAX || b > UINT32_MAX) return lerr(L, "%s range beyond 4 GiB", op_names[code]);
          op.arg = a | b << 32;
        }
        if (add_op(L, (uint32_t)th, op)) return -1;
      }
    }
  }
  if (!header) return lerr(L, "empty file (first line must be '%s')", text_magic);
  return 0;
}

/* A varint: 0, or 1 when the content ends inside it, 2 when it runs past
 * 64 bits (more than ten bytes, or a tenth byte above 1). */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned sh = 0;; sh += 7) {
    if (*p == end) return 1;
    unsigned char c = *(*p)++;
    if (sh == 63 && c > 1) return 2;
    x |= (uint64_t)(c & 0x7f) << sh;
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
    if (sh == 63) return 2;
  }
}

/* The loader's message for a varint that did not decode. */
static int varint_err(loader_t *L, int why, const char *what) {
  return why == 2 ? lerr(L, "over-long varint in %s (more than 64 bits)", what) : lerr(L, "truncated %s", what);
}

/* Longest binary record: header, thread, id and two arguments (varints of
 * at most ten bytes each), alignment byte. */
#define BIN_REC_MAX 42

static int parse_binary(loader_t *L, rd_t *r) {
  uint64_t n, th = 0, prev_id = 0;
  int vr;
  L->where = 0;
  if (rd_fill(r, sizeof bin_magic + 10)) return -1;
  const unsigned char *p = r->w + r->pos + sizeof bin_magic, *end = r->w + r->len;
  if ((vr = get_varint(&p, end, &n))) return varint_err(L, vr, "header");
  if (n > TB_TRACE_MAX_PROV) return lerr(L, "provenance of %llu bytes, more than %zu (not a trace?)", (unsigned long long)n, TB_TRACE_MAX_PROV);
  r->pos = (size_t)(p - r->w);
  if (rd_fill(r, n)) return -1;
  if (n > r->len - r->pos) return lerr(L, "truncated header");
  if (n && add_prov(L, (const char *)r->w + r->pos, n)) return -1;
  if (n && L->t->provenance[n - 1] == '\n') L->t->provenance[n] = 0;
  r->pos += n;
  for (;;) {
    if (rd_fill(r, BIN_REC_MAX)) return -1;
    p = r->w + r->pos;
    end = r->w + r->len;
    L->where++;
    if (p == end) return lerr(L, "truncated (no end record)");
    unsigned char h = *p++;
    unsigned code = h & 0x0f;
    if (h == 0) {
      uint64_t cnt;
      L->where--;
      if ((vr = get_varint(&p, end, &cnt))) return varint_err(L, vr, "end record");
      if (cnt != L->where) return lerr(L, "end record counts %llu ops, file has %llu", (unsigned long long)cnt, (unsigned long long)L->where);
      r->pos = (size_t)(p - r->w);
      if (rd_fill(r, 1)) return -1;
      if (r->pos != r->len) return lerr(L, "data after the end record");
      return 0;
    }
    if (code < TB_OP_MALLOC || code > TB_OP_WRITE || (h & 0xe0)) return lerr(L, "unknown operation code 0x%02x", h);
    if ((h & 0x10) && (vr = get_varint(&p, end, &th))) return varint_err(L, vr, "record");
    if (th > UINT32_MAX) return lerr(L, "thread number too large");
    uint64_t z, a = 0, b = 0;
    if ((vr = get_varint(&p, end, &z))) return varint_err(L, vr, "record");
    int64_t d = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    uint64_t id = prev_id + (uint64_t)d;
    if (id >= UINT32_MAX) return lerr(L, "object id out of range");
    prev_id = id;
    tb_op_t op = {.code = (uint8_t)code, .id = (uint32_t)id};
    switch (code) {
    case TB_OP_ALIGNED:
      if ((vr = get_varint(&p, end, &a))) return varint_err(L, vr, "record");
      if (p == end) return lerr(L, "truncated record");
      op.arg = a;
      op.align = *p++;
      break;
    case TB_OP_FREE:
      break;
    case TB_OP_READ:
    case TB_OP_WRITE:
      if ((vr = get_varint(&p, end, &a)) || (vr = get_varint(&p, end, &b))) return varint_err(L, vr, "record");
      if (a > UINT32_MAX || b > UINT32_MAX) return lerr(L, "touch range beyond 4 GiB");
      op.arg = a | b << 32;
      break;
    default:
      if ((vr = get_varint(&p, end, &a))) return varint_err(L, vr, "record");
      op.arg = a;
    }
    r->pos = (size_t)(p - r->w);
    if (add_op(L, (uint32_t)th, op)) return -1;
  }
}

static int load(const char *path, const void *data, size_t len, tb_trace_t *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  rd_t r;
  loader_t L = {.path = path, .t = t, .err = err, .errlen = errlen};
  int rc = rd_open(&r, path, data, len, err, errlen);
  if (!rc) rc = rd_fill(&r, sizeof bin_magic);
  if (!rc) {
    if (r.len - r.pos >= sizeof bin_magic && !memcmp(r.w + r.pos, bin_magic, sizeof bin_magic)) {
      rc = parse_binary(&L, &r);
    } else {
      L.text = true;
      rc = parse_text(&L, &r);
    }
  }
  if (!rc && t->total_ops == 0) {
    L.where = 0;
    rc = lerr(&L, "the trace has no operations");
  }
  rd_close(&r);
  free(L.obj);
  free(L.cap);
  for (size_t i = 0; i < TB_TRACE_MAX_THREADS; i++) free(L.synced[i]);
  if (rc) {
    tb_trace_free(t);
    return -1;
  }
  /* A thread number that never appeared leaves an empty stream: harmless. */
  return 0;
}

int tb_trace_load(const char *path, tb_trace_t *t, char *err, size_t errlen) {
  return load(path, NULL, 0, t, err, errlen);
}

int tb_trace_load_mem(const char *name, const void *data, size_t len, tb_trace_t *t, char *err, size_t errlen) {
  static const unsigned char none;
  return load(name, data ? data : &none, len, t, err, errlen);
}

void tb_trace_prefix(const tb_trace_t *t, size_t n, tb_trace_t *view, size_t *nops_storage) {
  *view = *t;
  *nops_storage = n < t->nops[0] ? n : t->nops[0];
  view->nops = nops_storage;
  view->total_ops = *nops_storage; /* one stream: no syncs */
  view->nruns = 0;                 /* the file order is not the view's */
}

void tb_trace_free(tb_trace_t *t) {
  for (uint32_t i = 0; i < t->nthreads; i++) free(t->ops[i]);
  free(t->ops);
  free(t->nops);
  free(t->provenance);
  free(t->run_thread);
  free(t->run_count);
  memset(t, 0, sizeof *t);
}

int tb_trace_save(const tb_trace_t *t, const char *path, tb_trace_format_t fmt, tb_compress_t comp, char *err,
                  size_t errlen) {
  tb_trace_writer_t *w = tb_trace_writer_open(path, fmt, comp, t->provenance, err, errlen);
  if (!w) return -1;
  size_t *pos = calloc(t->nthreads ? t->nthreads : 1, sizeof *pos);
  if (!pos) {
    tb_trace_writer_abort(w);
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  int rc = 0;
  for (size_t r = 0; r < t->nruns && !rc; r++) {
    uint32_t th = t->run_thread[r];
    for (uint32_t k = 0; k < t->run_count[r] && !rc; k++) {
      while (t->ops[th][pos[th]].code == TB_OP_SYNC) pos[th]++;
      rc = tb_trace_write(w, th, &t->ops[th][pos[th]++]);
    }
  }
  free(pos);
  if (rc) {
    tb_trace_writer_abort(w);
    snprintf(err, errlen, "%s: write failed", path);
    return -1;
  }
  return tb_trace_writer_close(w, err, errlen);
}

static bool ends_with(const char *s, size_t n, const char *suf) {
  size_t k = strlen(suf);
  return n >= k && !memcmp(s + n - k, suf, k);
}

void tb_trace_form_from_name(const char *path, tb_trace_format_t *fmt, tb_compress_t *comp) {
  size_t n = strlen(path);
  *comp = TB_COMPRESS_NONE;
  if (ends_with(path, n, ".gz")) {
    *comp = TB_COMPRESS_GZIP;
    n -= 3;
  } else if (ends_with(path, n, ".zst")) {
    *comp = TB_COMPRESS_ZSTD;
    n -= 4;
  }
  *fmt = ends_with(path, n, ".txt") || ends_with(path, n, ".trace") ? TB_TRACE_TEXT : TB_TRACE_BINARY;
}

int tb_trace_parse_format(const char *s, tb_trace_format_t *fmt) {
  if (!strcmp(s, "text")) *fmt = TB_TRACE_TEXT;
  else if (!strcmp(s, "binary")) *fmt = TB_TRACE_BINARY;
  else return -1;
  return 0;
}

int tb_trace_parse_compress(const char *s, tb_compress_t *comp) {
  if (!strcmp(s, "none")) *comp = TB_COMPRESS_NONE;
  else if (!strcmp(s, "gzip")) *comp = TB_COMPRESS_GZIP;
  else if (!strcmp(s, "zstd")) *comp = TB_COMPRESS_ZSTD;
  else return -1;
  return 0;
}
