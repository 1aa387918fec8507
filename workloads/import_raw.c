/* import_raw.c: the recording library's raw log -> trace (see import.h and
 * workloads/recorder/tbrecord_raw.h). Records are sorted by global
 * sequence number, addresses mapped to object ids (idmap.h: an id is
 * reused only after its object was freed), calls mapped to trace ops:
 *
 *   malloc                        -> malloc
 *   calloc                        -> calloc (nmemb * size)
 *   memalign, posix_memalign,
 *   aligned_alloc, valloc, pvalloc -> aligned (log2 alignment, at least 16 B;
 *                                     pvalloc's size rounded up to a page)
 *   realloc(NULL, n)              -> malloc
 *   realloc(p, 0) that frees      -> free
 *   realloc(p, n)                 -> realloc (failed: nothing)
 *   free(NULL)                    -> nothing (never logged)
 *   malloc_usable_size            -> nothing (counted)
 *   failed allocations            -> nothing (counted)
 *   free/realloc of an address not allocated while recording
 *                                 -> dropped (free) or malloc (realloc), counted
 *
 * A record the loader would refuse (a size above 2^48 that succeeded, an
 * unknown call) is an error naming the record: the importer writes only
 * what the loader accepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idmap.h"
#include "import.h"

#define MAX_THREADS 1024 /* the trace loader's limit; more are folded (counted) */
#define MAX_SIZE (1ull << 48) /* the trace loader's largest size */

/* Open path for reading, refusing what is not a regular file (a FIFO
 * would block). The descriptor, or -1 with err set. */
static int open_regular(const char *path, struct stat *st, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
    snprintf(err, errlen, "%s: not a regular file", path);
    close(fd);
    return -1;
  }
  return fd;
}

static int read_full(int fd, void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, (char *)p + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    got += (size_t)k;
  }
  return 0;
}

int tb_raw_log_open(const char *path, tb_raw_log_t *L, char *err, size_t errlen) {
  memset(L, 0, sizeof *L);
  struct stat st;
  int fd = open_regular(path, &st, err, errlen);
  if (fd < 0) return -1;
  tb_raw_header_t h;
  int bad = (size_t)st.st_size < sizeof h || read_full(fd, &h, sizeof h);
  close(fd);
  if (bad || memcmp(h.magic, TB_RAW_MAGIC, 8) != 0) {
    snprintf(err, errlen, "%s: not a raw recorder log (bad or short header)", path);
    return -1;
  }
  if (h.version != TB_RAW_VERSION || h.rec_size != sizeof(tb_raw_rec_t)) {
    snprintf(err, errlen, "%s: raw log version %u, record size %u; expected %u, %zu", path, h.version, h.rec_size,
             TB_RAW_VERSION, sizeof(tb_raw_rec_t));
    return -1;
  }
  L->path = strdup(path);
  if (!L->path) {
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  L->pid = h.pid;
  L->ppid = h.ppid;
  L->image = h.image;
  L->page = h.page_size ? h.page_size : 4096;
  memcpy(L->exe, h.exe, sizeof L->exe);
  L->exe[sizeof L->exe - 1] = 0;
  /* A process killed while writing may leave a partial last record; it is
   * ignored (said in the summary by the record count). */
  L->nrecs = ((size_t)st.st_size - sizeof h) / sizeof(tb_raw_rec_t);
  return 0;
}

void tb_raw_log_close(tb_raw_log_t *L) {
  free(L->path);
  L->path = NULL;
}

static int cmp_seq(const void *a, const void *b) {
  uint64_t x = ((const tb_raw_rec_t *)a)->seq, y = ((const tb_raw_rec_t *)b)->seq;
  return x < y ? -1 : x > y;
}

static tb_raw_rec_t *read_records(const tb_raw_log_t *L, char *err, size_t errlen) {
  tb_raw_rec_t *r = malloc((L->nrecs ? L->nrecs : 1) * sizeof *r);
  if (!r) {
    snprintf(err, errlen, "%s: out of memory for %zu records", L->path, L->nrecs);
    return NULL;
  }
  struct stat st;
  int fd = open_regular(L->path, &st, err, errlen);
  if (fd < 0) {
    free(r);
    return NULL;
  }
  if (lseek(fd, (off_t)sizeof(tb_raw_header_t), SEEK_SET) < 0 || read_full(fd, r, L->nrecs * sizeof *r)) {
    snprintf(err, errlen, "%s: cannot read the records: short read", L->path);
    close(fd);
    free(r);
    return NULL;
  }
  close(fd);
  qsort(r, L->nrecs, sizeof *r, cmp_seq);
  return r;
}

/* ---- records -> ops --------------------------------------------------------- */

typedef struct {
  tb_trace_writer_t *w;
  tb_raw_stats_t *st;
  uint64_t max_ops; /* 0: all */
  bool full;        /* max_ops reached: the rest is cut */
#define THREAD_CACHE 65536
  uint32_t thread_map[THREAD_CACHE]; /* raw thread number -> trace thread + 1 */
  uint32_t nthreads;
  tb_idmap_t m;
} emit_t;

static uint32_t trace_thread(emit_t *e, uint32_t raw) {
  /* Dense numbers in order of first appearance; beyond the loader's limit
   * threads share numbers (still a valid trace: the global order is kept
   * and the loader syncs objects that pass between streams). */
  if (raw < THREAD_CACHE && e->thread_map[raw]) return e->thread_map[raw] - 1;
  uint32_t t;
  if (e->nthreads < MAX_THREADS) {
    t = e->nthreads++;
  } else {
    t = raw % MAX_THREADS;
    e->st->folded_threads++;
  }
  if (raw < THREAD_CACHE) e->thread_map[raw] = t + 1;
  return t;
}

/* One op; beyond max_ops nothing more is written (e->full). */
static int emit(emit_t *e, uint32_t raw_thread, uint8_t code, uint32_t id, uint64_t arg, uint8_t align) {
  if (e->full) return 0;
  tb_op_t op = {.code = code, .align = align, .id = id, .arg = arg};
  e->st->ops[code]++;
  e->st->total++;
  if (e->max_ops && e->st->total == e->max_ops) e->full = true;
  return tb_trace_write(e->w, trace_thread(e, raw_thread), &op);
}

static bool is_aligned_op(uint8_t op) {
  return op == TB_RAW_MEMALIGN || op == TB_RAW_POSIX_MEMALIGN || op == TB_RAW_ALIGNED_ALLOC || op == TB_RAW_VALLOC ||
         op == TB_RAW_PVALLOC;
}

/* The object at p is freed (it was live). */
static int free_object(emit_t *e, uint32_t th, uint64_t p) {
  uint32_t id;
  int r = tb_idmap_remove(&e->m, p, &id);
  if (r < 0) return -1;
  return r ? emit(e, th, TB_OP_FREE, id, 0, 0) : 0;
}

/* A new object at address p: if p is still live in the map (a moving
 * realloc that sorted after another thread's reuse of its old address),
 * the old object is freed first (counted). */
static int new_object(emit_t *e, uint32_t th, uint64_t p, uint32_t *id) {
  uint32_t old;
  if (tb_idmap_get(&e->m, p, &old)) {
    e->st->conflicts++;
    if (free_object(e, th, p)) return -1;
  }
  return tb_idmap_add(&e->m, p, id);
}

int tb_import_raw(const tb_raw_log_t *L, tb_trace_writer_t *w, uint64_t max_ops, tb_raw_stats_t *st, char *err,
                  size_t errlen) {
  memset(st, 0, sizeof *st);
  tb_raw_rec_t *r = read_records(L, err, errlen);
  if (!r) return -1;
  emit_t *e = calloc(1, sizeof *e);
  if (!e) {
    free(r);
    snprintf(err, errlen, "%s: out of memory", L->path);
    return -1;
  }
  e->w = w;
  e->st = st;
  e->max_ops = max_ops;
  int rc = 0;
  size_t i;
  static const char *const names[] = {NULL,       "malloc",        "calloc", "realloc", "free",
                                      "memalign", "posix_memalign", "aligned_alloc", "valloc", "pvalloc"};
  for (i = 0; i < L->nrecs && rc == 0 && !e->full; i++) {
    const tb_raw_rec_t *x = &r[i];
    uint32_t id;
    if (x->ptr && x->size > MAX_SIZE && x->op >= TB_RAW_MALLOC && x->op <= TB_RAW_PVALLOC && x->op != TB_RAW_FREE &&
        !(x->op == TB_RAW_REALLOC && x->size == 0)) {
      snprintf(err, errlen, "%s: record %zu (seq %llu): %s of %llu B succeeded: more than a trace allows (2^48 B), a corrupt log",
               L->path, i, (unsigned long long)x->seq, names[x->op], (unsigned long long)x->size);
      rc = -2;
      break;
    }
    switch (x->op) {
    case TB_RAW_MALLOC:
    case TB_RAW_CALLOC:
      if (!x->ptr) {
        st->failed++;
        break;
      }
      rc = new_object(e, x->thread, x->ptr, &id);
      if (!rc) rc = emit(e, x->thread, x->op == TB_RAW_MALLOC ? TB_OP_MALLOC : TB_OP_CALLOC, id, x->size, 0);
      break;
    case TB_RAW_REALLOC:
      if (x->old == 0) { /* realloc(NULL, n) */
        if (!x->ptr) {
          st->failed++;
          break;
        }
        rc = new_object(e, x->thread, x->ptr, &id);
        if (!rc) rc = emit(e, x->thread, TB_OP_MALLOC, id, x->size, 0);
        break;
      }
      if (!tb_idmap_get(&e->m, x->old, &id)) {
        st->unknown_realloc++;
        if (!x->ptr) break;
        rc = new_object(e, x->thread, x->ptr, &id);
        if (!rc) rc = emit(e, x->thread, TB_OP_MALLOC, id, x->size, 0);
        break;
      }
      if (x->size == 0) { /* realloc(p, 0): p freed */
        rc = free_object(e, x->thread, x->old);
        if (!rc && x->ptr) { /* a libc that returns a fresh minimum block */
          rc = new_object(e, x->thread, x->ptr, &id);
          if (!rc) rc = emit(e, x->thread, TB_OP_MALLOC, id, 0, 0);
        }
        break;
      }
      if (!x->ptr) {
        st->failed++;
        break;
      }
      if (x->ptr != x->old) {
        uint32_t other;
        if (tb_idmap_get(&e->m, x->ptr, &other)) { /* the new address is still live for us: its free was lost */
          st->conflicts++;
          rc = free_object(e, x->thread, x->ptr);
        }
        if (!rc) rc = tb_idmap_move(&e->m, x->old, x->ptr);
      }
      if (!rc) rc = emit(e, x->thread, TB_OP_REALLOC, id, x->size, 0);
      break;
    case TB_RAW_FREE:
      if (!tb_idmap_get(&e->m, x->ptr, &id)) {
        st->unknown_free++;
        break;
      }
      rc = free_object(e, x->thread, x->ptr);
      break;
    case TB_RAW_USABLE_SIZE:
      st->usable++;
      break;
    default:
      if (!is_aligned_op(x->op)) {
        snprintf(err, errlen, "%s: record %zu (seq %llu): unknown operation %u", L->path, i,
                 (unsigned long long)x->seq, x->op);
        rc = -2;
        break;
      }
      if (!x->ptr) {
        st->failed++;
        break;
      }
      if (x->align > 30) {
        st->bad_align++;
        break;
      }
      uint64_t size = x->size;
      if (x->op == TB_RAW_PVALLOC) size = (size + L->page - 1) / L->page * L->page;
      if (size > MAX_SIZE) {
        snprintf(err, errlen, "%s: record %zu (seq %llu): pvalloc of %llu B rounds up beyond 2^48 B (page size %u): a corrupt log",
                 L->path, i, (unsigned long long)x->seq, (unsigned long long)x->size, L->page);
        rc = -2;
        break;
      }
      rc = new_object(e, x->thread, x->ptr, &id);
      if (!rc) rc = emit(e, x->thread, TB_OP_ALIGNED, id, size, x->align < 4 ? 4 : x->align);
    }
  }
  if (i < L->nrecs && rc == 0) st->cut = L->nrecs - i;
  st->threads = e->nthreads;
  if (rc == -1) snprintf(err, errlen, "%s: conversion failed (out of memory, or the trace writer failed)", L->path);
  free(r);
  tb_idmap_free(&e->m);
  free(e);
  return rc;
}
