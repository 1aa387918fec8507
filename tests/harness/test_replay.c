/* test_replay.c: the replay engine on every registered allocator at check
 * level 3 (multi-threaded traces with cross-thread frees, single-threaded
 * traces with every touch mode, one-stream traces replicated over threads),
 * the loop's dispatch (a spy allocator logs that every op makes exactly its
 * own call, in order, with the right arguments; corrupt op codes stop the
 * run), the results writer's all-or-nothing files, and `testbed run` on each kind
 * of bad input: exit status 2, "FILE:LINE" in the message, no output. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen.h"
#include "replay.h"
#include "results.h"
#include "tb_alloc.h"
#include "trace.h"
#include "tb_testutil.h"

static char dir[256];
static const char *testbed = "testbed";
static char **emulator; /* cross builds: the emulator command to run testbed with */
static int nemulator;

static const char *tmp(const char *name) {
  static char buf[16][512];
  static int k;
  char *b = buf[k++ % 16];
  snprintf(b, 512, "%s/%s", dir, name);
  return b;
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static char *get_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static void gen_load(const char *spec, tb_trace_t *t) {
  char err[512];
  const tb_generator_t *g;
  tb_gen_params_t p;
  ck_assert_msg(tb_gen_parse_spec(spec, &g, &p, err, sizeof err) == 0, "%s", err);
  const char *path = tmp("gen.tbt");
  ck_assert_msg(tb_gen_to_file(g, &p, path, TB_TRACE_BINARY, TB_COMPRESS_NONE, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(tb_trace_load(path, t, err, sizeof err) == 0, "%s", err);
}

static const char *const mt_specs[] = {
    "larson:threads=4:slots=100:ops=300:rounds=4:seed=2",
    "xmalloc:threads=4:batch=50:rounds=10:seed=3",
    "cache_scratch:threads=3:iters=10:rounds=3",
};

START_TEST(multithreaded_cross_thread_frees_level3) {
  tb_trace_t t;
  gen_load(mt_specs[_i], &t);
  ck_assert_uint_gt(t.nthreads, 1);
  ck_assert_uint_gt(t.nsyncs, 0); /* objects do pass between threads */
  const tb_allocator_t *a;
  size_t n = 0;
  for (size_t i = 0; (a = tb_allocator_at(i, 3)) != NULL; i++) {
    if (!tb_allocator_in_process(a)) continue; /* a peer: only in a process of its own (test_peers.sh) */
    n++;
    char err[512] = "";
    tb_replay_cfg_t cfg = {.alloc = a, .touch = TB_TOUCH_TRACE, .validate = true};
    tb_replay_result_t r;
    int rc = tb_replay_run(&t, &cfg, &r, err, sizeof err);
    ck_assert_msg(rc == 0, "%s on %s: %s", a->name, mt_specs[_i], err);
    ck_assert_uint_eq(r.threads, t.nthreads);
    ck_assert_uint_eq(r.ops, t.total_ops);
    ck_assert(r.seconds > 0);
  }
  ck_assert_uint_ge(n, 2); /* at least glibc and bump */
  tb_trace_free(&t);
}
END_TEST

static const char *const st_specs[] = {
    "mix:dist=pareto:ops=2000:live=200",
    "list:nodes=200:passes=2",
    "tree:nodes=200:passes=2",
    "realloc_copy:n=3",
    "hundred_lifo:n=3",
};

START_TEST(single_threaded_all_touch_modes_level3) {
  tb_trace_t t;
  gen_load(st_specs[_i], &t);
  const tb_allocator_t *a;
  for (size_t i = 0; (a = tb_allocator_at(i, 3)) != NULL; i++)
    for (int touch = TB_TOUCH_NONE; touch <= TB_TOUCH_FULL && tb_allocator_in_process(a); touch++) {
      char err[512] = "";
      tb_replay_cfg_t cfg = {.alloc = a, .touch = (tb_touch_t)touch, .validate = true};
      tb_replay_result_t r;
      ck_assert_msg(tb_replay_run(&t, &cfg, &r, err, sizeof err) == 0, "%s: %s", a->name, err);
      ck_assert_uint_eq(r.threads, 1);
      if (a->caps & TB_CAP_STATS) ck_assert_uint_ne(r.stats.peak_committed_bytes, TB_STAT_NA);
    }
  tb_trace_free(&t);
}
END_TEST

START_TEST(one_stream_replicated_over_threads) {
  tb_trace_t t;
  gen_load("mix:ops=2000:live=100", &t);
  ck_assert_uint_eq(t.nthreads, 1);
  const tb_allocator_t *a;
  for (size_t i = 0; (a = tb_allocator_at(i, 3)) != NULL; i++) {
    if (!tb_allocator_in_process(a)) continue;
    char err[512] = "";
    tb_replay_cfg_t cfg = {.alloc = a, .touch = TB_TOUCH_FULL, .copies = 3, .validate = true};
    tb_replay_result_t r;
    ck_assert_msg(tb_replay_run(&t, &cfg, &r, err, sizeof err) == 0, "%s: %s", a->name, err);
    ck_assert_uint_eq(r.threads, 3);
    ck_assert_uint_eq(r.ops, 3 * t.total_ops);
  }
  /* A multi-stream trace cannot be replicated. */
  tb_trace_t m;
  gen_load(mt_specs[0], &m);
  char err[512];
  tb_replay_cfg_t cfg = {.alloc = tb_allocator_find("glibc", 0), .copies = 2};
  tb_replay_result_t r;
  ck_assert(tb_replay_run(&m, &cfg, &r, err, sizeof err) != 0);
  tb_trace_free(&m);
  tb_trace_free(&t);
}
END_TEST

/* ---- the dispatch: every op makes exactly its own allocator call -------- */

/* A spy allocator over glibc that logs each call. */
struct tb_heap_s {
  int unused;
};
typedef struct {
  int code; /* the tb_opcode_t the call stands for */
  size_t size, align;
  uintptr_t in, out; /* pointer passed (realloc, free) and returned */
} spy_call_t;
enum { SPY_MAX = 8192 };
static spy_call_t spy_log[SPY_MAX];
static size_t spy_n;
static struct tb_heap_s spy_heap;

static void spy_rec(int code, size_t size, size_t align, uintptr_t in, void *out) {
  if (spy_n < SPY_MAX) spy_log[spy_n] = (spy_call_t){code, size, align, in, (uintptr_t)out};
  spy_n++;
}
static tb_heap_t *spy_create(const tb_heap_opts_t *o) {
  (void)o;
  spy_n = 0;
  return &spy_heap;
}
static void spy_destroy(tb_heap_t *h) { (void)h; }
static void *spy_malloc(tb_heap_t *h, size_t n) {
  (void)h;
  void *p = malloc(n ? n : 1);
  spy_rec(TB_OP_MALLOC, n, 0, 0, p);
  return p;
}
static void *spy_calloc(tb_heap_t *h, size_t k, size_t n) {
  (void)h;
  void *p = calloc(k ? k : 1, n ? n : 1);
  spy_rec(TB_OP_CALLOC, k * n, 0, 0, p);
  return p;
}
static void *spy_realloc(tb_heap_t *h, void *q, size_t n) {
  (void)h;
  size_t k = spy_n; /* logged before the call: q is dead after it */
  spy_rec(TB_OP_REALLOC, n, 0, (uintptr_t)q, NULL);
  void *p = realloc(q, n ? n : 1);
  if (k < SPY_MAX) spy_log[k].out = (uintptr_t)p;
  return p;
}
static void *spy_aligned(tb_heap_t *h, size_t a, size_t n) {
  (void)h;
  void *p = NULL;
  if (posix_memalign(&p, a < sizeof(void *) ? sizeof(void *) : a, n ? n : 1)) p = NULL;
  spy_rec(TB_OP_ALIGNED, n, a, 0, p);
  return p;
}
static void spy_free(tb_heap_t *h, void *q) {
  (void)h;
  spy_rec(TB_OP_FREE, 0, 0, (uintptr_t)q, NULL);
  free(q);
}
static size_t spy_usable(tb_heap_t *h, const void *p) {
  (void)h;
  (void)p;
  return 0;
}
static void spy_stats(tb_heap_t *h, tb_stats_t *st) {
  (void)h;
  tb_stats_clear(st);
}
static const tb_allocator_t spy = {.name = "spy", .description = "logs calls", .check_level = -1,
                                   .create = spy_create, .destroy = spy_destroy, .malloc = spy_malloc,
                                   .free = spy_free, .calloc = spy_calloc, .realloc = spy_realloc,
                                   .aligned_alloc = spy_aligned, .usable_size = spy_usable, .stats = spy_stats};

/* A random one-stream trace using every op kind, built in memory. */
static void random_trace(tb_trace_t *t, tb_op_t *ops, size_t nops, uint32_t nobjects, uint64_t seed) {
  uint64_t x = seed;
  uint64_t *size = calloc(nobjects, sizeof *size);
  bool *live = calloc(nobjects, sizeof *live);
  memset(t, 0, sizeof *t);
  for (size_t i = 0; i < nops; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t id = (uint32_t)((x >> 33) % nobjects);
    unsigned k = (unsigned)((x >> 20) % 8);
    tb_op_t op = {.id = id};
    if (!live[id]) {
      op.code = k < 4 ? TB_OP_MALLOC : k < 6 ? TB_OP_CALLOC : TB_OP_ALIGNED;
      op.arg = (x >> 40) % 600;
      if (op.code == TB_OP_ALIGNED) op.align = (uint8_t)(4 + (x >> 12) % 4);
      live[id] = true;
      size[id] = op.arg;
    } else if (k < 3) {
      op.code = TB_OP_FREE;
      live[id] = false;
    } else if (k < 5) {
      op.code = TB_OP_REALLOC;
      op.arg = 1 + (x >> 40) % 900;
      size[id] = op.arg;
    } else if (size[id] > 0) {
      op.code = k < 7 ? TB_OP_READ : TB_OP_WRITE;
      uint32_t off = (uint32_t)((x >> 8) % size[id]);
      op.arg = off | (uint64_t)(size[id] - off) << 32;
    } else {
      op.code = TB_OP_FREE;
      live[id] = false;
    }
    ops[i] = op;
    t->total_ops++;
  }
  free(size);
  free(live);
  static tb_op_t *streams[1];
  static size_t lens[1];
  streams[0] = ops;
  lens[0] = nops;
  t->nthreads = 1;
  t->nobjects = nobjects;
  t->ops = streams;
  t->nops = lens;
}

START_TEST(dispatch_makes_each_call_in_order) {
  enum { N = 6000, OBJ = 64 };
  static tb_op_t ops[N];
  tb_trace_t t;
  random_trace(&t, ops, N, OBJ, 12345);
  size_t allocator_ops = 0, kinds[9] = {0};
  for (size_t i = 0; i < N; i++) {
    kinds[ops[i].code]++;
    allocator_ops += ops[i].code <= TB_OP_FREE;
  }
  for (int c = TB_OP_MALLOC; c <= TB_OP_WRITE; c++) ck_assert_msg(kinds[c] > 0, "the trace lacks op %d", c);
  for (int touch = TB_TOUCH_NONE; touch <= TB_TOUCH_FULL; touch++) {
    char err[512] = "";
    tb_replay_cfg_t cfg = {.alloc = &spy, .touch = (tb_touch_t)touch};
    tb_replay_result_t r;
    ck_assert_msg(tb_replay_run(&t, &cfg, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(r.ops, touch == TB_TOUCH_NONE ? allocator_ops : N);
    /* The log holds the window's calls, then the frees of leftovers. */
    ck_assert_uint_ge(spy_n, allocator_ops);
    ck_assert_uint_le(spy_n, allocator_ops + OBJ);
    uintptr_t where[OBJ] = {0};
    size_t c = 0, bad = SIZE_MAX;
    for (size_t i = 0; i < N && bad == SIZE_MAX; i++) {
      const tb_op_t *op = &ops[i];
      if (op->code > TB_OP_FREE) continue;
      const spy_call_t *s = &spy_log[c++];
      bool ok = s->code == op->code;
      if (op->code == TB_OP_FREE) {
        ok &= s->in == where[op->id];
        where[op->id] = 0;
      } else {
        ok &= s->size == op->arg && s->out != 0;
        if (op->code == TB_OP_REALLOC) ok &= s->in == where[op->id];
        if (op->code == TB_OP_ALIGNED) ok &= s->align == (size_t)1 << op->align;
        where[op->id] = s->out;
      }
      if (!ok) bad = i;
    }
    ck_assert_msg(bad == SIZE_MAX, "touch %d: op %zu (code %d) did not make its own call", touch, bad, ops[bad].code);
    bool rest_are_leftover_frees = true;
    for (size_t k = c; k < spy_n; k++) rest_are_leftover_frees &= spy_log[k].code == TB_OP_FREE && spy_log[k].in;
    ck_assert(rest_are_leftover_frees);
  }
}
END_TEST

/* The dry replay (cfg.dry, the dispatch floor testbed run --overhead
 * prints) walks the same trace, every touch mode and the multi-threaded
 * loop included, without calling the allocator once and without touching
 * memory (the slots hold tokens that a touch would fault on), and still
 * counts the same ops and stops at a corrupt op. */
START_TEST(dry_replay_calls_nothing) {
  enum { N = 6000, OBJ = 64 };
  static tb_op_t ops[N];
  tb_trace_t t;
  random_trace(&t, ops, N, OBJ, 777);
  size_t allocator_ops = 0;
  for (size_t i = 0; i < N; i++) allocator_ops += ops[i].code <= TB_OP_FREE;
  for (int touch = TB_TOUCH_NONE; touch <= TB_TOUCH_FULL; touch++)
    for (uint32_t copies = 1; copies <= 2; copies++) {
      char err[512] = "";
      tb_replay_cfg_t cfg = {.alloc = &spy, .touch = (tb_touch_t)touch, .copies = copies, .dry = true};
      tb_replay_result_t r;
      ck_assert_msg(tb_replay_run(&t, &cfg, &r, err, sizeof err) == 0, "%s", err);
      ck_assert_uint_eq(r.ops, copies * (touch == TB_TOUCH_NONE ? allocator_ops : N));
      ck_assert_uint_eq(r.threads, copies);
      ck_assert_msg(spy_n == 0, "touch %d, %u copies: the dry replay made %zu allocator calls", touch, copies, spy_n);
    }
  ops[N / 2].code = 200;
  char err[512] = "";
  tb_replay_cfg_t cfg = {.alloc = &spy, .dry = true};
  tb_replay_result_t r;
  ck_assert_int_ne(tb_replay_run(&t, &cfg, &r, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "corrupt decoded op"), "%s", err);
  ck_assert_uint_eq(spy_n, 0);
}
END_TEST

START_TEST(dispatch_rejects_corrupt_ops) {
  static const uint8_t corrupt[] = {0, 9, 15, 200};
  tb_op_t ops[4] = {{.code = TB_OP_MALLOC, .id = 0, .arg = 10},
                    {.code = TB_OP_FREE, .id = 0},
                    {.code = TB_OP_MALLOC, .id = 0, .arg = 20},
                    {.code = corrupt[_i], .id = 0}};
  tb_op_t *streams[1] = {ops};
  size_t lens[1] = {4};
  tb_trace_t t = {.nthreads = 1, .nobjects = 1, .ops = streams, .nops = lens, .total_ops = 4};
  char err[512] = "";
  tb_replay_cfg_t cfg = {.alloc = &spy};
  tb_replay_result_t r;
  ck_assert_int_ne(tb_replay_run(&t, &cfg, &r, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "op 3") && strstr(err, "corrupt decoded op"), "%s", err);
  ck_assert_uint_eq(spy_n, 4); /* malloc, free, malloc, then the leftover's free */
}
END_TEST

START_TEST(results_all_or_nothing) {
  char err[512];
  char *argv[] = {"testbed", "run", "--x", "a b", NULL};
  const char *d = tmp("res/new/dir");
  tb_results_t *r = tb_results_open(d, TB_RESULTS_NEW, 4, argv, err, sizeof err);
  ck_assert_ptr_nonnull(r);
  tb_results_row(r, "e", "glibc", "w,1", "replay", "host", 1, 1, "ops", 5, false, "1");
  tb_results_abort(r);
  ck_assert(!exists(d)); /* made by open, empty again, removed */
  r = tb_results_open(d, TB_RESULTS_NEW, 4, argv, err, sizeof err);
  tb_results_row(r, "e", "glibc", "w,1", "replay", "host", 2, 3, "ops", 5, false, "1");
  tb_results_row(r, "e", "glibc", "w,1", "replay", "host", 2, 3, "peak_heap_bytes", 0, true, "B");
  tb_results_row(r, "e", "glibc", "w,1", "replay", "host", 2, 3, "ns_per_op", 2.5, false, "ns");
  tb_results_meta_num(r, "check_level", 3);
  ck_assert(!exists(tmp("res/new/dir/results.csv")));
  ck_assert_int_eq(tb_results_commit(r, err, sizeof err), 0);
  char *csv = get_file(tmp("res/new/dir/results.csv"));
  ck_assert_ptr_nonnull(csv);
  ck_assert_str_eq(csv, "# command: testbed run --x 'a b'\n" TB_RESULTS_HEADER "\n"
                        "e,glibc,\"w,1\",replay,host,2,3,ops,5,1\n"
                        "e,glibc,\"w,1\",replay,host,2,3,peak_heap_bytes,NA,B\n"
                        "e,glibc,\"w,1\",replay,host,2,3,ns_per_op,2.5,ns\n");
  char *meta = get_file(tmp("res/new/dir/meta.json"));
  ck_assert_ptr_nonnull(meta);
  ck_assert_ptr_nonnull(strstr(meta, "\"check_level\": 3"));
  ck_assert_ptr_nonnull(strstr(meta, "\"commit\": "));
  ck_assert_ptr_nonnull(strstr(meta, "\"compiler\": "));
  ck_assert_ptr_nonnull(strstr(meta, "\"machine\": {"));
  ck_assert(meta[strlen(meta) - 2] == '}');
}
END_TEST

/* Run testbed with args (NULL-terminated) and stderr to a file; returns the
 * exit status. */
static int run_testbed(const char *const *args, char **errout) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE *e = freopen(tmp("stderr"), "w", stderr);
    (void)e;
    FILE *o = freopen("/dev/null", "w", stdout);
    (void)o;
    const char *argv[48];
    int n = 0;
    for (int i = 0; i < nemulator && i < 16; i++) argv[n++] = emulator[i];
    argv[n++] = testbed;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  *errout = get_file(tmp("stderr"));
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const struct {
  const char *trace; /* contents of the workload file, or NULL: see args */
  const char *alloc;
  const char *workload; /* when trace is NULL */
  const char *expect;   /* in the message; %s = the trace's path */
} bad_runs[] = {
    {"testbed-trace 1\n0 malloc 0 10\n0 frob 0\n", "glibc", NULL, "%s:3: unknown operation 'frob'"},
    {"testbed-trace 1\n0 malloc 0\n", "glibc", NULL, "%s:2: malformed malloc"},
    {"testbed-trace 1\n0 malloc 0 10\n0 free 0\n0 free 0\n", "glibc", NULL, "%s:4: free of id 0, which is not live"},
    {"testbed-trace 1\n0 write 4 0 1\n", "glibc", NULL, "%s:2: write of id 4, which is not live"},
    {"testbed-trace 1\n0 malloc 2 10\n0 calloc 2 10\n", "bump", NULL, "%s:3: calloc of id 2, which is still live"},
    {"testbed-trace 1\n0 malloc 2 10\n0 read 2 8 4\n", "glibc", NULL, "%s:3: read of bytes 8..11 of id 2, beyond"},
    {"TBTRACE1\x00\x01\x00\x05", "glibc", NULL, "%s: op 2: truncated"},
    {"testbed-trace 1\n0 malloc 0 10\n", "nosuch", NULL, "unknown allocator 'nosuch'"},
    {NULL, "glibc", "/nonexistent/trace.tbt", "/nonexistent/trace.tbt: cannot open"},
    {NULL, "glibc", "gen:nosuch:seed=1", "unknown generator 'nosuch'"},
    {NULL, "glibc", "gen:larson:frob=1", "no parameter 'frob'"},
    {"testbed-trace 1\n0 malloc 0 10\n", "inline,inline", NULL, "allocator 'inline' is named twice"},
};

START_TEST(run_bad_inputs) {
  const char *trace = tmp("bad-run.trace");
  if (bad_runs[_i].trace) {
    FILE *f = fopen(trace, "wb");
    size_t n = strlen(bad_runs[_i].trace);
    if (bad_runs[_i].trace[0] == 'T') n = 12; /* binary: holds NUL bytes */
    fwrite(bad_runs[_i].trace, 1, n, f);
    fclose(f);
  }
  const char *out = tmp("bad-run-out");
  const char *args[] = {"run", "--allocator", bad_runs[_i].alloc, "--workload",
                        bad_runs[_i].trace ? trace : bad_runs[_i].workload, "--runs", "1", "--out", out, NULL};
  char *err;
  int rc = run_testbed(args, &err);
  ck_assert_int_eq(rc, 2);
  char want[600];
  snprintf(want, sizeof want, bad_runs[_i].expect, trace);
  ck_assert_msg(err && strstr(err, want), "case %d: stderr '%s' lacks '%s'", _i, err ? err : "", want);
  ck_assert(!exists(out));
}
END_TEST

/* testbed run with args, which must succeed; its OUT/results.csv. */
static char *run_results(const char *const *args, const char *out) {
  char *err;
  ck_assert_int_eq(run_testbed(args, &err), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/results.csv", out);
  char *csv = get_file(path);
  ck_assert_ptr_nonnull(csv);
  return csv;
}

/* The peak of live bytes: where the loader finds it, a replay stopped
 * there (the allocator holds every block live at the peak), and the
 * metadata_bytes_at_peak row testbed run writes from such a replay. */
START_TEST(stop_at_the_peak) {
  const char *path = tmp("peak.txt");
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "testbed-trace 1\n");
  for (int i = 0; i < 200; i++) fprintf(f, "0 malloc %d 40\n", i);
  for (int i = 0; i < 200; i++) fprintf(f, "0 free %d\n", i);
  fprintf(f, "0 malloc 0 8\n0 free 0\n");
  ck_assert_int_eq(fclose(f), 0);
  tb_trace_t t;
  char err[512];
  ck_assert_msg(tb_trace_load(path, &t, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(t.peak_live_bytes, 200 * 40);
  ck_assert_uint_eq(t.peak_live_thread, 0);
  ck_assert_uint_eq(t.peak_live_op, 200);
  const tb_allocator_t *a = tb_allocator_find("inline", 0);
  ck_assert_ptr_nonnull(a);
  tb_trace_t upto;
  size_t upto_n;
  tb_trace_prefix(&t, t.peak_live_op, &upto, &upto_n);
  tb_replay_cfg_t cfg = {.alloc = a, .touch = TB_TOUCH_NONE};
  tb_replay_result_t peak, end;
  ck_assert_msg(tb_replay_run(&upto, &cfg, &peak, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(peak.ops, 200);
  ck_assert_uint_eq(peak.stats.live_blocks, 200);
  ck_assert_msg(tb_replay_run(&t, &cfg, &end, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(end.ops, 402);
  ck_assert_uint_eq(end.stats.live_blocks, 0);
  ck_assert_uint_ge(peak.stats.metadata_bytes, 200 * 8); /* a header per live block */
  ck_assert_uint_lt(end.stats.metadata_bytes, peak.stats.metadata_bytes);
  tb_trace_free(&t);

  const char *out = tmp("peak-out");
  const char *args[] = {"run", "--allocator", "inline", "--workload", path, "--runs", "1", "--out", out, "--backend", "none", NULL};
  char *csv = run_results(args, out);
  const char *row = strstr(csv, ",metadata_bytes_at_peak,");
  ck_assert_ptr_nonnull(row);
  ck_assert_uint_ge(strtoull(row + strlen(",metadata_bytes_at_peak,"), NULL, 10), 200 * 8);
  /* Every statistic is a row with its unit: inline counts 200 mallocs and
   * 201 frees (the leftover-free is after the window: not counted), and
   * the counters the list has; NA where the build counts nothing. */
  bool counted = tb_stats_enabled();
#define ROW(name, unit, kind, desc) \
  ck_assert_msg(strstr(csv, ",inline,peak.txt,replay,host,1,1," #name ","), "no row for " #name); \
  ck_assert_msg(strstr(strstr(csv, ",1,1," #name ","), "," unit "\n"), #name " lacks unit " unit);
  TB_STAT_FIELDS(ROW)
#undef ROW
  ck_assert_ptr_nonnull(strstr(csv, counted ? ",1,1,mallocs,201,1\n" : ",1,1,mallocs,NA,1\n"));
  ck_assert_ptr_nonnull(strstr(csv, counted ? ",1,1,frees,201,1\n" : ",1,1,frees,NA,1\n"));
  ck_assert_ptr_nonnull(strstr(csv, ",1,1,live_blocks,0,1\n"));
  const char *splits = strstr(csv, ",1,1,splits,");
  ck_assert_ptr_nonnull(splits);
  ck_assert(counted ? splits[strlen(",1,1,splits,")] != 'N' : !strncmp(splits + strlen(",1,1,splits,"), "NA,", 3));

  /* glibc cannot say how much of its heap is metadata: NA, never 0. */
  const char *gout = tmp("peak-glibc-out");
  const char *gargs[] = {"run", "--allocator", "glibc", "--workload", path, "--runs", "1", "--out", gout, "--backend", "none", NULL};
  csv = run_results(gargs, gout);
  ck_assert_ptr_nonnull(strstr(csv, ",glibc,peak.txt,replay,host,1,1,metadata_bytes,NA,B\n"));
  ck_assert_ptr_nonnull(strstr(csv, ",glibc,peak.txt,replay,host,1,1,splits,NA,1\n"));
}
END_TEST


/* Peak live bytes as the replay reaches them: two streams whose syncs make
 * both blocks live at once, whatever the trace's recorded figure says; and
 * a one-stream trace replicated over threads never exceeds the copies'
 * sum. */
START_TEST(peak_live_as_replayed) {
  static tb_op_t s0[] = {{.code = TB_OP_MALLOC, .id = 0, .arg = 1000},
                         {.code = TB_OP_SYNC, .id = 1, .arg = 0}, /* t1 has its block */
                         {.code = TB_OP_FREE, .id = 0}};
  static tb_op_t s1[] = {{.code = TB_OP_MALLOC, .id = 1, .arg = 3000},
                         {.code = TB_OP_SYNC, .id = 0, .arg = 0}, /* t0 has its block */
                         {.code = TB_OP_FREE, .id = 1}};
  static tb_op_t *streams[] = {s0, s1};
  static size_t lens[] = {3, 3};
  tb_trace_t t = {.nthreads = 2, .nobjects = 2, .ops = streams, .nops = lens, .total_ops = 4,
                  .peak_live_bytes = 3000 /* as a recorded order that frees first would say */};
  char err[512];
  for (int i = 0; tb_allocator_at(i, 3); i++) {
    const tb_allocator_t *a = tb_allocator_at(i, 3);
    for (int warm = 0; warm <= 1 && tb_allocator_in_process(a); warm++) {
      tb_replay_cfg_t cfg = {.alloc = a, .touch = TB_TOUCH_TRACE, .validate = true, .warmup = warm};
      tb_replay_result_t r;
      ck_assert_msg(tb_replay_run(&t, &cfg, &r, err, sizeof err) == 0, "%s: %s", a->name, err);
      ck_assert_msg(r.peak_live_bytes == 4000, "%s warm %d: %llu", a->name, warm, (unsigned long long)r.peak_live_bytes);
    }
  }
  /* one stream, 3 copies: at most 3 x its peak, at least its peak */
  tb_trace_t one;
  gen_load("mix:ops=3000:live=100", &one);
  tb_replay_cfg_t cfg = {.alloc = tb_allocator_find("inline", 0), .touch = TB_TOUCH_TRACE, .copies = 3};
  tb_replay_result_t r;
  ck_assert_msg(tb_replay_run(&one, &cfg, &r, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_le(r.peak_live_bytes, 3 * one.peak_live_bytes);
  ck_assert_uint_ge(r.peak_live_bytes, one.peak_live_bytes);
  cfg.copies = 1; /* one thread: the trace's own order */
  ck_assert_msg(tb_replay_run(&one, &cfg, &r, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(r.peak_live_bytes, one.peak_live_bytes);
  tb_trace_free(&one);
}
END_TEST

/* The field of one row of csv (allocator, run, metric), as a number; -1
 * for NA. */
static double row_value(const char *csv, const char *alloc, unsigned run, const char *metric) {
  char key[256];
  snprintf(key, sizeof key, ",%s,", metric);
  for (const char *l = csv; (l = strstr(l, key)); l++) {
    const char *bol = l;
    while (bol > csv && bol[-1] != '\n') bol--;
    char a[64], pre[64];
    snprintf(a, sizeof a, ",%s,", alloc);
    snprintf(pre, sizeof pre, ",%u", run);
    const char *ap = strstr(bol, a);
    if (!ap || ap > l) continue;
    if (strncmp(l - strlen(pre), pre, strlen(pre))) continue;
    const char *v = l + strlen(key);
    return !strncmp(v, "NA", 2) ? -1 : strtod(v, NULL);
  }
  ck_abort_msg("no row %s run %u %s", alloc, run, metric);
  return -1;
}

/* The timing protocols: every run is a fresh process (glibc's second run
 * faults as much as its first, as the designs' do); under warm, an
 * untimed replay on the same heap comes first, so a design that keeps its
 * memory takes (nearly) no faults in the window, and its counters count
 * the window alone. bump is pre-faulted in every touch mode. */
START_TEST(timing_protocols) {
  const char *path = tmp("proto.txt");
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "testbed-trace 1\n");
  for (int i = 0; i < 64; i++) fprintf(f, "0 malloc %d 4000\n", i); /* 256 KB, below any large threshold */
  for (int i = 0; i < 64; i++) fprintf(f, "0 free %d\n", i);
  ck_assert_int_eq(fclose(f), 0);
  long page = sysconf(_SC_PAGESIZE);
  double pages = 64.0 * 4000 / (double)page;
  const char *out[2] = {tmp("proto-fresh"), tmp("proto-warm")};
  for (int warm = 0; warm <= 1; warm++) {
    const char *args[] = {"run", "--allocator", "inline,glibc,bump", "--workload", path, "--runs", "2", "--out",
                          out[warm], "--backend", "none", "--touch", "full", "--protocol", warm ? "warm" : "fresh",
                          NULL};
    char *csv = strdup(run_results(args, out[warm]));
    for (unsigned run = 1; run <= 2; run++) {
      ck_assert(row_value(csv, "inline", run, "warmup_replays") == warm);
      ck_assert(row_value(csv, "bump", run, "page_faults") < pages / 4); /* pre-faulted, touch full or not */
      double in = row_value(csv, "inline", run, "page_faults"), gl = row_value(csv, "glibc", run, "page_faults");
      if (warm) {
        ck_assert_msg(in < pages / 4, "warm inline run %u: %g faults", run, in);
      } else {
        ck_assert_msg(in >= pages / 2, "fresh inline run %u: %g faults", run, in);
        ck_assert_msg(gl >= pages / 2, "fresh glibc run %u: %g faults (a process of its own)", run, gl);
      }
      if (tb_stats_enabled()) ck_assert(row_value(csv, "inline", run, "mallocs") == 64);
    }
    char mpath[600];
    snprintf(mpath, sizeof mpath, "%s/meta.json", out[warm]);
    char *meta = get_file(mpath);
    ck_assert_ptr_nonnull(strstr(meta, warm ? "\"protocol\": \"warm\"" : "\"protocol\": \"fresh\""));
    free(csv);
  }
}
END_TEST

START_TEST(run_end_to_end) {
  const char *out = tmp("good-out");
  const char *args[] = {"run", "--allocator", "glibc,bump", "--workload", "gen:larson:threads=2:slots=20:ops=50:rounds=2",
                        "--runs", "2", "--out", out, "--check-level", "3", "--experiment", "e2e", "--backend", "none", "--pin", NULL};
  char *csv = run_results(args, out);
  ck_assert(strncmp(csv, "# command: ", 11) == 0);
  ck_assert_ptr_nonnull(strstr(csv, "\n" TB_RESULTS_HEADER "\n"));
  /* 2 allocators x 2 runs x (11 replay metrics + every statistic) rows,
   * each at level 3, 2 threads. */
  int rows = 0;
  bool all_l3 = true;
  for (char *l = strchr(csv, '\n') + 1; (l = strchr(l, '\n')) && l[1]; l++) {
    rows++;
    all_l3 = all_l3 && !strncmp(l + 1, "e2e:l3,", 7);
  }
#define ONE(name, unit, kind, desc) +1
  ck_assert_int_eq(rows, 2 * 2 * (11 TB_STAT_FIELDS(ONE)));
#undef ONE
  ck_assert(all_l3);
  ck_assert_ptr_nonnull(strstr(csv, "e2e:l3,glibc,larson:threads=2:slots=20:ops=50:rounds=2,replay,host,2,2,peak_heap_bytes,NA,B"));
  ck_assert_ptr_nonnull(strstr(csv, ",bump,"));
  /* two streams: no single point of the peak to stop at */
  ck_assert_ptr_nonnull(strstr(csv, "e2e:l3,bump,larson:threads=2:slots=20:ops=50:rounds=2,replay,host,2,1,metadata_bytes_at_peak,NA,B"));
  char path[600];
  snprintf(path, sizeof path, "%s/meta.json", out);
  char *meta = get_file(path);
  ck_assert_ptr_nonnull(meta);
  ck_assert_ptr_nonnull(strstr(meta, "\"check_level\": 3"));
  /* --pin on a 2-thread replay: each thread got its own core, or the
   * failure is recorded (a machine with one core cannot pin 2 threads). */
  ck_assert(strstr(meta, "\"pinned\": \"yes\"") || strstr(meta, "\"pin_error\": "));
  ck_assert_ptr_nonnull(strstr(meta, "\"topology\": {"));
  ck_assert_ptr_nonnull(strstr(meta, "\"backends\": \"none\""));
}
END_TEST

int main(int argc, char **argv) {
  if (argc > 1) testbed = argv[1];
  emulator = argv + 2;
  nemulator = argc > 2 ? argc - 2 : 0;
  if (!tb_test_tmpdir(dir, sizeof dir, "replay")) return 1;
  Suite *s = suite_create("replay");
  TCase *tc = tcase_create("replay");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, multithreaded_cross_thread_frees_level3, 0, (int)(sizeof mt_specs / sizeof mt_specs[0]));
  tcase_add_loop_test(tc, single_threaded_all_touch_modes_level3, 0, (int)(sizeof st_specs / sizeof st_specs[0]));
  tcase_add_test(tc, one_stream_replicated_over_threads);
  tcase_add_test(tc, dispatch_makes_each_call_in_order);
  tcase_add_test(tc, dry_replay_calls_nothing);
  tcase_add_loop_test(tc, dispatch_rejects_corrupt_ops, 0, 4);
  tcase_add_test(tc, results_all_or_nothing);
  tcase_add_loop_test(tc, run_bad_inputs, 0, (int)(sizeof bad_runs / sizeof bad_runs[0]));
  tcase_add_test(tc, stop_at_the_peak);
  tcase_add_test(tc, run_end_to_end);
  tcase_add_test(tc, peak_live_as_replayed);
  tcase_add_test(tc, timing_protocols);
  suite_add_tcase(s, tc);
  return tb_test_run(s, dir);
}
