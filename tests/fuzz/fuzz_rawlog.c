/* fuzz_rawlog.c: fuzz target of the recorder's raw-log importer
 * (workloads/import_raw.c). The input is a raw log (tbrecord_raw.h);
 * inputs shorter than a header get the header prepended, so the fuzzer
 * spends its time on the records.
 * Property: the import fails with a message naming the log (and the
 * record, for bad content), or it writes a trace that the loader accepts
 * with the op count the importer gave; a --max-ops limit gives exactly
 * that many ops. Never a crash or a hang. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "tb_fuzz.h"
#include "trace.h"

const char *tb_fuzz_name = "rawlog";

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_rawlog: %s: %s\n", what, detail);
  abort();
}

/* Import the log at in with max_ops; 0 and the op count, or -1 (a clean
 * refusal). */
static int import(const char *in, uint64_t max_ops, uint64_t *ops) {
  const char *out = tb_fuzz_path("raw.tbt");
  char err[1024] = "";
  tb_raw_log_t L;
  if (tb_raw_log_open(in, &L, err, sizeof err)) {
    if (strncmp(err, in, strlen(in))) fail("an error that does not name the log", err);
    return -1;
  }
  tb_trace_writer_t *w = tb_trace_writer_open(out, TB_TRACE_BINARY, TB_COMPRESS_NONE, "fuzz", err, sizeof err);
  if (!w) fail("cannot open the output", err);
  tb_raw_stats_t st;
  int rc = tb_import_raw(&L, w, max_ops, &st, err, sizeof err);
  tb_raw_log_close(&L);
  if (rc) {
    tb_trace_writer_abort(w);
    if (rc != -2 || !strstr(err, ": record ")) fail("a failure that names no record", err);
    return -1;
  }
  if (st.total == 0) { /* testbed record writes no trace then */
    tb_trace_writer_abort(w);
    *ops = 0;
    return 0;
  }
  if (tb_trace_writer_close(w, err, sizeof err)) fail("closing the output failed", err);
  tb_trace_t t;
  if (tb_trace_load(out, &t, err, sizeof err)) fail("the loader rejects what the importer wrote", err);
  if (t.total_ops != st.total) fail("op count differs from the importer's", "");
  tb_trace_free(&t);
  unlink(out);
  *ops = st.total;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = tb_fuzz_path("raw.log");
  if (size < sizeof(tb_raw_header_t) || memcmp(data, TB_RAW_MAGIC, 8)) {
    /* records after a valid header; the first byte picks the page size */
    unsigned char *b = malloc(sizeof(tb_raw_header_t) + size);
    if (!b) abort();
    tb_raw_header_t h = {.version = TB_RAW_VERSION, .rec_size = sizeof(tb_raw_rec_t), .pid = 1, .image = 0};
    memcpy(h.magic, TB_RAW_MAGIC, 8);
    h.page_size = size && data[0] < 16 ? (uint32_t)data[0] * 1000 : 4096;
    strcpy(h.exe, "/fuzz/prog");
    memcpy(b, &h, sizeof h);
    if (size) memcpy(b + sizeof h, data, size);
    tb_fuzz_put(in, b, sizeof h + size);
    free(b);
  } else {
    tb_fuzz_put(in, data, size);
  }
  uint64_t all, some;
  if (import(in, 0, &all) || all < 2) return 0;
  if (import(in, all / 2, &some)) fail("a log that imports whole fails with --max-ops", "");
  if (some != all / 2) fail("--max-ops N did not give N ops", "");
  return 0;
}
