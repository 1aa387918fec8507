/* trace.h: workload traces: what a program asked of its allocator, and how
 * it used the memory. Contract between the trace sources (generators,
 * recorder, importers: workloads/) and the replay harness (harness/).
 * The file formats are specified in workloads/README.md.
 *
 * Objects and terms:
 *   object  - one allocated block over its whole life, named by an id
 *             (0 .. nobjects-1). realloc keeps the id (the object moves or
 *             resizes); an id may be reused only after its object was freed.
 *   op      - one operation on an object, done by one thread: malloc,
 *             calloc, aligned allocation, realloc, free, or a touch (read
 *             or write of a byte range of a live object).
 *   stream  - the ops of one thread, in that thread's order.
 *   sync    - a wait op the loader inserts where an object passes from one
 *             thread to another (as glibc's trace2wl does), so cross-thread
 *             frees replay in a valid order: the waiting thread may go on
 *             once the other thread has completed its op number `arg`.
 *   trace   - the streams of all threads, decoded in memory (tb_trace_t).
 *
 * On disk a trace is one sequence of ops in a valid global order, each
 * with its thread number; text ("testbed-trace 1") or binary (varints),
 * optionally gzip- or zstd-compressed. The loader splits it into streams
 * and inserts the syncs.
 */
#ifndef TB_TRACE_H
#define TB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic_file.h"

typedef enum {
  TB_OP_MALLOC = 1,  /* id, arg = size */
  TB_OP_CALLOC = 2,  /* id, arg = total size (nmemb * size) */
  TB_OP_ALIGNED = 3, /* id, arg = size, align = log2(alignment) */
  TB_OP_REALLOC = 4, /* id (live), arg = new size */
  TB_OP_FREE = 5,    /* id (live) */
  TB_OP_READ = 6,    /* id (live), arg = offset | (uint64_t)len << 32 */
  TB_OP_WRITE = 7,   /* id (live), arg = offset | (uint64_t)len << 32 */
  TB_OP_SYNC = 8     /* id = thread to wait for, arg = its op index (complete) */
} tb_opcode_t;

/* One decoded op: 16 bytes. */
typedef struct tb_op_s {
  uint8_t code;   /* tb_opcode_t */
  uint8_t align;  /* log2 of the alignment (TB_OP_ALIGNED) */
  uint16_t flags; /* reserved, 0 */
  uint32_t id;    /* object id, or thread for TB_OP_SYNC */
  uint64_t arg;   /* size, touch range or op index, by code */
} tb_op_t;

_Static_assert(sizeof(tb_op_t) == 16, "a decoded op is 16 bytes");

static inline uint32_t tb_touch_offset(const tb_op_t *op) { return (uint32_t)op->arg; }
static inline uint32_t tb_touch_len(const tb_op_t *op) { return (uint32_t)(op->arg >> 32); }

typedef struct tb_trace_s {
  uint32_t nthreads;
  uint32_t nobjects;   /* ids are < nobjects */
  tb_op_t **ops;       /* ops[t]: stream of thread t */
  size_t *nops;        /* nops[t]: its length, syncs included */
  uint64_t total_ops;  /* allocator and touch ops, syncs excluded */
  char *provenance;    /* the file's comment lines, or NULL */
  /* Added by the loader (extension of the first contract): */
  uint64_t peak_live_bytes; /* most requested bytes live at once, in file order:
                               the ideal heap the allocators are compared to */
  uint64_t nsyncs;          /* TB_OP_SYNC ops inserted */
  /* Where the live bytes first reach peak_live_bytes (file order): the
   * first peak_live_op ops of stream peak_live_thread (syncs included)
   * end with that op. A single-stream trace replayed that far has its
   * peak live; 0 when nothing was allocated. */
  uint32_t peak_live_thread;
  size_t peak_live_op;
  /* The file's global order, run-length coded (8 B per change of thread),
   * so that tb_trace_save() writes the ops back in exactly that order. */
  uint32_t *run_thread;     /* run i: run_count[i] ops (syncs excluded) */
  uint32_t *run_count;      /*        of thread run_thread[i] */
  size_t nruns;
} tb_trace_t;

typedef enum { TB_TRACE_TEXT = 1, TB_TRACE_BINARY = 2 } tb_trace_format_t;
typedef enum { TB_COMPRESS_NONE = 0, TB_COMPRESS_GZIP = 1, TB_COMPRESS_ZSTD = 2 } tb_compress_t;

/* Load a whole trace (format and compression detected from the content).
 * Validates every op: unknown op, malformed line or record, truncation,
 * an op on an id that is not live, id reuse while live, a touch out of
 * the object's range. On error returns non-zero, leaves *t empty and
 * writes "FILE:LINE: what" (text) or "FILE: op N: what" (binary) to err. */
int tb_trace_load(const char *path, tb_trace_t *t, char *err, size_t errlen);
/* Bounds (each an error naming the place): only regular files are read
 * (a FIFO, device or directory is refused before reading) and no more than
 * their size; the content is decompressed while it is parsed, so what is
 * no trace stops at its first bad bytes and memory follows the decoded
 * trace, not the file; text lines are at most 4096 bytes, provenance at
 * most 1 MiB; ids are dense (an allocation's id is at most 65536 above the
 * number of allocations before it). */
/* The same from memory: data[0..len) is the file's content (compressed or
 * not); name stands for the file in messages. */
int tb_trace_load_mem(const char *name, const void *data, size_t len, tb_trace_t *t, char *err, size_t errlen);
void tb_trace_free(tb_trace_t *t);

/* A view of the first n ops of single-stream trace t (n <= t->nops[0]),
 * sharing t's ops: replaying it stops there (e.g. n = t->peak_live_op, to
 * see the heap when the live bytes peak). *nops_storage holds the view's
 * length; the view needs no freeing and lives as long as t. */
void tb_trace_prefix(const tb_trace_t *t, size_t n, tb_trace_t *view, size_t *nops_storage);

/* Streaming writer for sources: ops in global order with their thread.
 * Writes to a temporary name beside `path` (atomic_file.h) and renames on
 * a successful close, so no half-written trace is ever left behind;
 * abort() on error removes it. provenance: comment text (lines) written at
 * the top. finish() is close without the rename: the whole file stays
 * under its temporary name in *held, for the caller to tb_atomic_commit
 * or tb_atomic_abort (several traces that appear together). Both free w. */
typedef struct tb_trace_writer_s tb_trace_writer_t;
tb_trace_writer_t *tb_trace_writer_open(const char *path, tb_trace_format_t fmt, tb_compress_t comp,
                                        const char *provenance, char *err, size_t errlen);
int tb_trace_write(tb_trace_writer_t *w, uint32_t thread, const tb_op_t *op);
int tb_trace_writer_close(tb_trace_writer_t *w, char *err, size_t errlen);
int tb_trace_writer_finish(tb_trace_writer_t *w, tb_atomic_t *held, char *err, size_t errlen);
void tb_trace_writer_abort(tb_trace_writer_t *w);

/* ---- helpers (extensions) ---- */

/* Write a loaded trace to path in its original global order (lossless
 * conversion). 0 or -1 with a message. */
int tb_trace_save(const tb_trace_t *t, const char *path, tb_trace_format_t fmt, tb_compress_t comp, char *err,
                  size_t errlen);

/* Format and compression a file name suggests: *.gz gzip, *.zst zstd; then
 * *.txt / *.trace text, anything else binary. */
void tb_trace_form_from_name(const char *path, tb_trace_format_t *fmt, tb_compress_t *comp);
/* "text"|"binary", "none"|"gzip"|"zstd": 0 when known, else -1. */
int tb_trace_parse_format(const char *s, tb_trace_format_t *fmt);
int tb_trace_parse_compress(const char *s, tb_compress_t *comp);

#endif /* TB_TRACE_H */
