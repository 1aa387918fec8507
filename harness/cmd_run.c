/* cmd_run.c: `testbed run`: replays a workload on one or more allocators,
 * N runs each, with measurement backends around the window, and writes
 * DIR/results.csv and DIR/meta.json (harness/results.h). Everything that
 * can be wrong with the input (options, allocators, workload, backends) is
 * checked before the output directory is touched. The parent replays
 * nothing itself (but --overhead): every run is a child process made from
 * the plan (plan.h), under a simulator for a re-executing backend, or a
 * fresh process that hands its rows back in a rows file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "plan.h"
#include "replay.h"
#include "topology.h"
#include "results.h"
#include "tb_alloc.h"
#include "tb_bump.h"
#include "tb_cli.h"
#include "tmpfiles.h"
#include "trace.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed run --allocator A[,B...] --workload W --runs N --out DIR\n"
          "                   [--threads T] [--touch none|trace|full] [--check-level L]\n"
          "                   [--backend LIST|default|none] [--protocol fresh|warm]\n"
          "                   [--experiment NAME] [--overhead] [--pin] [--arch x86_64|aarch64]\n"
          "                   [--force | --append]\n\n"
          "Replays workload W (a trace file, or gen:NAME[:KEY=VALUE...], see testbed gen;\n"
          "generated once) N times on each allocator, compiled at check level L (default\n"
          "%d), and writes DIR/results.csv and DIR/meta.json, both only when every run\n"
          "succeeded. Every measured run is a process of its own (this command run\n"
          "again for that one run), so every allocator starts every run from the same\n"
          "state. Simulated backends (cachegrind) are deterministic and run once (run 1\n"
          "only; metric simulated_runs).\n\n"
          "  --protocol    fresh (default): the run's process creates the heap and the\n"
          "                window is its first replay of the trace. warm: the process\n"
          "                replays the whole trace on the heap once, untimed, frees what\n"
          "                is left, and the window is the second replay on the same heap.\n"
          "                Before either, the process hands the memory it freed while\n"
          "                decoding the trace back to the system (malloc_trim).\n"
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
          "  --arch        the ISA memsim backends run (default: each profile's own),\n"
          "                the same as ,arch=ISA after each memsim:PROFILE.\n"
          "  --overhead    also replay with bump and print the harness's cost per op,\n"
          "                and the loop's dispatch alone (no allocator calls).\n\n"
          "bump, the harness baseline, always gets a space written before the window\n"
          "(when the replay fits in 1 GiB), so its runs take no first-touch faults in\n"
          "any touch mode.\n\n"
          "Rows: experiment column is NAME:l<L> (NAME default 'adhoc', L the check\n"
          "level); backend 'replay' marks the replay's own metrics (profile 'host'):\n"
          "ops, seconds, ns_per_op, warmup_replays (0 fresh, 1 warm), peak_live_bytes\n"
          "(most requested bytes live at once as the replay reached them: several\n"
          "threads count as they go), trace_peak_live_bytes (the same in the trace's\n"
          "recorded order, times the copies), peak_heap_bytes (allocator's peak\n"
          "committed), fragmentation (peak_heap/peak_live), max_rss_bytes (peak RSS in\n"
          "the window, decoded trace included), page_faults (in the window), every\n"
          "allocator statistic at the end of the window under its own name and unit\n"
          "(committed_bytes, peak_committed_bytes, metadata_bytes, live_bytes, ...,\n"
          "splits, merges, bin_steps, user_bytes_read, user_bytes_written: the list\n"
          "TB_STAT_FIELDS in allocators/include/tb_alloc.h; counters count the window\n"
          "alone, NA in a build without TB_STATS), metadata_bytes_at_peak (when the\n"
          "live bytes first peak: a second, unmeasured replay of a single-stream trace\n"
          "stopped there; NA for several streams). NA when the allocator or the\n"
          "system cannot tell.\n",
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
static void emit_replay(emit_ctx_t *e, const tb_trace_t *t, const tb_replay_result_t *r, uint32_t copies,
                        bool warm) {
  double live = (double)r->peak_live_bytes;
  double heap = stat_or_nan(r->stats.peak_committed_bytes);
  emit_row(e, "ops", (double)r->ops, false, "1");
  emit_row(e, "seconds", r->seconds, false, "s");
  emit_row(e, "ns_per_op", r->ops ? r->seconds * 1e9 / (double)r->ops : 0, r->ops == 0, "ns");
  emit_row(e, "warmup_replays", warm ? 1 : 0, false, "1");
  emit_row(e, "peak_live_bytes", live, false, "B");
  emit_row(e, "trace_peak_live_bytes", (double)t->peak_live_bytes * (copies > 1 ? copies : 1), false, "B");
  emit_row(e, "peak_heap_bytes", heap, heap < 0, "B");
  emit_row(e, "fragmentation", heap >= 0 && live > 0 ? heap / live : 0, heap < 0 || live <= 0, "1");
  emit_row(e, "max_rss_bytes", (double)r->max_rss_bytes, !r->rss_ok, "B");
  emit_row(e, "page_faults", (double)r->page_faults, !r->faults_ok, "1");
  /* Every allocator statistic under its own name and unit (tb_alloc.h),
   * at the end of the window; NA where the allocator cannot say. */
#define TB_EMIT_STAT(name, unit, kind, desc) \
  emit_row(e, #name, stat_or_nan(r->stats.name), r->stats.name == TB_STAT_NA, unit);
  TB_STAT_FIELDS(TB_EMIT_STAT)
#undef TB_EMIT_STAT
}

/* The fixed space bump gets for `passes` replays of t (bump never reuses a
 * block, so the sum of what each request can take; tb_bump.h), or 0 when
 * that is over 1 GiB (then bump takes its own space, faults included). */
static size_t bump_space(const tb_trace_t *t, uint32_t copies, unsigned passes) {
  size_t need = 0;
  for (uint32_t s = 0; s < t->nthreads; s++)
    for (size_t i = 0; i < t->nops[s]; i++) {
      const tb_op_t *op = &t->ops[s][i];
      if (op->code >= TB_OP_MALLOC && op->code <= TB_OP_REALLOC)
        need += tb_bump_request_bytes(op->code == TB_OP_REALLOC   ? TB_BUMP_REALLOC
                                      : op->code == TB_OP_ALIGNED ? TB_BUMP_ALIGNED
                                                                  : TB_BUMP_MALLOC,
                                      op->arg, (size_t)1 << op->align);
    }
  need *= (size_t)(copies > 1 ? copies : 1) * passes;
  if (need > ((size_t)1 << 30)) return 0;
  return tb_bump_fixed_space_bytes(need, (size_t)sysconf(_SC_PAGESIZE));
}

/* What every run of the command shares. */
typedef struct {
  const tb_plan_t *p;
  tb_trace_t t;
  uint32_t copies;
  unsigned nthr;
  tb_results_t *res; /* NULL in a child */
  char exp[256];     /* the experiment column: NAME:l<L> */
  char exe[4096];    /* this executable, for children */
  bool inner, progress;
  const tb_allocator_t *bump; /* bump runs on a pre-faulted space (harness/README.md) */
  unsigned pin_failures;
  char pin_error[160];
  char pin_error_json[400];   /* a child's, as it wrote it */
  char tmpdir[4096];          /* the children's rows files ("" until the first) */
} run_ctx_t;

/* The environment additions a child of ISA isa (NULL: this build's) for
 * allocator a gets (its registry entry's exec_env). Their count, or -1
 * with the reason in why (and, when quiet is false, a message). */
static int child_env(const tb_allocator_t *a, const char *isa, const char **env, size_t max, char *why,
                     size_t whylen, bool quiet) {
  if (!a->exec_env) return 0;
  int n = a->exec_env(isa, env, max, why, whylen);
  if (n < 0 && !quiet) fprintf(stderr, "testbed run: allocator %s cannot run here: %s\n", a->name, why);
  return n;
}

#define MAX_ENV_ADD 8

/* Run argv as a child process with the environment additions, through
 * TB_EXEC_WRAPPER when set (a command prefix, split at spaces, for a
 * testbed that itself runs under an emulator without binfmt_misc, e.g.
 * "qemu-aarch64 -L /"). 0 when it exited with status 0. */
static int spawn(char *const argv[], const char **add, int nadd, char *err, size_t errlen) {
  extern char **environ;
  size_t ne = 0;
  while (environ[ne]) ne++;
  char **envp = calloc(ne + (size_t)nadd + 1, sizeof *envp);
  char *wcopy = NULL, *wv[16 + 64];
  size_t nw = 0;
  const char *w = getenv("TB_EXEC_WRAPPER");
  if (w && *w && (wcopy = strdup(w))) {
    char *save = NULL;
    for (char *tok = strtok_r(wcopy, " ", &save); tok && nw < 16; tok = strtok_r(NULL, " ", &save)) wv[nw++] = tok;
  }
  size_t na = 0;
  while (argv[na]) na++;
  if (!envp || na + nw >= sizeof wv / sizeof wv[0]) {
    free(envp);
    free(wcopy);
    snprintf(err, errlen, "out of memory (or too long a command) for a child");
    return -1;
  }
  for (size_t i = 0; i <= na; i++) wv[nw + i] = argv[i];
  size_t k = 0;
  for (size_t i = 0; i < ne; i++) {
    bool replaced = false;
    for (int j = 0; j < nadd; j++) {
      size_t l = strcspn(add[j], "=");
      replaced = replaced || (!strncmp(environ[i], add[j], l) && environ[i][l] == '=');
    }
    if (!replaced) envp[k++] = environ[i];
  }
  for (int j = 0; j < nadd; j++) envp[k++] = (char *)add[j];
  envp[k] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    if (nw)
      execvpe(wv[0], wv, envp);
    else
      execve(argv[0], argv, envp);
    fprintf(stderr, "testbed run: cannot run %s: %s%s\n", wv[0], strerror(errno),
            errno == ENOEXEC ? " (an emulated testbed: set TB_EXEC_WRAPPER to the emulator command)" : "");
    _exit(127);
  }
  if (pid > 0) tb_tmp_child(pid); /* a signal that ends us ends it first (tmpfiles.h) */
  free(envp);
  free(wcopy);
  if (pid < 0) {
    snprintf(err, errlen, "fork: %s", strerror(errno));
    return -1;
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) {
      tb_tmp_child(0);
      snprintf(err, errlen, "waitpid: %s", strerror(errno));
      return -1;
    }
  tb_tmp_child(0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFEXITED(st))
    snprintf(err, errlen, "the child exited with status %d", WEXITSTATUS(st));
  else
    snprintf(err, errlen, "the child was killed by signal %d", WTERMSIG(st));
  return -1;
}

/* A child's meta lines: backend meta goes to meta.json, a pinning failure
 * is kept for the "pinned" key. */
static void child_meta(void *ctx, const char *key, const char *json) {
  run_ctx_t *c = ctx;
  if (!strcmp(key, "pin_error")) {
    if (!c->pin_failures++) snprintf(c->pin_error_json, sizeof c->pin_error_json, "%s", json);
    return;
  }
  tb_results_meta_raw(c->res, key, json);
}

/* One measured run as a fresh child process (the timing protocols,
 * harness/README.md): the child replays and writes its rows, with the
 * in-process backends', to a rows file; here they join the results. */
static int run_child(run_ctx_t *c, const tb_allocator_t *a, unsigned run) {
  const tb_plan_t *p = c->p;
  char err[1024], specs[512] = "", rows[4200];
  if (!c->tmpdir[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(c->tmpdir, sizeof c->tmpdir, "%s/testbed-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->tmpdir)) {
      fprintf(stderr, "testbed run: %s: cannot make a directory: %s\n", c->tmpdir, strerror(errno));
      c->tmpdir[0] = 0;
      return 1;
    }
    tb_tmp_register(c->tmpdir, true); /* an interrupted run leaves nothing (tmpfiles.h) */
  }
  for (size_t k = 0; k < p->nbk; k++)
    if (!p->bk[k].b->reexec)
      snprintf(specs + strlen(specs), sizeof specs - strlen(specs), "%s%s", specs[0] ? "," : "", p->bk[k].spec);
  snprintf(rows, sizeof rows, "%s/rows-%s-%u.csv", c->tmpdir, a->name, run);
  tb_plan_child_t ch = {.alloc = a, .run = run, .backends = specs, .rows = rows};
  const char *env[MAX_ENV_ADD];
  char why[512];
  int nenv = child_env(a, NULL, env, MAX_ENV_ADD, why, sizeof why, false);
  if (nenv < 0) return 2;
  char **cargv = tb_plan_child_argv(p, &ch, c->exe);
  if (!cargv) {
    fprintf(stderr, "testbed run: out of memory\n");
    return 1;
  }
  int rc = 0;
  tb_tmp_register(rows, false);
  if (spawn(cargv, env, nenv, err, sizeof err)) {
    fprintf(stderr, "testbed run: %s on %s, run %u: %s\n", p->workload_name, a->name, run, err);
    rc = 1;
  } else if (tb_results_add_rows(c->res, rows, child_meta, c, err, sizeof err)) {
    fprintf(stderr, "testbed run: %s\n", err);
    rc = 1;
  }
  unlink(rows);
  tb_tmp_forget(rows);
  free(cargv);
  return rc;
}

static void backend_meta(run_ctx_t *c, const tb_plan_backend_t *pb, tb_backend_inst_t *inst, const tb_allocator_t *a) {
  const tb_backend_t *b = pb->b;
  if (!b->meta || !c->res) return;
  char js[2048], key[128];
  b->meta(inst, js, sizeof js);
  snprintf(key, sizeof key, "backend_%s_%s_%s", b->name, pb->profile ? pb->profile : "host", a->name);
  tb_results_meta_raw(c->res, key, js);
}

/* Backends that re-execute us under a simulator: one child per backend,
 * made from the plan (tb_plan_child_argv), in run 1 only (a simulation is
 * deterministic: further runs would repeat its counts). */
static int run_reexec(run_ctx_t *c, const tb_allocator_t *a, unsigned run, emit_ctx_t *e) {
  const tb_plan_t *p = c->p;
  char err[1024];
  for (size_t k = 0; k < p->nbk; k++) {
    const tb_plan_backend_t *pb = &p->bk[k];
    if (!pb->b->reexec || run > 1) continue;
    tb_backend_inst_t *inst = pb->b->open(pb->profile, (int)c->nthr, err, sizeof err);
    if (!inst) {
      fprintf(stderr, "testbed run: backend %s: %s\n", pb->spec, err);
      return 1;
    }
    /* The ISA the simulator runs (memsim's label ends in @ISA; others
     * run this build's): an allocator that needs a library preloaded may
     * have none for it (no aarch64 peer library). Then the backend's rows
     * are NA, with the reason on stderr and in meta.json, and the job
     * goes on: the sets are a full matrix of allocators and backends. */
    char label[128] = "", why[512] = "";
    if (pb->b->label) pb->b->label(inst, label, sizeof label);
    const char *at = strrchr(label, '@');
    const char *env[MAX_ENV_ADD];
    int nenv = child_env(a, at ? at + 1 : NULL, env, MAX_ENV_ADD, why, sizeof why, true);
    if (nenv < 0) {
      fprintf(stderr, "testbed run: backend %s cannot run allocator %s: %s; its rows are NA\n", pb->spec, a->name,
              why);
      emit_ctx_t be = *e;
      be.backend = pb->b->name;
      be.profile = label[0] ? label : pb->profile ? pb->profile : "host";
      pb->b->report(inst, c->t.total_ops * c->copies, emit_row, &be);
      if (c->res && run == 1) {
        char key[160];
        snprintf(key, sizeof key, "backend_%s_%s_%s_na_reason", pb->b->name, pb->profile ? pb->profile : "host",
                 a->name);
        for (char *q = key; *q; q++)
          if (!(*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'))) *q = '_';
        tb_results_meta_str(c->res, key, why);
      }
      pb->b->close(inst);
      continue;
    }
    tb_plan_child_t ch = {.alloc = a, .run = run, .backends = pb->spec};
    char **cargv = tb_plan_child_argv(p, &ch, c->exe);
    /* The allocator's environment additions reach the child through ours
     * (the simulator passes its environment on), for this call only. */
    char *saved[MAX_ENV_ADD] = {0};
    int rc = 0;
    for (int j = 0; j < nenv; j++) {
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)strcspn(env[j], "="), env[j]);
      const char *old = getenv(name);
      saved[j] = old ? strdup(old) : NULL;
      setenv(name, env[j] + strlen(name) + (env[j][strlen(name)] == '='), 1);
    }
    if (!cargv) {
      fprintf(stderr, "testbed run: out of memory\n");
      rc = 1;
    } else if (pb->b->reexec(inst, cargv, err, sizeof err)) {
      fprintf(stderr, "testbed run: backend %s: %s\n", pb->spec, err);
      rc = 1;
    } else {
      emit_ctx_t be = *e;
      be.backend = pb->b->name;
      be.profile = pb->profile ? pb->profile : "host";
      if (pb->b->label) { /* memsim: the profile and the ISA that ran */
        pb->b->label(inst, label, sizeof label);
        be.profile = label;
      }
      pb->b->report(inst, c->t.total_ops * c->copies, emit_row, &be);
      if (run == 1) backend_meta(c, pb, inst, a);
    }
    for (int j = 0; j < nenv; j++) {
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)strcspn(env[j], "="), env[j]);
      if (saved[j])
        setenv(name, saved[j], 1);
      else
        unsetenv(name);
      free(saved[j]);
    }
    free(cargv);
    pb->b->close(inst);
    if (rc) return rc;
  }
  return 0;
}

/* One measured replay in this process, with the in-process backends (all
 * of them in a simulator child) around its window. */
static int run_here(run_ctx_t *c, const tb_allocator_t *a, unsigned run, emit_ctx_t *e) {
  const tb_plan_t *p = c->p;
  char err[1024];
  bool warm = p->protocol == TB_PROTOCOL_WARM;
  tb_replay_cfg_t cfg = {.alloc = a, .touch = p->touch, .copies = c->copies, .progress = c->progress, .pin = p->pin,
                         .validate = p->level >= 1, .warmup = warm,
                         .prefault = a == c->bump ? bump_space(&c->t, c->copies, warm ? 2 : 1) : 0};
  size_t which[TB_REPLAY_MAX_BACKENDS];
  int rc = 0;
  for (size_t k = 0; k < p->nbk; k++) {
    const tb_plan_backend_t *pb = &p->bk[k];
    if (pb->b->reexec && !c->inner) continue;
    tb_backend_inst_t *inst = pb->b->open(pb->profile, (int)c->nthr, err, sizeof err);
    if (!inst) {
      fprintf(stderr, "testbed run: backend %s: %s\n", pb->spec, err);
      rc = 1;
      break;
    }
    cfg.backend[cfg.nbackends] = pb->b;
    cfg.inst[cfg.nbackends] = inst;
    which[cfg.nbackends++] = k;
  }
  tb_replay_result_t r;
  if (!rc && tb_replay_run(&c->t, &cfg, &r, err, sizeof err)) {
    fprintf(stderr, "testbed run: %s: run %u: %s\n", p->workload, run, err);
    rc = 1;
  }
  if (!rc && r.pin_failures && !c->pin_failures) {
    c->pin_failures = r.pin_failures;
    snprintf(c->pin_error, sizeof c->pin_error, "%s", r.pin_error);
    fprintf(stderr, "testbed run: --pin: %s (the run goes on unpinned)\n", c->pin_error);
    if (c->res && c->p->child_run) tb_results_meta_str(c->res, "pin_error", c->pin_error);
  }
  if (!rc && !c->inner) {
    emit_replay(e, &c->t, &r, c->copies, warm);
    /* The metadata when the live bytes peak (the end of the window may
     * have freed everything): the trace replayed again, unmeasured, up
     * to the op that first reaches peak_live_bytes. */
    double meta_peak = -1;
    if (c->t.nthreads == 1 && c->copies <= 1 && c->t.peak_live_op > 0) {
      tb_trace_t upto;
      size_t upto_n;
      tb_trace_prefix(&c->t, c->t.peak_live_op, &upto, &upto_n);
      tb_replay_cfg_t pc = {.alloc = a, .touch = p->touch, .warmup = warm, .warmup_trace = &c->t};
      tb_replay_result_t pr;
      if (tb_replay_run(&upto, &pc, &pr, err, sizeof err)) {
        fprintf(stderr, "testbed run: %s: run %u, replay to the peak: %s\n", p->workload, run, err);
        rc = 1;
      } else {
        meta_peak = stat_or_nan(pr.stats.metadata_bytes);
      }
    }
    emit_row(e, "metadata_bytes_at_peak", meta_peak, meta_peak < 0, "B");
    for (size_t k = 0; k < cfg.nbackends; k++) {
      const tb_plan_backend_t *pb = &p->bk[which[k]];
      emit_ctx_t be = *e;
      be.backend = pb->b->name;
      be.profile = pb->profile ? pb->profile : "host";
      pb->b->report(cfg.inst[k], r.ops, emit_row, &be);
      if (run == 1) backend_meta(c, pb, cfg.inst[k], a);
    }
  }
  for (size_t k = 0; k < cfg.nbackends; k++) cfg.backend[k]->close(cfg.inst[k]);
  return rc;
}

/* The harness's own cost: the same replay on bump (free does nothing),
 * best of at least 3 runs, alternating with the dry replay. */
static int run_overhead(run_ctx_t *c, double *best, double *best_dry) {
  const tb_plan_t *p = c->p;
  const tb_trace_t *t = &c->t;
  char err[1024];
  *best = *best_dry = -1;
  const tb_allocator_t *bump = c->bump;
  if (!bump) return 0;
  bool warm = p->protocol == TB_PROTOCOL_WARM;
  size_t prefault = bump_space(t, c->copies, warm ? 2 : 1);
  unsigned n = p->runs < 3 ? 3 : p->runs;
  for (unsigned run = 1; run <= n; run++)
    for (int dry = 0; dry <= 1; dry++) {
      tb_replay_cfg_t cfg = {.alloc = bump, .touch = p->touch, .copies = c->copies, .prefault = dry ? 0 : prefault,
                             .dry = dry, .warmup = warm};
      tb_replay_result_t r;
      if (tb_replay_run(t, &cfg, &r, err, sizeof err)) {
        fprintf(stderr, "testbed run: overhead replay on bump%s: %s\n", dry ? " (dispatch only)" : "", err);
        return 1;
      }
      if (r.ops) {
        double ns = r.seconds * 1e9 / (double)r.ops, *b = dry ? best_dry : best;
        if (*b < 0 || ns < *b) *b = ns;
      }
    }
  if (*best >= 0)
    printf("harness overhead (bump, %s, %u thread%s, touch %s): %.2f ns/op (best of %u runs, %llu ops%s); "
           "dispatch alone, no allocator calls: %.2f ns/op\n",
           p->workload_name, c->nthr, c->nthr > 1 ? "s" : "", tb_plan_touch_name(p->touch), *best, n,
           (unsigned long long)(t->total_ops * c->copies),
           prefault ? ", memory pre-faulted" : ", first-touch faults included", *best_dry);
  return 0;
}

static void write_meta(run_ctx_t *c, double best, double best_dry) {
  const tb_plan_t *p = c->p;
  tb_results_t *res = c->res;
  tb_results_meta_str(res, "experiment", p->experiment);
  tb_results_meta_num(res, "check_level", (double)p->level);
  tb_results_meta_str(res, "allocators", p->alloc_list);
  tb_results_meta_str(res, "workload", p->workload);
  if (c->t.provenance) tb_results_meta_str(res, "workload_provenance", c->t.provenance);
  tb_results_meta_num(res, "workload_ops", (double)c->t.total_ops);
  tb_results_meta_num(res, "workload_streams", c->t.nthreads);
  tb_results_meta_num(res, "workload_syncs", (double)c->t.nsyncs);
  tb_results_meta_num(res, "threads", c->nthr);
  tb_results_meta_num(res, "copies", c->copies);
  tb_results_meta_str(res, "touch", tb_plan_touch_name(p->touch));
  tb_results_meta_num(res, "runs", (double)p->runs);
  tb_results_meta_str(res, "backends", p->backend_arg);
  tb_results_meta_str(res, "backends_chosen", p->backends);
  tb_results_meta_str(res, "protocol", tb_plan_protocol_name(p->protocol));
  tb_results_meta_str(res, "protocol_definition",
                      p->protocol == TB_PROTOCOL_WARM
                          ? "every measured run is a fresh process: it loads the trace, creates the heap, replays "
                            "the whole trace on it once untimed, frees what is left, then replays it again in the "
                            "measured window on the same heap"
                          : "every measured run is a fresh process: it loads the trace, creates the heap and "
                            "replays the trace once, in the measured window");
  tb_results_meta_num(res, "warmup_replays", p->protocol == TB_PROTOCOL_WARM ? 1 : 0);
  tb_results_meta_str(res, "pinned", !p->pin ? "no" : c->pin_failures ? "partly" : "yes");
  if (c->pin_error_json[0]) tb_results_meta_raw(res, "pin_error", c->pin_error_json);
  char topo[8192];
  if (tb_topology_json(topo, sizeof topo) == 0) tb_results_meta_raw(res, "topology", topo);
  if (p->backend_reason[0]) tb_results_meta_str(res, "backend_default_reason", p->backend_reason);
  if (best >= 0) tb_results_meta_num(res, "harness_overhead_ns_per_op", best);
  if (best_dry >= 0) tb_results_meta_num(res, "harness_dispatch_ns_per_op", best_dry);
}

static int run_main(int argc, char **argv) {
  tb_plan_t plan;
  char err[1024];
  int prc = tb_plan_parse(&plan, argc, argv, err, sizeof err);
  if (prc == TB_PLAN_HELP) {
    usage(stdout);
    return 0;
  }
  if (prc) return tb_cli_usage_error("run", "%s", err);
  const tb_plan_t *p = &plan;
  run_ctx_t c = {.p = p, .copies = 1, .inner = tb_backend_inner()};
  bool child = p->child_run > 0;
  if (plan.backend_reason[0] && !c.inner && !child)
    fprintf(stderr, "testbed run: backends %s: %s\n", plan.backends, plan.backend_reason);
  for (size_t k = 0; k < p->nbk; k++) {
    char why[400];
    if (p->bk[k].b->available && !p->bk[k].b->available(why, sizeof why)) {
      fprintf(stderr, "testbed run: backend %s cannot measure here: %s\n", p->bk[k].spec, why);
      return 2;
    }
    const tb_backend_t *b = p->bk[k].b;
    const char *prof = p->bk[k].profile;
    if (prof && *prof && !b->reexec && !c.inner) { /* a profile the user named: checked up front (exit 2) */
      char perr[512];
      tb_backend_inst_t *probe = b->open(prof, 1, perr, sizeof perr);
      if (!probe) return tb_cli_usage_error("run", "backend %s: %s", p->bk[k].spec, perr);
      b->close(probe);
    }
  }

  /* The workload, generated once (children get the file) and decoded in
   * full before anything is measured. */
  if (tb_plan_workload(&plan, err, sizeof err) || tb_trace_load(p->trace_file, &c.t, err, sizeof err)) {
    fprintf(stderr, "testbed run: %s\n", err);
    tb_plan_free(&plan);
    return 2;
  }
  if (p->threads && p->threads != c.t.nthreads) {
    if (c.t.nthreads != 1) {
      fprintf(stderr, "testbed run: %s: the trace has %u streams; --threads %u must match it\n", p->workload,
              c.t.nthreads, p->threads);
      tb_trace_free(&c.t);
      tb_plan_free(&plan);
      return 2;
    }
    c.copies = p->threads;
  }
  c.nthr = tb_replay_threads(&c.t, c.copies);
  c.bump = tb_allocator_find("bump", 0);
  if (!c.inner && !child && !(c.res = tb_results_open(p->out, p->mode, argc + 1, argv - 1, err, sizeof err))) {
    fprintf(stderr, "testbed run: %s\n", err);
    tb_trace_free(&c.t);
    tb_plan_free(&plan);
    return 1;
  }
  snprintf(c.exp, sizeof c.exp, "%s:l%d", p->experiment, p->level);
  tb_plan_self_exe(c.exe, sizeof c.exe);
  c.progress = isatty(2) && !c.inner;
  int rc = 0;
  if (child && p->rows && !c.inner && !(c.res = tb_results_open_rows(p->rows, err, sizeof err))) {
    fprintf(stderr, "testbed run: %s\n", err);
    rc = 1;
  }

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned total = (unsigned)(p->nallocs * p->runs), done = 0;
  const char *after_s = getenv("TB_PROGRESS_AFTER"); /* seconds before the first line (default 2) */
  double after = after_s && *after_s ? strtod(after_s, NULL) : 2.0;
  /* The parent starts a child per run (a simulator's, then the measured
   * one); a child replays its one run here. */
  /* Interleaved: run 1 of every allocator (in the order given), then run
   * 2 of every one, ..., so drift of the machine hits them all alike. */
  for (unsigned k = 1; k <= p->runs && !rc; k++)
    for (size_t ai = 0; ai < p->nallocs && !rc; ai++) {
      unsigned run = child ? p->child_run : k;
      emit_ctx_t e = {c.res, c.exp, p->alloc[ai]->name, p->workload_name, "replay", "host", c.nthr, run};
      if (child || c.inner) {
        rc = run_here(&c, p->alloc[ai], run, &e);
      } else {
        rc = run_reexec(&c, p->alloc[ai], run, &e);
        if (!rc) rc = run_child(&c, p->alloc[ai], run);
      }
      /* On a terminal, once the runs take a while: a line per run with the ETA. */
      clock_gettime(CLOCK_MONOTONIC, &t1);
      double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
      if (!rc && c.progress && !child && ++done < total && el >= after) {
        unsigned left = (unsigned)(el / done * (total - done) + 0.5);
        fprintf(stderr, "testbed run: %u of %u runs done (%s run %u), %u:%02u elapsed, ETA %u:%02u\n", done, total,
                p->alloc[ai]->name, run, (unsigned)el / 60, (unsigned)el % 60, left / 60, left % 60);
      }
    }

  double best = -1, best_dry = -1;
  if (!rc && p->overhead && !c.inner && !child) rc = run_overhead(&c, &best, &best_dry);

  if (c.tmpdir[0]) {
    rmdir(c.tmpdir);
    tb_tmp_forget(c.tmpdir);
  }
  if (c.res) {
    if (rc) {
      tb_results_abort(c.res);
    } else {
      if (!child) write_meta(&c, best, best_dry);
      if (tb_results_commit(c.res, err, sizeof err)) {
        fprintf(stderr, "testbed run: %s\n", err);
        rc = 1;
      }
    }
  }
  tb_trace_free(&c.t);
  tb_plan_free(&plan);
  return rc;
}

const tb_command_t tb_cmd_run = {"run", "replay a workload on allocators and write results", run_main};
