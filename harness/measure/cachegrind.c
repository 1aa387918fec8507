/* cachegrind.c: the `cachegrind:PROFILE` backend. The harness cannot
 * simulate caches itself, so it re-runs its own command for one run under
 * valgrind --tool=callgrind --cache-sim=yes with the profile's I1/D1/LL
 * geometry (callgrind rather than cachegrind because its client requests
 * restrict counting to the measured window). The child (TB_BACKEND_INNER
 * set) is simulated from its start, so the caches are warm at the window
 * as they are on hardware, but collects costs only inside it: each replay
 * thread turns collection on at thread_begin and off at thread_end. The
 * parent reads callgrind's output file and reports instructions, data
 * references, D1 and LL data misses per operation, split into allocator
 * code and everything else. The child runs without address-space
 * randomisation so that two runs with the same inputs give identical
 * numbers. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/personality.h>
#endif

#include "backend.h"
#include "cachegrind.h"
#include "profiles.h"
#include "touch.h"

#ifdef TB_HAVE_VALGRIND_H
#include <valgrind/callgrind.h>
#endif

#ifndef TB_ALLOCATORS_DIR
#define TB_ALLOCATORS_DIR "/allocators/"
#endif

/* ---- reading callgrind output ------------------------------------------ */

enum { EV_IR, EV_DR, EV_DW, EV_I1MR, EV_D1MR, EV_D1MW, EV_ILMR, EV_DLMR, EV_DLMW, EV_N };
static const char *const ev_names[EV_N] = {"Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw"};

#define MAX_COLS 32

typedef struct {
  char **name; /* by compressed id */
  size_t cap;
} names_t;

static void names_free(names_t *t) {
  for (size_t i = 0; i < t->cap; i++) free(t->name[i]);
  free(t->name);
}

/* "(id) name", "(id)" or "name": the name, remembered under id. NULL when
 * out of memory or an id is used before it was defined. A name may itself
 * start with '(' ("(below main)"): only "(digits)" is an id. */
static const char *names_resolve(names_t *t, char *v) {
  if (*v != '(' || !isdigit((unsigned char)v[1])) return v;
  char *end;
  unsigned long id = strtoul(v + 1, &end, 10);
  if (*end != ')') return v;
  char *rest = end + 1;
  while (*rest == ' ') rest++;
  if (id >= t->cap) {
    size_t nc = id + 64;
    char **nn = realloc(t->name, nc * sizeof *nn);
    if (!nn) return NULL;
    memset(nn + t->cap, 0, (nc - t->cap) * sizeof *nn);
    t->name = nn;
    t->cap = nc;
  }
  if (*rest) {
    free(t->name[id]);
    t->name[id] = strdup(rest);
  }
  return t->name[id];
}

static void cost_add(tb_cg_cost_t *c, const uint64_t v[EV_N]) {
  c->ir += v[EV_IR];
  c->dr += v[EV_DR];
  c->dw += v[EV_DW];
  c->i1mr += v[EV_I1MR];
  c->d1mr += v[EV_D1MR];
  c->d1mw += v[EV_D1MW];
  c->ilmr += v[EV_ILMR];
  c->dlmr += v[EV_DLMR];
  c->dlmw += v[EV_DLMW];
}

/* Parse "pos c1 c2 ..." (npos position columns) into v by column map. */
static int parse_costs(char *s, int npos, const int *col_ev, int ncols, uint64_t v[EV_N]) {
  memset(v, 0, EV_N * sizeof v[0]);
  char *save = NULL, *tok = strtok_r(s, " \t\r\n", &save);
  for (int p = 0; p < npos; p++) {
    if (!tok) return 1;
    tok = strtok_r(NULL, " \t\r\n", &save);
  }
  for (int c = 0; tok; c++, tok = strtok_r(NULL, " \t\r\n", &save)) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(tok, &end, 10);
    if (*end || errno || c >= ncols) return 1;
    if (col_ev[c] >= 0) v[col_ev[c]] += x;
  }
  return 0;
}

/* Which part a source file's code belongs to. */
enum { PART_HARNESS, PART_ALLOC, PART_PROGRAM };

static int part_of(const char *file, const char *alloc_marker, const char *program_marker) {
  if (strstr(file, alloc_marker)) return PART_ALLOC;
  if (program_marker && strstr(file, program_marker)) return PART_PROGRAM;
  return PART_HARNESS;
}

#define CG_FIELDS X(ir) X(dr) X(dw) X(i1mr) X(d1mr) X(d1mw) X(ilmr) X(dlmr) X(dlmw)

/* d = a - b field by field; false when b exceeds a in some field. */
static bool cost_sub(tb_cg_cost_t *d, const tb_cg_cost_t *a, const tb_cg_cost_t *b) {
#define X(f) if (b->f > a->f) return false; d->f = a->f - b->f;
  CG_FIELDS
#undef X
  return true;
}

static void cost_plus(tb_cg_cost_t *d, const tb_cg_cost_t *a) {
#define X(f) d->f += a->f;
  CG_FIELDS
#undef X
}

int tb_callgrind_parse(const char *path, const char *alloc_marker, const char *program_marker, tb_cg_result_t *out,
                       char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "%s:0: cannot open callgrind output: %s", path, strerror(errno));
    return 1;
  }
  names_t files = {0}, fns = {0};
  int col_ev[MAX_COLS], ncols = 0, npos = 1, line = 0, rc = 0;
  bool have_events = false, have_summary = false, pending_call = false;
  int cur = PART_HARNESS;    /* part of the file of the following cost lines */
  int fl_part = PART_HARNESS; /* part of the current function's file (fl=) */
  int callee = PART_HARNESS; /* part of the next call's target file */
  tb_cg_cost_t *part[3] = {NULL, &out->alloc, &out->program};
  uint64_t summary[EV_N] = {0};
  tb_cg_cost_t self = {0};
  size_t cap = 4096;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    snprintf(err, errlen, "%s:0: out of memory", path);
    return 1;
  }
#define PFAIL(...)                                          \
  do {                                                      \
    int n_ = snprintf(err, errlen, "%s:%d: ", path, line);  \
    if (n_ >= 0 && (size_t)n_ < errlen) snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__); \
    rc = 1;                                                 \
    goto done;                                              \
  } while (0)
  for (;;) {
    /* whole lines of any length (symbol names can be long) */
    size_t len = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
      if (len + 2 > cap) {
        char *nb = realloc(buf, cap *= 2);
        if (!nb) PFAIL("out of memory");
        buf = nb;
      }
      buf[len++] = (char)ch;
    }
    if (ch == EOF && len == 0) break;
    buf[len] = '\0';
    line++;
    char *s = buf;
    if (!*s || *s == '#') continue;
    if (strncmp(s, "events:", 7) == 0) {
      ncols = 0;
      char *save = NULL;
      for (char *t = strtok_r(s + 7, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (ncols == MAX_COLS) PFAIL("more than %d event columns", MAX_COLS);
        col_ev[ncols] = -1;
        for (int e = 0; e < EV_N; e++)
          if (strcmp(t, ev_names[e]) == 0) col_ev[ncols] = e;
        ncols++;
      }
      bool sim = false;
      for (int c = 0; c < ncols; c++) sim |= col_ev[c] == EV_D1MR;
      if (!sim) PFAIL("no D1mr event: this output was not made with --cache-sim=yes");
      have_events = true;
      continue;
    }
    if (strncmp(s, "positions:", 10) == 0) {
      npos = 0;
      char *save = NULL;
      for (char *t = strtok_r(s + 10, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) npos++;
      if (npos < 1) PFAIL("empty positions: line");
      continue;
    }
    if (strncmp(s, "summary:", 8) == 0) continue; /* written before the run (0): totals: below is what counts */
    if (strncmp(s, "totals:", 7) == 0) {
      if (!have_events) PFAIL("totals before events:");
      uint64_t tmp[EV_N];
      if (parse_costs(s + 7, 0, col_ev, ncols, tmp)) PFAIL("bad totals line");
      for (int e = 0; e < EV_N; e++) summary[e] += tmp[e]; /* one per part */
      have_summary = true;
      continue;
    }
    if (isdigit((unsigned char)*s) || *s == '+' || *s == '-' || *s == '*') {
      if (!have_events) PFAIL("cost line before events:");
      uint64_t v[EV_N];
      if (parse_costs(s, npos, col_ev, ncols, v)) PFAIL("bad cost line");
      if (pending_call) {
        /* inclusive cost of a call: work of the caller's part when
         * allocator or program code calls code of neither (libc: memset,
         * memcpy, glibc's malloc behind its adapter, system call
         * wrappers; the callee's self cost is charged to the harness
         * otherwise). A call into the other part keeps its own self cost. */
        if (cur != PART_HARNESS && callee == PART_HARNESS) cost_add(part[cur], v);
        pending_call = false;
        callee = cur; /* cfi=/cfl= apply to one call */
      } else {
        cost_add(&self, v);
        if (cur != PART_HARNESS) cost_add(part[cur], v);
      }
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq) continue; /* version:, creator:, cmd:, pid:, ... */
    *eq = '\0';
    const char *key = s;
    char *val = eq + 1;
    if (!strcmp(key, "fl") || !strcmp(key, "fi") || !strcmp(key, "fe")) {
      const char *name = names_resolve(&files, val);
      if (!name) PFAIL("file id used before it was named");
      cur = part_of(name, alloc_marker, program_marker);
      if (key[1] == 'l') fl_part = cur;
      callee = cur; /* a call's target file defaults to the current one */
    } else if (!strcmp(key, "fn")) {
      if (!names_resolve(&fns, val)) PFAIL("function id used before it was named");
      cur = callee = fl_part; /* a new function starts in its own file */
    } else if (!strcmp(key, "cfi") || !strcmp(key, "cfl")) {
      const char *name = names_resolve(&files, val);
      if (!name) PFAIL("file id used before it was named");
      callee = part_of(name, alloc_marker, program_marker);
    } else if (!strcmp(key, "cfn")) {
      if (!names_resolve(&fns, val)) PFAIL("function id used before it was named");
    } else if (!strcmp(key, "calls")) {
      pending_call = true;
    }
    /* ob=, cob=, jump=, jcnd=, jfi=, jfn=: not needed for the split */
  }
  if (ferror(f)) PFAIL("read error");
  if (!have_events) PFAIL("not a callgrind output file (no events: line)");
  if (pending_call) PFAIL("file ends after a calls= line");
  out->total = self;
  if (have_summary) {
    tb_cg_cost_t s2 = {0};
    cost_add(&s2, summary);
    if (memcmp(&s2, &self, sizeof s2) != 0)
      PFAIL("the cost lines add up to %llu Ir but totals: says %llu", (unsigned long long)self.ir,
            (unsigned long long)s2.ir);
  }
  tb_cg_cost_t ap = out->alloc;
  cost_plus(&ap, &out->program);
  if (!cost_sub(&out->harness, &self, &ap))
    PFAIL("the allocator and program parts exceed the total (outside code called back into them?)");
done:
#undef PFAIL
  free(buf);
  names_free(&files);
  names_free(&fns);
  fclose(f);
  return rc;
}

/* ---- running under callgrind --------------------------------------------- */

static int find_valgrind(char *path, size_t len) {
  const char *p = getenv("PATH");
  if (!p) p = "/usr/bin:/bin";
  while (*p) {
    size_t n = strcspn(p, ":");
    snprintf(path, len, "%.*s/valgrind", (int)n, p);
    if (n && access(path, X_OK) == 0) return 0;
    p += n;
    if (*p) p++;
  }
  return 1;
}

char **tb_callgrind_argv(const char *profile, char *const argv[], const char *outfile, const char *logfile, char **store,
                         char *err, size_t errlen) {
  tb_profile_t p;
  *store = NULL;
  if (tb_profile_get(profile, &p, err, errlen)) return NULL;
  if (tb_profile_check_valgrind(&p, err, errlen)) return NULL;
  const tb_cache_level_t *lv[3] = {&p.l1i, &p.l1d, tb_profile_ll(&p)};
  const char *opt[3] = {"--I1", "--D1", "--LL"};
  size_t nargs = 0;
  while (argv[nargs]) nargs++;
  char **v = calloc(nargs + 16, sizeof *v);
  char *st = malloc(3 * 64 + strlen(outfile) + strlen(logfile) + 64);
  if (!v || !st) {
    free(v);
    free(st);
    snprintf(err, errlen, "cachegrind: out of memory");
    return NULL;
  }
  size_t k = 0, o = 0;
  v[k++] = "valgrind";
  v[k++] = "--tool=callgrind";
  v[k++] = "--cache-sim=yes";
  for (int i = 0; i < 3; i++) {
    uint64_t ways = lv[i]->ways == TB_WAYS_FULL ? lv[i]->size / lv[i]->line : lv[i]->ways;
    v[k++] = st + o;
    o += (size_t)sprintf(st + o, "%s=%llu,%llu,%u", opt[i], (unsigned long long)lv[i]->size, (unsigned long long)ways,
                         lv[i]->line) + 1;
  }
  /* Simulated from the start (the caches are warm at the window), costs
   * collected only in the window: the child toggles collection per replay
   * thread (backend.h's thread_begin/thread_end). */
  v[k++] = "--collect-atstart=no";
  v[k++] = "--dump-instr=no";
  v[k++] = "--compress-strings=no";
  v[k++] = "--compress-pos=no";
  v[k++] = st + o;
  o += (size_t)sprintf(st + o, "--callgrind-out-file=%s", outfile) + 1;
  v[k++] = st + o;
  o += (size_t)sprintf(st + o, "--log-file=%s", logfile) + 1;
  v[k++] = "--";
  for (size_t i = 0; i < nargs; i++) v[k++] = argv[i];
  v[k] = NULL;
  *store = st;
  return v;
}

/* The last few lines of valgrind's log, for error messages. */
static void log_tail(const char *logfile, char *out, size_t len) {
  out[0] = '\0';
  FILE *f = fopen(logfile, "r");
  if (!f) return;
  char line[512], last[3][512] = {"", "", ""};
  while (fgets(line, sizeof line, f)) {
    memmove(last[0], last[1], sizeof last[0] * 2);
    snprintf(last[2], sizeof last[2], "%s", line);
  }
  fclose(f);
  snprintf(out, len, "%s%s%s", last[0], last[1], last[2]);
}

int tb_callgrind_run(const char *profile, char *const argv[], const char *alloc_marker, const char *program_marker,
                     tb_cg_result_t *out, char *err, size_t errlen) {
  char vg[512];
  if (find_valgrind(vg, sizeof vg)) {
    snprintf(err, errlen, "cachegrind: valgrind is not installed (not found in PATH)");
    return 1;
  }
  const char *tmp = getenv("TMPDIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tb-callgrind-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    snprintf(err, errlen, "cachegrind: cannot make a directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
    return 1;
  }
  char outfile[600], logfile[600];
  snprintf(outfile, sizeof outfile, "%s/callgrind.out", dir);
  snprintf(logfile, sizeof logfile, "%s/valgrind.log", dir);
  char *store;
  char **v = tb_callgrind_argv(profile, argv, outfile, logfile, &store, err, errlen);
  int rc = 1;
  if (!v) goto out;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, errlen, "cachegrind: fork: %s", strerror(errno));
    goto out;
  }
  if (pid == 0) {
#ifdef __linux__
    /* the same addresses on every run: set indices, and so misses, repeat */
    personality(ADDR_NO_RANDOMIZE);
#endif
    execv(vg, v);
    fprintf(stderr, "testbed: cachegrind: cannot run %s: %s\n", vg, strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      snprintf(err, errlen, "cachegrind: waitpid: %s", strerror(errno));
      goto out;
    }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char tail[1600];
    log_tail(logfile, tail, sizeof tail);
    if (WIFEXITED(status))
      snprintf(err, errlen, "cachegrind: the run under valgrind exited with status %d%s%s", WEXITSTATUS(status),
               tail[0] ? "; valgrind log ends:\n" : "", tail);
    else
      snprintf(err, errlen, "cachegrind: the run under valgrind died of signal %d%s%s", WTERMSIG(status),
               tail[0] ? "; valgrind log ends:\n" : "", tail);
    goto out;
  }
  rc = tb_callgrind_parse(outfile, alloc_marker, program_marker, out, err, errlen);
out:
  free(v);
  free(store);
  unlink(outfile);
  unlink(logfile);
  rmdir(dir);
  return rc;
}

/* ---- the backend ----------------------------------------------------------- */

struct tb_backend_inst_s {
  bool inner;         /* this process is the child under callgrind */
  int nthreads;       /* replay threads: more than one is not deterministic */
  tb_profile_t prof;
  char profile[64];   /* as given ("" = host) */
  bool have;          /* a result was read */
  tb_cg_result_t r;
};

static bool cg_available(char *why, size_t whylen) {
#ifndef TB_HAVE_VALGRIND_H
  snprintf(why, whylen, "built without valgrind/callgrind.h: the child could not mark the measured window");
  return false;
#else
  char vg[512];
  if (find_valgrind(vg, sizeof vg)) {
    snprintf(why, whylen, "valgrind is not installed (not found in PATH)");
    return false;
  }
  snprintf(why, whylen, "%.200s (callgrind cache simulation)", vg);
  return true;
#endif
}

static tb_backend_inst_t *cg_open(const char *profile, int nthreads, char *err, size_t errlen) {
  tb_backend_inst_t *b = calloc(1, sizeof *b);
  if (!b) {
    snprintf(err, errlen, "cachegrind: out of memory");
    return NULL;
  }
  b->inner = tb_backend_inner();
  b->nthreads = nthreads;
  snprintf(b->profile, sizeof b->profile, "%s", profile ? profile : "");
  if (b->inner) return b; /* only marks the window */
  char why[256];
  if (!cg_available(why, sizeof why)) {
    snprintf(err, errlen, "cachegrind: %s", why);
    free(b);
    return NULL;
  }
  if (tb_profile_get(profile, &b->prof, err, errlen) || tb_profile_check_valgrind(&b->prof, err, errlen)) {
    free(b);
    return NULL;
  }
  return b;
}

/* Collection state is per thread in callgrind, so each replay thread turns
 * its own on at thread_begin and off at thread_end (the replay calls both
 * in the replaying thread, around the window; with one thread, in the
 * calling thread just outside window_begin/window_end). The simulation
 * itself runs all along, collected or not, so every cache holds what the
 * process touched before (the decoded trace, the slot table, the heap). */
static void cg_thread(tb_backend_inst_t *b, int tid) {
  (void)tid;
#ifdef TB_HAVE_VALGRIND_H
  if (b->inner) CALLGRIND_TOGGLE_COLLECT;
#else
  (void)b;
#endif
}


static int cg_reexec(tb_backend_inst_t *b, char *const argv[], char *err, size_t errlen) {
  if (b->inner) {
    snprintf(err, errlen, "cachegrind: already running under the simulator (%s is set)", TB_BACKEND_INNER_ENV);
    return 1;
  }
  /* The child's environment says it is the inner run. */
  const char *old = getenv(TB_BACKEND_INNER_ENV);
  char *saved = old ? strdup(old) : NULL;
  setenv(TB_BACKEND_INNER_ENV, "cachegrind", 1);
  int rc = tb_callgrind_run(b->profile, argv, TB_ALLOCATORS_DIR, TB_TOUCH_FILE, &b->r, err, errlen);
  if (saved) {
    setenv(TB_BACKEND_INNER_ENV, saved, 1);
    free(saved);
  } else {
    unsetenv(TB_BACKEND_INNER_ENV);
  }
  b->have = rc == 0;
  return rc;
}

/* Each metric as a total, per op, and per op in three parts that add up to
 * it (names shared with the memsim backend: l1d, llc, ...). */
static void cg_report(tb_backend_inst_t *b, uint64_t ops, tb_emit_fn emit, void *ctx) {
  if (b->inner) return;
  const tb_cg_cost_t *c[4] = {&b->r.total, &b->r.alloc, &b->r.harness, &b->r.program};
  static const char *const part[4] = {"", "allocator_", "harness_", "program_"};
  static const char *const name[4] = {"instructions", "data_refs", "l1d_misses", "llc_misses"};
  bool na = !b->have, pna = na || ops == 0;
  double d = ops ? (double)ops : 1;
  for (int m = 0; m < 4; m++) {
    for (int k = 0; k < 4; k++) {
      const tb_cg_cost_t *x = c[k];
      uint64_t v = m == 0 ? x->ir : m == 1 ? x->dr + x->dw : m == 2 ? x->d1mr + x->d1mw : x->dlmr + x->dlmw;
      char nm[96];
      if (k == 0) emit(ctx, name[m], (double)v, na, "1");
      snprintf(nm, sizeof nm, "%s%s_per_op", part[k], name[m]);
      emit(ctx, nm, (double)v / d, pna, "1");
    }
  }
  emit(ctx, "simulated_runs", 1, na, "1");
}

static void cg_close(tb_backend_inst_t *b) { free(b); }

static void cg_meta(tb_backend_inst_t *b, char *buf, size_t len) {
  if (b->inner) {
    snprintf(buf, len, "{}");
    return;
  }
  const tb_profile_t *p = &b->prof;
  const tb_cache_level_t *ll = tb_profile_ll(p);
#define W(c) ((c)->ways == TB_WAYS_FULL ? (unsigned long long)((c)->size / (c)->line) : (unsigned long long)(c)->ways)
  snprintf(buf, len,
           "{\"simulator\":\"valgrind --tool=callgrind --cache-sim=yes\",\"profile\":\"%s\",\"profile_file\":\"%s\","
           "\"I1\":[%llu,%llu,%u],\"D1\":[%llu,%llu,%u],\"LL\":[%llu,%llu,%u],\"allocator_code\":\"%s\",\"program_code\":\"%s\","
           "\"aslr\":\"off\",\"simulated_runs\":1,\"deterministic\":%s}",
           p->name, p->file, (unsigned long long)p->l1i.size, W(&p->l1i), p->l1i.line, (unsigned long long)p->l1d.size,
           W(&p->l1d), p->l1d.line, (unsigned long long)ll->size, W(ll), ll->line, TB_ALLOCATORS_DIR, TB_TOUCH_FILE,
           b->nthreads > 1 ? "false" : "true");
#undef W
}

const tb_backend_t tb_backend_cachegrind = {
    .name = "cachegrind",
    .summary = "simulated I1/D1/LL caches of a machine profile (cachegrind:PROFILE) under valgrind's callgrind; "
               "allocator / harness / program split",
    .open = cg_open,
    .thread_begin = cg_thread,
    .thread_end = cg_thread,
    .window_begin = NULL, /* the window is per thread (cg_thread) */
    .window_end = NULL,
    .reexec = cg_reexec,
    .report = cg_report,
    .close = cg_close,
    .available = cg_available,
    .meta = cg_meta,
};
