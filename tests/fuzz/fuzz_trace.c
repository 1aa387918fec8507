/* fuzz_trace.c: fuzz target of the trace loader (binary and text decoders,
 * gzip and zstd included): tb_trace_load_mem on the input.
 * Property: it fails with a message that names the input and a line or an
 * op ("fuzz-input:LINE: ..." or "fuzz-input: op N: ..."; a whole-file
 * problem, such as bad compression, names the input alone), or it gives
 * a trace that holds the loader's invariants (streams, syncs, ids, the
 * file order) and that survives a round trip through the binary writer
 * unchanged. Never a crash, a hang or unbounded memory (libFuzzer's
 * -rss_limit_mb and -timeout enforce the last two). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_fuzz.h"
#include "trace.h"

const char *tb_fuzz_name = "trace";

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_trace: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

static void check_trace(const tb_trace_t *t) {
  if (t->total_ops == 0 || t->nthreads == 0) fail("loaded a trace without ops", NULL);
  uint64_t n = 0, syncs = 0;
  for (uint32_t th = 0; th < t->nthreads; th++)
    for (size_t i = 0; i < t->nops[th]; i++) {
      const tb_op_t *o = &t->ops[th][i];
      if (o->code == TB_OP_SYNC) {
        syncs++;
        if (o->id >= t->nthreads || o->id == th || o->arg >= t->nops[o->id]) fail("a sync names no earlier op of another stream", NULL);
        continue;
      }
      n++;
      if (o->code < TB_OP_MALLOC || o->code > TB_OP_WRITE) fail("an op with an unknown code", NULL);
      if (o->id >= t->nobjects) fail("an id beyond nobjects", NULL);
      if (o->code == TB_OP_ALIGNED && (o->align < 4 || o->align > 30)) fail("an alignment out of range", NULL);
    }
  if (n != t->total_ops || syncs != t->nsyncs) fail("op or sync counts disagree with the streams", NULL);
  uint64_t inruns = 0;
  for (size_t r = 0; r < t->nruns; r++) inruns += t->run_count[r];
  if (inruns != t->total_ops) fail("the file order covers a different number of ops", NULL);
  /* ids are dense: the replay's per-id arrays stay bounded by the trace */
  if (t->nobjects > t->total_ops + 65536) fail("nobjects beyond the ops' bound", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512] = "";
  tb_trace_t t;
  if (tb_trace_load_mem("fuzz-input", data, size, &t, err, sizeof err)) {
    if (strncmp(err, "fuzz-input:", 11) || strlen(err) < 14) fail("an error that does not name the input", err);
    if (t.ops || t.total_ops) fail("a failed load left a trace", err);
    return 0;
  }
  check_trace(&t);
  /* Round trip: binary writer, loader; the same ops in the same order. */
  const char *path = tb_fuzz_path("trace.tbt");
  if (tb_trace_save(&t, path, TB_TRACE_BINARY, TB_COMPRESS_NONE, err, sizeof err)) fail("saving a loaded trace failed", err);
  tb_trace_t u;
  if (tb_trace_load(path, &u, err, sizeof err)) fail("reloading a saved trace failed", err);
  if (u.nthreads != t.nthreads || u.total_ops != t.total_ops || u.nsyncs != t.nsyncs || u.nruns != t.nruns)
    fail("the reloaded trace differs in shape", NULL);
  for (uint32_t th = 0; th < t.nthreads; th++)
    if (u.nops[th] != t.nops[th] || (t.nops[th] && memcmp(u.ops[th], t.ops[th], t.nops[th] * sizeof(tb_op_t))))
      fail("the reloaded trace differs in its ops", NULL);
  if ((t.provenance == NULL) != (u.provenance == NULL) || (t.provenance && strcmp(t.provenance, u.provenance)))
    fail("the reloaded trace differs in its provenance", NULL);
  tb_trace_free(&u);
  tb_trace_free(&t);
  return 0;
}
