/* cmd_run.c: `testbed run`: replays a workload on one or more allocators,
 * N runs each, with measurement backends around the window, and writes
 * DIR/results.csv and DIR/meta.json (harness/results.h). Everything that
 * can be wrong with the input (options, allocators, workload, backends) is
 * checked before the output directory is touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "gen.h"
#include "replay.h"
#include "topology.h"
#include "results.h"
#include "tb_alloc.h"
#include "tb_cli.h"
#include "trace.h"

#define MAX_ALLOCS 16

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed run --allocator A[,B...] --workload W --runs N --out DIR\n"
          "                   [--threads T] [--touch none|trace|full] [--check-level L]\n"
          "                   [--backend LIST|default|none] [--experiment NAME] [--overhead] [--pin]\n"
          "                   [--force | --append]\n\n"
          "Replays workload W (a trace file, or gen:NAME[:KEY=VALUE...], see testbed gen)\n"
          "N times on a fresh heap of each allocator, compiled at check level L (default\n"
          "%d), and writes DIR/results.csv and DIR/meta.json, both only when every run\n"
          "succeeded.\n\n"
          "  --threads T   a multi-stream trace replays one thread per stream and T must\n"
          "                equal its stream count; a one-stream trace is replayed by T\n"
          "                threads at once as T independent copies; a generator gets\n"
          "                threads=T when it takes that parameter. Heaps are LOCKED when\n"
          "                more than one thread replays, else SINGLE.\n"
          "  --touch       none: skip the trace's read/write ops; trace (default): replay\n"
          "                them; full: also write every byte of each new block.\n"
          "  --backend     measurement backends (testbed list names them) around the\n"
          "                window, e.g. timer,cachegrind:host; 'default' (also when\n"
          "                the option is absent) picks this machine's set and says why;\n"
          "                'none' records only the replay's own metrics.\n"
          "  --force       DIR may hold a run set: replace it (its plots/, summary.csv\n"
          "                and job folders go too). Without --force or --append a\n"
          "                DIR that is not empty is refused before anything runs.\n"
          "  --append      add this command's rows to the run set in DIR (a row that\n"
          "                is there already fails; plots/ and summary.csv, stale, go).\n"
          "  --pin         bind replay thread t to core t (hwloc); recorded in meta.json.\n"
          "  --overhead    also replay with bump and print the harness's cost per op,\n"
          "                and the loop's dispatch alone (no allocator calls).\n\n"
          "Rows: experiment column is NAME:l<L> (NAME default 'adhoc', L the check\n"
          "level); backend 'replay' marks the replay's own metrics (profile 'host'):\n"
          "ops, seconds, ns_per_op, peak_live_bytes (the trace's ideal), peak_heap_bytes\n"
          "(allocator's peak committed), fragmentation (peak_heap/peak_live),\n"
          "max_rss_bytes (peak RSS in the window, decoded trace included), page_faults\n"
          "(in the window), metadata_bytes (at the end of the window),\n"
          "metadata_bytes_at_peak (when the live bytes first peak: a second, unmeasured\n"
          "replay of a single-stream trace stopped there; NA for several streams). NA\n"
          "when the allocator or the system cannot tell.\n",
          tb_default_check_level());
}

typedef struct {
  tb_results_t *res;
  const char *experiment, *allocator, *workload, *backend, *profile;
  unsigned threads, run;
} emit_ctx_t;

static void emit_row(void *ctx, const char *metric, double value, bool na, const char *unit) {
  emit_ctx_t *e = ctx;
  if (e->res)
    tb_results_row(e->res, e->experiment, e->allocator, e->workload, e->backend, e->profile, e->threads, e->run, metric,
                   value, na, unit);
}

static double stat_or_nan(uint64_t v) { return v == TB_STAT_NA ? -1.0 : (double)v; }

/* The replay's own metrics of one run. */
static void emit_replay(emit_ctx_t *e, const tb_trace_t *t, const tb_replay_result_t *r, uint32_t copies) {
  double live = (double)t->peak_live_bytes * (copies > 1 ? copies : 1);
  double heap = stat_or_nan(r->stats.peak_committed_bytes);
  double meta = stat_or_nan(r->stats.metadata_bytes);
  emit_row(e, "ops", (double)r->ops, false, "1");
  emit_row(e, "seconds", r->seconds, false, "s");
  emit_row(e, "ns_per_op", r->ops ? r->seconds * 1e9 / (double)r->ops : 0, r->ops == 0, "ns");
  emit_row(e, "peak_live_bytes", live, false, "B");
  emit_row(e, "peak_heap_bytes", heap, heap < 0, "B");
  emit_row(e, "fragmentation", heap >= 0 && live > 0 ? heap / live : 0, heap < 0 || live <= 0, "1");
  emit_row(e, "max_rss_bytes", (double)r->max_rss_bytes, !r->rss_ok, "B");
  emit_row(e, "page_faults", (double)r->page_faults, !r->faults_ok, "1");
  emit_row(e, "metadata_bytes", meta, meta < 0, "B");
}

/* Resolve W: a generator spec is generated to a temporary file first. */
static int load_workload(const char *w, unsigned threads, tb_trace_t *t, char *err, size_t errlen) {
  if (strncmp(w, "gen:", 4) != 0) return tb_trace_load(w, t, err, errlen);
  const tb_generator_t *g;
  tb_gen_params_t p;
  if (tb_gen_parse_spec(w + 4, &g, &p, err, errlen)) return -1;
  if (threads) {
    bool takes = false, given = false;
    for (size_t k = 0; g->keys[k]; k++) takes = takes || !strcmp(g->keys[k], "threads");
    for (size_t k = 0; k < p.n; k++) given = given || !strcmp(p.key[k], "threads");
    char kv[64];
    snprintf(kv, sizeof kv, "threads=%u", threads);
    if (takes && !given && tb_gen_param_add(&p, kv, err, errlen)) return -1;
  }
  const char *tmpdir = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/testbed-gen-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) {
    snprintf(err, errlen, "%.200s: cannot create a temporary file: %s", path, strerror(errno));
    return -1;
  }
  close(fd);
  char gerr[512];
  int rc = tb_gen_to_file(g, &p, path, TB_TRACE_BINARY, TB_COMPRESS_NONE, gerr, sizeof gerr);
  if (rc)
    snprintf(err, errlen, "%s: %s", w, gerr);
  else
    rc = tb_trace_load(path, t, err, errlen);
  unlink(path);
  return rc;
}

static const char *base_name(const char *p) {
  if (!strncmp(p, "gen:", 4)) return p + 4;
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

typedef struct {
  const tb_backend_t *b;
  const char *spec, *profile;
} bk_t;

static int run_main(int argc, char **argv) {
  const char *alloc_list = NULL, *workload = NULL, *out = NULL, *touch_s = "trace", *backend_s = NULL,
             *experiment = "adhoc";
  unsigned long long runs = 0, threads = 0, level = (unsigned long long)tb_default_check_level();
  bool overhead = false, runs_given = false, pin = false;
  tb_results_mode_t mode = TB_RESULTS_NEW;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has = i + 1 < argc;
    if (tb_cli_is_help(a)) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--allocator") && has) {
      alloc_list = argv[++i];
    } else if (!strcmp(a, "--workload") && has) {
      workload = argv[++i];
    } else if (!strcmp(a, "--runs") && has) {
      if (!tb_cli_parse_u64(argv[++i], &runs) || runs < 1 || runs > 100000)
        return tb_cli_usage_error("run", "--runs wants a number 1..100000, not '%s'", argv[i]);
      runs_given = true;
    } else if (!strcmp(a, "--out") && has) {
      out = argv[++i];
    } else if (!strcmp(a, "--threads") && has) {
      if (!tb_cli_parse_u64(argv[++i], &threads) || threads < 1 || threads > 1024)
        return tb_cli_usage_error("run", "--threads wants a number 1..1024, not '%s'", argv[i]);
    } else if (!strcmp(a, "--touch") && has) {
      touch_s = argv[++i];
    } else if (!strcmp(a, "--check-level") && has) {
      if (!tb_cli_parse_u64(argv[++i], &level) || level > 3)
        return tb_cli_usage_error("run", "--check-level wants 0..3, not '%s'", argv[i]);
    } else if (!strcmp(a, "--backend") && has) {
      backend_s = argv[++i];
    } else if (!strcmp(a, "--experiment") && has) {
      experiment = argv[++i];
    } else if (!strcmp(a, "--pin")) {
      pin = true;
    } else if (!strcmp(a, "--force") || !strcmp(a, "--append")) {
      tb_results_mode_t m = a[2] == 'f' ? TB_RESULTS_FORCE : TB_RESULTS_APPEND;
      if (mode != TB_RESULTS_NEW && mode != m) return tb_cli_usage_error("run", "--force and --append exclude each other");
      mode = m;
    } else if (!strcmp(a, "--overhead")) {
      overhead = true;
    } else {
      return tb_cli_usage_error("run", "unknown option or missing value '%s'", a);
    }
  }
  if (!alloc_list || !workload || !out || !runs_given)
    return tb_cli_usage_error("run", "needs --allocator, --workload, --runs and --out");
  tb_touch_t touch;
  if (!strcmp(touch_s, "none")) touch = TB_TOUCH_NONE;
  else if (!strcmp(touch_s, "trace")) touch = TB_TOUCH_TRACE;
  else if (!strcmp(touch_s, "full")) touch = TB_TOUCH_FULL;
  else return tb_cli_usage_error("run", "--touch wants none, trace or full, not '%s'", touch_s);
  if (!*experiment || strpbrk(experiment, ",\"\n"))
    return tb_cli_usage_error("run", "--experiment wants a name without commas or quotes");

  /* Allocators. */
  const tb_allocator_t *allocs[MAX_ALLOCS];
  size_t nallocs = 0;
  char names[1024];
  snprintf(names, sizeof names, "%s", alloc_list);
  char *save = NULL;
  for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
    if (nallocs == MAX_ALLOCS) return tb_cli_usage_error("run", "at most %d allocators", MAX_ALLOCS);
    if (!(allocs[nallocs++] = tb_allocator_find(n, (int)level)))
      return tb_cli_usage_error("run", "unknown allocator '%s' (testbed list names them)", n);
  }
  if (!nallocs) return tb_cli_usage_error("run", "--allocator names no allocator");

  /* Backends. */
  bk_t bks[TB_REPLAY_MAX_BACKENDS];
  size_t nbk = 0;
  char bspec[512] = "", reason[512] = "";
  if (!backend_s) backend_s = "default";
  if (!strcmp(backend_s, "none")) {
    bspec[0] = 0;
  } else if (!strcmp(backend_s, "default")) {
    tb_backend_default(bspec, sizeof bspec, reason, sizeof reason);
    if (!tb_backend_inner()) fprintf(stderr, "testbed run: backends %s: %s\n", bspec, reason);
  } else {
    snprintf(bspec, sizeof bspec, "%s", backend_s);
  }
  char bchosen[512];
  snprintf(bchosen, sizeof bchosen, "%s", bspec);
  char *bsave = NULL;
  for (char *s = strtok_r(bspec, ",", &bsave); s; s = strtok_r(NULL, ",", &bsave)) {
    if (nbk == TB_REPLAY_MAX_BACKENDS) return tb_cli_usage_error("run", "too many backends");
    const char *prof = NULL;
    const tb_backend_t *b = tb_backend_lookup(s, &prof);
    if (!b) return tb_cli_usage_error("run", "unknown backend '%s' (testbed list names them)", s);
    char why[400];
    if (b->available && !b->available(why, sizeof why)) {
      fprintf(stderr, "testbed run: backend %s cannot measure here: %s\n", s, why);
      return 2;
    }
    bks[nbk++] = (bk_t){b, s, prof};
  }
  bool inner = tb_backend_inner();

  /* The workload, decoded in full before anything is measured. */
  char err[1024];
  tb_trace_t t;
  if (load_workload(workload, (unsigned)threads, &t, err, sizeof err)) {
    fprintf(stderr, "testbed run: %s\n", err);
    return 2;
  }
  uint32_t copies = 1;
  if (threads && threads != t.nthreads) {
    if (t.nthreads != 1) {
      fprintf(stderr, "testbed run: %s: the trace has %u streams; --threads %llu must match it\n", workload,
              t.nthreads, threads);
      tb_trace_free(&t);
      return 2;
    }
    copies = (uint32_t)threads;
  }
  unsigned nthr = tb_replay_threads(&t, copies);
  unsigned pin_failures = 0;
  char pin_error[160] = "";

  tb_results_t *res = NULL;
  if (!inner && !(res = tb_results_open(out, mode, argc + 1, argv - 1, err, sizeof err))) {
    fprintf(stderr, "testbed run: %s\n", err);
    tb_trace_free(&t);
    return 1;
  }
  char exp[256];
  snprintf(exp, sizeof exp, "%s:l%llu", experiment, level);
  const char *wname = base_name(workload);
  bool progress = isatty(2) && !inner;
  int rc = 0;

  for (size_t ai = 0; ai < nallocs && !rc; ai++) {
    for (unsigned run = 1; run <= runs && !rc; run++) {
      tb_replay_cfg_t cfg = {.alloc = allocs[ai], .touch = touch, .copies = copies, .progress = progress, .pin = pin,
                             .validate = level >= 1};
      emit_ctx_t e = {res, exp, allocs[ai]->name, wname, "replay", "host", nthr, run};
      /* Backends that re-execute us under a simulator: one child per run. */
      for (size_t k = 0; k < nbk && !rc && !inner; k++) {
        if (!bks[k].b->reexec) continue;
        tb_backend_inst_t *inst = bks[k].b->open(bks[k].profile, (int)nthr, err, sizeof err);
        if (!inst) {
          fprintf(stderr, "testbed run: backend %s: %s\n", bks[k].spec, err);
          rc = 1;
          break;
        }
        char lvl[8], thr[16];
        snprintf(lvl, sizeof lvl, "%llu", level);
        snprintf(thr, sizeof thr, "%llu", threads);
        char *cargv[32];
        int c = 0;
        cargv[c++] = "/proc/self/exe";
        cargv[c++] = "run";
        cargv[c++] = "--allocator", cargv[c++] = (char *)allocs[ai]->name;
        cargv[c++] = "--workload", cargv[c++] = (char *)workload;
        cargv[c++] = "--runs", cargv[c++] = "1";
        cargv[c++] = "--out", cargv[c++] = (char *)out;
        cargv[c++] = "--touch", cargv[c++] = (char *)touch_s;
        cargv[c++] = "--check-level", cargv[c++] = lvl;
        cargv[c++] = "--backend", cargv[c++] = (char *)bks[k].spec;
        if (threads) cargv[c++] = "--threads", cargv[c++] = thr;
        cargv[c] = NULL;
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
          exe[n] = 0;
          cargv[0] = exe;
        }
        if (bks[k].b->reexec(inst, cargv, err, sizeof err)) {
          fprintf(stderr, "testbed run: backend %s: %s\n", bks[k].spec, err);
          rc = 1;
        } else {
          emit_ctx_t be = e;
          be.backend = bks[k].b->name;
          be.profile = bks[k].profile ? bks[k].profile : "host";
          bks[k].b->report(inst, t.total_ops * copies, emit_row, &be);
          if (bks[k].b->meta && res && run == 1) {
            char js[2048], key[128];
            bks[k].b->meta(inst, js, sizeof js);
            snprintf(key, sizeof key, "backend_%s_%s_%s", bks[k].b->name, bks[k].profile ? bks[k].profile : "host",
                     allocs[ai]->name);
            tb_results_meta_raw(res, key, js);
          }
        }
        bks[k].b->close(inst);
      }
      if (rc) break;
      /* In-process backends around our own window. */
      size_t nb = 0;
      size_t which[TB_REPLAY_MAX_BACKENDS];
      for (size_t k = 0; k < nbk; k++) {
        if (bks[k].b->reexec && !inner) continue;
        tb_backend_inst_t *inst = bks[k].b->open(bks[k].profile, (int)nthr, err, sizeof err);
        if (!inst) {
          fprintf(stderr, "testbed run: backend %s: %s\n", bks[k].spec, err);
          rc = 1;
          break;
        }
        cfg.backend[nb] = bks[k].b;
        cfg.inst[nb] = inst;
        which[nb++] = k;
      }
      cfg.nbackends = nb;
      tb_replay_result_t r;
      if (!rc && tb_replay_run(&t, &cfg, &r, err, sizeof err)) {
        fprintf(stderr, "testbed run: %s: run %u: %s\n", workload, run, err);
        rc = 1;
      }
      if (!rc && r.pin_failures && !pin_failures) {
        pin_failures = r.pin_failures;
        snprintf(pin_error, sizeof pin_error, "%s", r.pin_error);
        fprintf(stderr, "testbed run: --pin: %s (the run goes on unpinned)\n", pin_error);
      }
      if (!rc && !inner) {
        emit_replay(&e, &t, &r, copies);
        /* The metadata when the live bytes peak (the end of the window may
         * have freed everything): the trace replayed again, unmeasured, up
         * to the op that first reaches peak_live_bytes. */
        double meta_peak = -1;
        if (t.nthreads == 1 && copies <= 1 && t.peak_live_op > 0) {
          tb_trace_t upto;
          size_t upto_n;
          tb_trace_prefix(&t, t.peak_live_op, &upto, &upto_n);
          tb_replay_cfg_t pc = {.alloc = allocs[ai], .touch = touch};
          tb_replay_result_t pr;
          if (tb_replay_run(&upto, &pc, &pr, err, sizeof err)) {
            fprintf(stderr, "testbed run: %s: run %u, replay to the peak: %s\n", workload, run, err);
            rc = 1;
          } else {
            meta_peak = stat_or_nan(pr.stats.metadata_bytes);
          }
        }
        emit_row(&e, "metadata_bytes_at_peak", meta_peak, meta_peak < 0, "B");
        for (size_t k = 0; k < nb; k++) {
          emit_ctx_t be = e;
          be.backend = cfg.backend[k]->name;
          be.profile = bks[which[k]].profile ? bks[which[k]].profile : "host";
          cfg.backend[k]->report(cfg.inst[k], r.ops, emit_row, &be);
          if (cfg.backend[k]->meta && run == 1) {
            char js[2048], key[128];
            cfg.backend[k]->meta(cfg.inst[k], js, sizeof js);
            snprintf(key, sizeof key, "backend_%s_%s_%s", cfg.backend[k]->name,
                     bks[which[k]].profile ? bks[which[k]].profile : "host", allocs[ai]->name);
            tb_results_meta_raw(res, key, js);
          }
        }
      }
      for (size_t k = 0; k < nb; k++) cfg.backend[k]->close(cfg.inst[k]);
    }
  }

  /* The harness's own cost: the same replay on bump (free does nothing). */
  double best = -1, best_dry = -1;
  if (!rc && overhead && !inner) {
    const tb_allocator_t *bump = tb_allocator_find("bump", 0);
    /* Bytes bump takes for the whole replay (it never reuses): each block is
     * at most its size rounded to 16, plus 16 and its alignment, and a
     * block realloc moves gets twice its size; a fixed space gives bump's
     * block table its top fifth (allocators/bump/bump.c), hence the extra
     * quarter. */
    size_t need = 4096;
    for (uint32_t s = 0; s < t.nthreads; s++)
      for (size_t i = 0; i < t.nops[s]; i++) {
        const tb_op_t *op = &t.ops[s][i];
        if (op->code >= TB_OP_MALLOC && op->code <= TB_OP_REALLOC)
          need += (((op->arg + 15) & ~(size_t)15) << (op->code == TB_OP_REALLOC)) + 16 +
                  (op->code == TB_OP_ALIGNED ? (size_t)1 << op->align : 0);
      }
    need += need / 4;
    need *= copies;
    size_t prefault = need <= ((size_t)1 << 30) ? need : 0; /* else bump's own space, faults included */
    /* Runs alternate between the replay on bump and the dry replay (the
     * loop's dispatch alone, no allocator calls: cfg.dry), so that both
     * best-of figures see the same machine. */
    for (unsigned run = 1; bump && run <= (runs < 3 ? 3 : runs) && !rc; run++)
      for (int dry = 0; dry <= 1 && !rc; dry++) {
        tb_replay_cfg_t cfg = {.alloc = bump, .touch = touch, .copies = copies, .prefault = dry ? 0 : prefault,
                               .dry = dry};
        tb_replay_result_t r;
        if (tb_replay_run(&t, &cfg, &r, err, sizeof err)) {
          fprintf(stderr, "testbed run: overhead replay on bump%s: %s\n", dry ? " (dispatch only)" : "", err);
          rc = 1;
        } else if (r.ops) {
          double ns = r.seconds * 1e9 / (double)r.ops, *b = dry ? &best_dry : &best;
          if (*b < 0 || ns < *b) *b = ns;
        }
      }
    if (!rc && best >= 0)
      printf("harness overhead (bump, %s, %u thread%s, touch %s): %.2f ns/op (best of %llu runs, %llu ops%s); "
             "dispatch alone, no allocator calls: %.2f ns/op\n",
             wname, nthr, nthr > 1 ? "s" : "", touch_s, best, runs < 3 ? 3ull : runs,
             (unsigned long long)(t.total_ops * copies), prefault ? ", memory pre-faulted" : ", first-touch faults included",
             best_dry);
  }

  if (res) {
    if (rc) {
      tb_results_abort(res);
    } else {
      tb_results_meta_str(res, "experiment", experiment);
      tb_results_meta_num(res, "check_level", (double)level);
      tb_results_meta_str(res, "allocators", alloc_list);
      tb_results_meta_str(res, "workload", workload);
      if (t.provenance) tb_results_meta_str(res, "workload_provenance", t.provenance);
      tb_results_meta_num(res, "workload_ops", (double)t.total_ops);
      tb_results_meta_num(res, "workload_streams", t.nthreads);
      tb_results_meta_num(res, "workload_syncs", (double)t.nsyncs);
      tb_results_meta_num(res, "threads", nthr);
      tb_results_meta_num(res, "copies", copies);
      tb_results_meta_str(res, "touch", touch_s);
      tb_results_meta_num(res, "runs", (double)runs);
      tb_results_meta_str(res, "backends", backend_s);
      tb_results_meta_str(res, "backends_chosen", bchosen);
      tb_results_meta_str(res, "pinned", !pin ? "no" : pin_failures ? "partly" : "yes");
      if (pin_failures) tb_results_meta_str(res, "pin_error", pin_error);
      char topo[8192];
      if (tb_topology_json(topo, sizeof topo) == 0) tb_results_meta_raw(res, "topology", topo);
      if (reason[0]) tb_results_meta_str(res, "backend_default_reason", reason);
      if (best >= 0) tb_results_meta_num(res, "harness_overhead_ns_per_op", best);
      if (best_dry >= 0) tb_results_meta_num(res, "harness_dispatch_ns_per_op", best_dry);
      if (tb_results_commit(res, err, sizeof err)) {
        fprintf(stderr, "testbed run: %s\n", err);
        rc = 1;
      }
    }
  }
  tb_trace_free(&t);
  return rc;
}

const tb_command_t tb_cmd_run = {"run", "replay a workload on allocators and write results", run_main};
