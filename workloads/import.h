/* import.h: importers: traces from other tools' logs.
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

#include "trace.h"

typedef struct tb_import_stats_s {
  uint64_t lines;        /* lines read */
  uint64_t ops;          /* ops written */
  uint64_t dropped_frees; /* frees of addresses not live (repair) */
  uint64_t reused_live;  /* allocations at a live address (repair: free inserted) */
  uint64_t failed_reallocs; /* "!" lines (nothing changes) */
} tb_import_stats_t;

/* Read glibc mtrace log `in`, write the trace to `out`. On malformed input
 * returns -1 with "IN:LINE: what" in err and leaves no output file. */
int tb_import_mtrace(const char *in, const char *out, tb_trace_format_t fmt, tb_compress_t comp,
                     tb_import_stats_t *st, char *err, size_t errlen);

#endif /* TB_IMPORT_H */
