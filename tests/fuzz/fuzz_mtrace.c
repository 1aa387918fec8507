/* fuzz_mtrace.c: fuzz target of the glibc mtrace importer
 * (workloads/import_mtrace.c). The input is the log.
 * Property: the import fails with "FILE:LINE: what", or it writes a trace
 * that the loader accepts (the importer rejects what the loader would);
 * a failed import leaves no output file. Never a crash or a hang. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "tb_fuzz.h"
#include "trace.h"

const char *tb_fuzz_name = "mtrace";

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_mtrace: %s: %s\n", what, detail);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = tb_fuzz_path("mtrace.log"), *out = tb_fuzz_path("mtrace.tbt");
  tb_fuzz_put(in, data, size);
  unlink(out);
  char err[1024] = "";
  tb_import_stats_t st;
  if (tb_import_mtrace(in, out, TB_TRACE_BINARY, TB_COMPRESS_NONE, &st, err, sizeof err)) {
    size_t n = strlen(in);
    if (strncmp(err, in, n) || err[n] != ':' || err[n + 1] < '0' || err[n + 1] > '9') fail("an error without FILE:LINE", err);
    if (access(out, F_OK) == 0) fail("a failed import left its output", err);
    return 0;
  }
  tb_trace_t t;
  if (tb_trace_load(out, &t, err, sizeof err)) fail("the loader rejects what the importer wrote", err);
  if (t.total_ops != st.ops) fail("op count differs from the importer's", "");
  tb_trace_free(&t);
  return 0;
}
