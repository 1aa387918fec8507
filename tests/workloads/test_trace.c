/* test_trace.c: the trace formats and generators: text <-> binary round
 * trips (plain, gzip, zstd), every bad-input case of the loader with its
 * "FILE:LINE" message, the writer leaving nothing behind on abort, sync
 * insertion for cross-thread objects, and generator determinism. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen.h"
#include "trace.h"
#include "tb_testutil.h"

static char dir[256];

static const char *tmp(const char *name) {
  static char buf[8][512];
  static int k;
  char *b = buf[k++ % 8];
  snprintf(b, 512, "%s/%s", dir, name);
  return b;
}

static void put_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

static char *get_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)len + 1);
  *n = fread(b, 1, (size_t)len, f);
  b[*n] = 0;
  fclose(f);
  return b;
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* Whether two loaded traces are the same: streams, ops, order, provenance. */
static bool same_trace(const tb_trace_t *a, const tb_trace_t *b) {
  if (a->nthreads != b->nthreads || a->nobjects != b->nobjects || a->total_ops != b->total_ops ||
      a->peak_live_bytes != b->peak_live_bytes || a->nruns != b->nruns)
    return false;
  if ((a->provenance == NULL) != (b->provenance == NULL)) return false;
  if (a->provenance && strcmp(a->provenance, b->provenance)) return false;
  for (uint32_t t = 0; t < a->nthreads; t++) {
    if (a->nops[t] != b->nops[t]) return false;
    if (memcmp(a->ops[t], b->ops[t], a->nops[t] * sizeof(tb_op_t))) return false;
  }
  return !memcmp(a->run_thread, b->run_thread, a->nruns * 4) && !memcmp(a->run_count, b->run_count, a->nruns * 4);
}

static const char sample[] =
    "testbed-trace 1\n"
    "# provenance line one\n"
    "# line two\n"
    "0 malloc 0 100\n"
    "0 write 0 0 100\n"
    "1 read 0 10 20\n"
    "1 aligned 1 64 256\n"
    "\n"
    "0 free 1\n"
    "2 calloc 7 4000000\n"
    "1 realloc 0 300\n"
    "2 write 7 3999999 1\n"
    "1 free 0\n"
    "0 calloc 0 32\n"
    "2 free 7\n"
    "0 free 0\n";

START_TEST(text_binary_round_trip) {
  char err[512];
  put_file(tmp("s.txt"), sample, strlen(sample));
  tb_trace_t a, b, c;
  ck_assert_msg(tb_trace_load(tmp("s.txt"), &a, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(a.nthreads, 3);
  ck_assert_uint_eq(a.total_ops, 12);
  ck_assert_uint_eq(a.nobjects, 8);
  ck_assert_uint_eq(a.peak_live_bytes, 4000000 + 300 + 0);
  ck_assert_str_eq(a.provenance, "provenance line one\nline two\n");
  const tb_compress_t comps[] = {TB_COMPRESS_NONE, TB_COMPRESS_GZIP, TB_COMPRESS_ZSTD};
  for (int k = 0; k < 3; k++) {
#ifndef TB_HAVE_ZLIB
    if (comps[k] == TB_COMPRESS_GZIP) continue;
#endif
#ifndef TB_HAVE_ZSTD
    if (comps[k] == TB_COMPRESS_ZSTD) continue;
#endif
    ck_assert_msg(tb_trace_save(&a, tmp("s.bin"), TB_TRACE_BINARY, comps[k], err, sizeof err) == 0, "%s", err);
    ck_assert_msg(tb_trace_load(tmp("s.bin"), &b, err, sizeof err) == 0, "%s", err);
    ck_assert(same_trace(&a, &b));
    ck_assert_msg(tb_trace_save(&b, tmp("s2.txt"), TB_TRACE_TEXT, comps[k], err, sizeof err) == 0, "%s", err);
    ck_assert_msg(tb_trace_load(tmp("s2.txt"), &c, err, sizeof err) == 0, "%s", err);
    ck_assert(same_trace(&a, &c));
    tb_trace_free(&b);
    tb_trace_free(&c);
  }
  /* Uncompressed text written back equals the input but for the blank line. */
  ck_assert(tb_trace_save(&a, tmp("s3.txt"), TB_TRACE_TEXT, TB_COMPRESS_NONE, err, sizeof err) == 0);
  size_t n;
  char *s3 = get_file(tmp("s3.txt"), &n);
  char *want = strdup(sample);
  char *blank = strstr(want, "\n\n");
  memmove(blank, blank + 1, strlen(blank));
  ck_assert_str_eq(s3, want);
  free(s3);
  free(want);
  tb_trace_free(&a);
}
END_TEST

START_TEST(syncs_for_cross_thread_objects) {
  char err[512];
  put_file(tmp("s.txt"), sample, strlen(sample));
  tb_trace_t a;
  ck_assert(tb_trace_load(tmp("s.txt"), &a, err, sizeof err) == 0);
  /* Thread 1's first op reads object 0 that thread 0 wrote: a sync on
   * thread 0's op 1 (the write) comes first. */
  ck_assert_uint_eq(a.ops[1][0].code, TB_OP_SYNC);
  ck_assert_uint_eq(a.ops[1][0].id, 0);
  ck_assert_uint_eq(a.ops[1][0].arg, 1);
  ck_assert_uint_eq(a.ops[1][1].code, TB_OP_READ);
  ck_assert_uint_eq(tb_touch_offset(&a.ops[1][1]), 10);
  ck_assert_uint_eq(tb_touch_len(&a.ops[1][1]), 20);
  ck_assert_uint_gt(a.nsyncs, 2);
  /* Every sync names another thread and an op that exists there. */
  bool ok = true;
  for (uint32_t t = 0; t < a.nthreads; t++)
    for (size_t i = 0; i < a.nops[t]; i++)
      if (a.ops[t][i].code == TB_OP_SYNC)
        ok = ok && a.ops[t][i].id != t && a.ops[t][i].id < a.nthreads && a.ops[t][i].arg < a.nops[a.ops[t][i].id];
  ck_assert(ok);
  tb_trace_free(&a);
}
END_TEST

/* Each bad text input, the line the message must name, and a phrase of it. */
static const struct {
  const char *text;
  int line;
  const char *what;
} bad_text[] = {
    {"", 0, "empty file"},
    {"not a trace\n0 malloc 0 1\n", 1, "not a trace"},
    {"testbed-trace 1\n0 malloc 0 1\n0 frobnicate 0 1\n", 3, "unknown operation 'frobnicate'"},
    {"testbed-trace 1\n0 malloc 0\n", 2, "malformed malloc"},
    {"testbed-trace 1\n0 malloc 0 12x\n", 2, "malformed malloc"},
    {"testbed-trace 1\n0 malloc 0 1 2\n", 2, "extra text"},
    {"testbed-trace 1\nzero malloc 0 1\n", 2, "malformed line"},
    {"testbed-trace 1\n0 malloc 0 8\n0 free 1\n", 3, "free of id 1, which is not live"},
    {"testbed-trace 1\n0 malloc 0 8\n0 free 0\n0 free 0\n", 4, "not live"},
    {"testbed-trace 1\n0 read 3 0 1\n", 2, "read of id 3, which is not live"},
    {"testbed-trace 1\n0 malloc 0 8\n1 malloc 0 8\n", 3, "id reuse while live"},
    {"testbed-trace 1\n0 malloc 0 8\n0 write 0 4 5\n", 3, "beyond its size 8"},
    {"testbed-trace 1\n0 malloc 0 8\n0 realloc 0 4\n0 read 0 0 8\n", 4, "beyond its size 4"},
    {"testbed-trace 1\n0 realloc 5 10\n", 2, "realloc of id 5, which is not live"},
    {"testbed-trace 1\n0 aligned 0 10 48\n", 2, "not a power of two"},
    {"testbed-trace 1\n# only comments\n", 0, "no operations"},
    {"testbed-trace 1\n5000 malloc 0 1\n", 2, "thread number 5000 too large"},
};

START_TEST(bad_text_inputs) {
  const char *path = tmp("bad.txt");
  char err[512], want[128];
  put_file(path, bad_text[_i].text, strlen(bad_text[_i].text));
  tb_trace_t t;
  memset(&t, 0xab, sizeof t);
  ck_assert_int_ne(tb_trace_load(path, &t, err, sizeof err), 0);
  snprintf(want, sizeof want, "%s:%d: ", path, bad_text[_i].line);
  ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "case %d: '%s' does not start with '%s'", _i, err, want);
  ck_assert_msg(strstr(err, bad_text[_i].what) != NULL, "case %d: '%s' lacks '%s'", _i, err, bad_text[_i].what);
  ck_assert_ptr_null(t.ops); /* left empty */
  ck_assert_uint_eq(t.total_ops, 0);
}
END_TEST

START_TEST(bad_binary_inputs) {
  char err[512];
  put_file(tmp("s.txt"), sample, strlen(sample));
  tb_trace_t a, b;
  ck_assert(tb_trace_load(tmp("s.txt"), &a, err, sizeof err) == 0);
  ck_assert(tb_trace_save(&a, tmp("s.bin"), TB_TRACE_BINARY, TB_COMPRESS_NONE, err, sizeof err) == 0);
  tb_trace_free(&a);
  size_t n;
  char *bin = get_file(tmp("s.bin"), &n);
  /* Every truncation is detected, none loads. */
  bool all_fail = true, all_named = true;
  for (size_t cut = 0; cut < n; cut++) {
    put_file(tmp("cut.bin"), bin, cut);
    if (tb_trace_load(tmp("cut.bin"), &b, err, sizeof err) == 0) {
      all_fail = false;
      tb_trace_free(&b);
    } else if (cut > 8 && !strstr(err, "cut.bin: op ")) {
      all_named = false;
    }
  }
  ck_assert(all_fail);
  ck_assert(all_named);
  /* An unknown op code: the first record's header byte (after the magic and
   * the provenance) becomes 0x0e. */
  size_t first = 8 + 1 + (unsigned char)bin[8];
  ck_assert_uint_eq((unsigned char)bin[first], TB_OP_MALLOC);
  bin[first] = 0x0e;
  put_file(tmp("badop.bin"), bin, n);
  ck_assert(tb_trace_load(tmp("badop.bin"), &b, err, sizeof err) != 0);
  ck_assert_msg(strstr(err, "badop.bin: op 1: unknown operation") != NULL, "%s", err);
  /* A corrupt gzip stream. */
#ifdef TB_HAVE_ZLIB
  ck_assert(tb_trace_load(tmp("s.txt"), &a, err, sizeof err) == 0);
  ck_assert(tb_trace_save(&a, tmp("s.tbt.gz"), TB_TRACE_BINARY, TB_COMPRESS_GZIP, err, sizeof err) == 0);
  tb_trace_free(&a);
  size_t gn;
  char *gz = get_file(tmp("s.tbt.gz"), &gn);
  put_file(tmp("cut.gz"), gz, gn / 2);
  ck_assert(tb_trace_load(tmp("cut.gz"), &b, err, sizeof err) != 0);
  ck_assert_msg(strstr(err, "cut.gz: gzip data") != NULL, "%s", err);
  free(gz);
#endif
  free(bin);
  ck_assert(tb_trace_load(tmp("does-not-exist"), &b, err, sizeof err) != 0);
  ck_assert(strstr(err, "does-not-exist: cannot open") != NULL);
}
END_TEST

START_TEST(writer_abort_leaves_nothing) {
  char err[512];
  const char *path = tmp("w.tbt");
  unlink(path);
  tb_trace_writer_t *w = tb_trace_writer_open(path, TB_TRACE_BINARY, TB_COMPRESS_NONE, "x", err, sizeof err);
  ck_assert_ptr_nonnull(w);
  tb_op_t op = {.code = TB_OP_MALLOC, .id = 0, .arg = 5};
  ck_assert_int_eq(tb_trace_write(w, 0, &op), 0);
  tb_trace_writer_abort(w);
  ck_assert(!exists(path));
  /* A sync is not a file op: the writer refuses it and close fails cleanly. */
  w = tb_trace_writer_open(path, TB_TRACE_TEXT, TB_COMPRESS_NONE, NULL, err, sizeof err);
  tb_op_t s = {.code = TB_OP_SYNC};
  ck_assert_int_ne(tb_trace_write(w, 0, &s), 0);
  ck_assert_int_ne(tb_trace_writer_close(w, err, sizeof err), 0);
  ck_assert(!exists(path));
  /* No temporary files remain in the directory either. */
  char cmd[600];
  snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.tmp\\.'", dir);
  ck_assert_int_ne(system(cmd), 0);
}
END_TEST

/* Small parameters so that each generator runs in milliseconds. */
static const char *const gen_small[][4] = {
    {"one_alloc", "n=500", NULL},
    {"one_alloc_fast", "n=500", NULL},
    {"hundred_fifo", "n=5", NULL},
    {"hundred_lifo", "n=5", NULL},
    {"realloc_inplace", "n=5", NULL},
    {"realloc_copy", "n=5", NULL},
    {"mix", "dist=pareto", "ops=3000", "life=random"},
    {"mix", "dist=pow2", "ops=3000", "life=fifo"},
    {"mix", "dist=uniform", "ops=3000", "life=lifo"},
    {"list", "nodes=300", "passes=2", NULL},
    {"tree", "nodes=300", "passes=2", NULL},
    {"larson", "slots=50", "ops=100", "rounds=3"},
    {"xmalloc", "batch=20", "rounds=5", NULL},
    {"cache_scratch", "iters=20", "rounds=2", NULL},
    {"cache_thrash", "iters=20", "rounds=2", NULL},
};

static int gen_file(int i, const char *seed, const char *path, char *err, size_t errlen) {
  const tb_generator_t *g = tb_generator_find(gen_small[i][0]);
  ck_assert_ptr_nonnull(g);
  tb_gen_params_t p = {0};
  for (int k = 1; k < 4 && gen_small[i][k]; k++) ck_assert(tb_gen_param_add(&p, gen_small[i][k], err, errlen) == 0);
  char kv[64];
  snprintf(kv, sizeof kv, "seed=%s", seed);
  ck_assert(tb_gen_param_add(&p, kv, err, errlen) == 0);
  return tb_gen_to_file(g, &p, path, TB_TRACE_BINARY, TB_COMPRESS_NONE, err, errlen);
}

START_TEST(generators_deterministic) {
  char err[512];
  ck_assert_msg(gen_file(_i, "5", tmp("g1"), err, sizeof err) == 0, "%s", err);
  ck_assert_msg(gen_file(_i, "5", tmp("g2"), err, sizeof err) == 0, "%s", err);
  ck_assert_msg(gen_file(_i, "6", tmp("g3"), err, sizeof err) == 0, "%s", err);
  size_t n1, n2, n3;
  char *a = get_file(tmp("g1"), &n1), *b = get_file(tmp("g2"), &n2), *c = get_file(tmp("g3"), &n3);
  ck_assert_uint_eq(n1, n2);
  ck_assert(memcmp(a, b, n1) == 0);
  /* Generators that draw random numbers give another trace for another seed. */
  const char *name = gen_small[_i][0];
  bool random = !strcmp(name, "mix") || !strcmp(name, "list") || !strcmp(name, "tree") || !strcmp(name, "larson") ||
                !strcmp(name, "xmalloc");
  if (random) ck_assert(n1 != n3 || memcmp(a + 40, c + 40, n1 - 40) != 0);
  free(a), free(b), free(c);
  /* The trace is valid (the loader validates every op) and multi-threaded
   * models do cross-thread work. */
  tb_trace_t t;
  ck_assert_msg(tb_trace_load(tmp("g1"), &t, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_gt(t.total_ops, 0);
  if (!strcmp(name, "larson") || !strcmp(name, "xmalloc") || !strcmp(name, "cache_scratch")) {
    ck_assert_uint_eq(t.nthreads, 4);
    ck_assert_uint_gt(t.nsyncs, 0);
  }
  /* Binary -> text -> binary keeps every op, thread and the global order:
   * the second binary file is byte for byte the first. */
  tb_trace_t u;
  ck_assert(tb_trace_save(&t, tmp("g1.txt"), TB_TRACE_TEXT, TB_COMPRESS_NONE, err, sizeof err) == 0);
  ck_assert_msg(tb_trace_load(tmp("g1.txt"), &u, err, sizeof err) == 0, "%s", err);
  ck_assert(same_trace(&t, &u));
  ck_assert(tb_trace_save(&u, tmp("g4"), TB_TRACE_BINARY, TB_COMPRESS_NONE, err, sizeof err) == 0);
  size_t n4;
  a = get_file(tmp("g1"), &n1);
  char *d = get_file(tmp("g4"), &n4);
  ck_assert_uint_eq(n1, n4);
  ck_assert(memcmp(a, d, n1) == 0);
  free(a), free(d);
  tb_trace_free(&u);
  tb_trace_free(&t);
}
END_TEST

START_TEST(generator_bad_params) {
  char err[512];
  const tb_generator_t *g;
  tb_gen_params_t p;
  ck_assert(tb_gen_parse_spec("nosuch:seed=1", &g, &p, err, sizeof err) != 0);
  ck_assert(strstr(err, "unknown generator 'nosuch'") != NULL);
  ck_assert(tb_gen_parse_spec("larson:seed", &g, &p, err, sizeof err) != 0);
  ck_assert(tb_gen_parse_spec("larson:seed=1,threads=2", &g, &p, err, sizeof err) == 0);
  ck_assert_uint_eq(p.n, 2);
  ck_assert(tb_gen_parse_spec("larson:bogus=3", &g, &p, err, sizeof err) == 0);
  ck_assert(tb_gen_to_file(g, &p, tmp("x"), TB_TRACE_BINARY, TB_COMPRESS_NONE, err, sizeof err) != 0);
  ck_assert(strstr(err, "no parameter 'bogus'") != NULL);
  ck_assert(!exists(tmp("x")));
  ck_assert(tb_gen_parse_spec("mix:dist=normal", &g, &p, err, sizeof err) == 0);
  ck_assert(tb_gen_to_file(g, &p, tmp("x"), TB_TRACE_BINARY, TB_COMPRESS_NONE, err, sizeof err) != 0);
  ck_assert(strstr(err, "dist=normal") != NULL);
  ck_assert(!exists(tmp("x")));
}
END_TEST

int main(void) {
  if (!tb_test_tmpdir(dir, sizeof dir, "trace")) return 1;
  Suite *s = suite_create("trace");
  TCase *tc = tcase_create("formats");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, text_binary_round_trip);
  tcase_add_test(tc, syncs_for_cross_thread_objects);
  tcase_add_loop_test(tc, bad_text_inputs, 0, (int)(sizeof bad_text / sizeof bad_text[0]));
  tcase_add_test(tc, bad_binary_inputs);
  tcase_add_test(tc, writer_abort_leaves_nothing);
  tcase_add_loop_test(tc, generators_deterministic, 0, (int)(sizeof gen_small / sizeof gen_small[0]));
  tcase_add_test(tc, generator_bad_params);
  suite_add_tcase(s, tc);
  return tb_test_run(s, dir);
}
