/* import.h: importers: traces from other tools' logs, and from the raw
 * logs of the recording library (workloads/recorder/). Both map addresses
 * to object ids through one map (idmap.h) and write only what the trace
 * loader accepts.
 *
 *   mtrace - glibc's mtrace() text log (MALLOC_TRACE=file): "= Start",
 *            "[@ caller] + ADDR SIZE" (malloc, calloc, memalign, realloc of
 *            NULL), "- ADDR" (free), "< OLD" then "> NEW SIZE" (realloc),
 *            "! ADDR SIZE" (failed realloc), "= End". Addresses are mapped
 *            to object ids; a freed id is reused. Repairs (counted, never
 *            silent): a free of an address that is not live (allocated
 *            before tracing began) is dropped; an allocation at an address
 *            that is still live (its free was not traced) first frees the
 *            old object. The log has no threads: everything is thread 0.
 */
#ifndef TB_IMPORT_H
#define TB_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "recorder/tbrecord_raw.h"
#include "trace.h"

typedef struct tb_import_stats_s {
  uint64_t lines;        /* lines read */
  uint64_t ops;          /* ops written */
  uint64_t dropped_frees; /* frees of addresses not live (repair) */
  uint64_t reused_live;  /* allocations at a live address (repair: free inserted) */
  uint64_t failed_reallocs; /* "!" lines (nothing changes) */
} tb_import_stats_t;

/* Read glibc mtrace log `in`, write the trace to `out`. Returns 0; 2 on
 * malformed input, with "IN:LINE: what" in err; 1 on another failure
 * (the output cannot be written, out of memory), with the file in err.
 * On failure no output file is left. */
int tb_import_mtrace(const char *in, const char *out, tb_trace_format_t fmt, tb_compress_t comp,
                     tb_import_stats_t *st, char *err, size_t errlen);

/* ---- raw recorder logs (the format: workloads/recorder/tbrecord_raw.h) ---- */

typedef struct tb_raw_log_s {
  char *path;
  uint32_t pid, ppid, image;
  uint32_t page; /* the recorded process's page size (bytes) */
  char exe[TB_RAW_EXE_MAX];
  size_t nrecs; /* whole records in the file */
} tb_raw_log_t;

/* Read a raw log's header (a regular file only). 0, or -1 with err set. */
int tb_raw_log_open(const char *path, tb_raw_log_t *L, char *err, size_t errlen);
void tb_raw_log_close(tb_raw_log_t *L);

typedef struct tb_raw_stats_s {
  uint64_t ops[TB_OP_WRITE + 1]; /* ops written, by code */
  uint64_t total;
  uint64_t unknown_free, unknown_realloc; /* of memory allocated before recording (repairs) */
  uint64_t failed, usable;       /* failed calls, malloc_usable_size calls: not traced */
  uint64_t conflicts;            /* allocations at a live address: its free inserted */
  uint64_t bad_align;            /* alignments above 1 GiB: dropped */
  uint64_t folded_threads;       /* thread numbers beyond the loader's limit, folded */
  uint64_t cut;                  /* records not converted (max_ops) */
  uint32_t threads;
} tb_raw_stats_t;

/* Convert raw log L into ops written to w (in seq order; see import_raw.c
 * for how calls map to ops); at most max_ops ops (0: all). 0; -2 when the
 * log holds what no trace may (err names the record); -1 on another
 * failure (out of memory, the writer failed). */
int tb_import_raw(const tb_raw_log_t *L, tb_trace_writer_t *w, uint64_t max_ops, tb_raw_stats_t *st, char *err,
                  size_t errlen);

#endif /* TB_IMPORT_H */
