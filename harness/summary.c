/* summary.c: read and validate a run set's results.csv, group the rows and
 * compute median, 95% CI of the median and friends (see summary.h); write
 * them as summary.csv or as LaTeX macros for the paper. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "summary.h"

static const char *const columns[] = {"experiment", "allocator", "workload", "backend", "profile",
                                      "threads",    "run",       "metric",   "value",   "unit"};
enum { NCOL = 10, C_THREADS = 5, C_RUN = 6, C_METRIC = 7, C_VALUE = 8, C_UNIT = 9 };

typedef struct {
  char *f[NCOL]; /* point into the line copy */
  double value;  /* NAN for NA */
  long line;
} row_t;

typedef struct {
  char **lines; /* owned line copies */
  size_t nlines;
  row_t *rows;
  char **names; /* owned names of derived metrics */
  size_t nnames;
} store_t;

static int fail(char *err, size_t errlen, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *file, long line, const char *fmt, ...) {
  int k = line > 0 ? snprintf(err, errlen, "%s:%ld: ", file, line) : snprintf(err, errlen, "%s: ", file);
  if (k < 0 || (size_t)k >= errlen) return 2;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
  va_end(ap);
  return 2;
}

/* Split a line on commas in place. Returns the field count (up to max+1 so
 * "too many" can be told). Quoted fields are not part of the format. */
static int split(char *s, char **f, int max) {
  int n = 0;
  f[n++] = s;
  for (char *p = s; *p; p++) {
    if (*p == ',') {
      *p = '\0';
      if (n > max) return n + 1;
      f[n++] = p + 1;
    }
  }
  return n;
}

static bool is_uint(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

static int key_cmp(const row_t *a, const row_t *b) {
  static const int order[TB_SUM_KEYS] = {0, 1, 2, 3, 4, C_THREADS, C_METRIC};
  for (int i = 0; i < TB_SUM_KEYS; i++) {
    int k = order[i];
    if (k == C_THREADS) { /* numeric order: 2 before 16 */
      size_t la = strlen(a->f[k]), lb = strlen(b->f[k]);
      if (la != lb) return la < lb ? -1 : 1;
    }
    int c = strcmp(a->f[k], b->f[k]);
    if (c) return c;
  }
  return 0;
}

static int row_cmp(const void *pa, const void *pb) {
  const row_t *a = pa, *b = pb;
  int c = key_cmp(a, b);
  if (c) return c;
  return a->line < b->line ? -1 : a->line > b->line;
}

static int dbl_cmp(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return a < b ? -1 : a > b;
}

/* P(Bin(n, 1/2) <= k) by the term recurrence C(n,i) = C(n,i-1) (n-i+1)/i,
 * starting from 2^-n (exact in doubles for n <= 1000; larger n is handled by
 * the caller). No libm: the harness library does not link it. */
static double binom_cdf_half(size_t n, size_t k) {
  double t = 1.0;
  for (size_t i = 0; i < n; i++) t *= 0.5;
  double sum = t;
  for (size_t i = 1; i <= k && i <= n; i++) {
    t = t * (double)(n - i + 1) / (double)i;
    sum += t;
  }
  return sum;
}

static double sqrt_newton(double x) {
  double r = x > 1 ? x : 1;
  for (int i = 0; i < 200; i++) r = 0.5 * (r + x / r);
  return r;
}

void tb_summary_median_ci(const double *v, size_t n, double *median, double *lo, double *hi, double *level) {
  *median = *lo = *hi = *level = NAN;
  if (n == 0) return;
  *median = (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  if (n < 2) return;
  /* Largest j (1-based) with coverage of [x_(j), x_(n+1-j)] >= 0.95. */
  size_t best = 1;
  double cover = 1.0 - 2.0 * binom_cdf_half(n, 0);
  if (n > 1000) { /* normal approximation of the binomial, 1.96 sigma */
    best = (size_t)((double)n / 2.0 - 0.98 * sqrt_newton((double)n));
    cover = 0.95;
  } else {
    for (size_t j = 2; j <= n / 2; j++) {
      double c = 1.0 - 2.0 * binom_cdf_half(n, j - 1);
      if (c < 0.95) break;
      best = j;
      cover = c;
    }
  }
  *lo = v[best - 1];
  *hi = v[n - best];
  *level = cover;
}

static void compute(tb_sum_group_t *g, const row_t *r, size_t cnt, double *scratch) {
  size_t n = 0;
  for (size_t i = 0; i < cnt; i++)
    if (!isnan(r[i].value)) scratch[n++] = r[i].value;
  g->experiment = r[0].f[0];
  g->allocator = r[0].f[1];
  g->workload = r[0].f[2];
  g->backend = r[0].f[3];
  g->profile = r[0].f[4];
  g->threads = r[0].f[C_THREADS];
  g->metric = r[0].f[C_METRIC];
  g->unit = r[0].f[C_UNIT];
  g->n = n;
  g->n_na = cnt - n;
  g->mean = g->min = g->max = NAN;
  qsort(scratch, n, sizeof *scratch, dbl_cmp);
  tb_summary_median_ci(scratch, n, &g->median, &g->ci_low, &g->ci_high, &g->ci_level);
  if (n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += scratch[i];
    g->mean = s / (double)n;
    g->min = scratch[0];
    g->max = scratch[n - 1];
  }
}

static int parse(FILE *fp, const char *path, tb_summary_t *s, store_t *st, char *err, size_t errlen) {
  char *line = NULL;
  size_t cap = 0, rcap = 0, lcap = 0;
  ssize_t len;
  long lineno = 0;
  bool header = false;
  int rc = 0;
  while ((len = getline(&line, &cap, fp)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (lineno == 1) {
      if (strncmp(line, "# command:", 10) != 0) {
        rc = fail(err, errlen, path, lineno, "first line must be '# command: ...' (the command that made the file)");
        break;
      }
      const char *c = line + 10;
      while (*c == ' ') c++;
      s->command = strdup(c);
      continue;
    }
    if (len == 0 || line[0] == '#') continue; /* blank lines and comments */
    if (strchr(line, '"')) {
      rc = fail(err, errlen, path, lineno, "quoted fields are not part of the results format");
      break;
    }
    if (!header) {
      char *f[NCOL + 2];
      int nf = split(line, f, NCOL);
      bool ok = nf == NCOL;
      for (int i = 0; ok && i < NCOL; i++) ok = !strcmp(f[i], columns[i]);
      if (!ok) {
        rc = fail(err, errlen, path, lineno,
                  "header must be exactly experiment,allocator,workload,backend,profile,threads,run,metric,value,unit");
        break;
      }
      header = true;
      continue;
    }
    if (st->nlines == lcap) {
      lcap = lcap ? 2 * lcap : 256;
      st->lines = realloc(st->lines, lcap * sizeof *st->lines);
    }
    if (s->nrows == rcap) {
      rcap = rcap ? 2 * rcap : 256;
      st->rows = realloc(st->rows, rcap * sizeof *st->rows);
    }
    if (!st->lines || !st->rows) {
      rc = fail(err, errlen, path, lineno, "out of memory");
      break;
    }
    char *copy = strdup(line);
    st->lines[st->nlines++] = copy;
    row_t *r = &st->rows[s->nrows];
    int nf = split(copy, r->f, NCOL);
    if (nf != NCOL) {
      rc = fail(err, errlen, path, lineno, "expected %d comma-separated fields, found %s%d", NCOL,
                nf > NCOL ? "more than " : "", nf > NCOL ? NCOL : nf);
      break;
    }
    for (int i = 0; i < NCOL; i++) {
      if (!*r->f[i]) {
        rc = fail(err, errlen, path, lineno, "empty field '%s'", columns[i]);
        break;
      }
    }
    if (rc) break;
    if (!is_uint(r->f[C_THREADS]) || atoi(r->f[C_THREADS]) < 1 || r->f[C_THREADS][0] == '0') {
      rc = fail(err, errlen, path, lineno, "threads '%s' is not a positive whole number", r->f[C_THREADS]);
      break;
    }
    if (!is_uint(r->f[C_RUN])) {
      rc = fail(err, errlen, path, lineno, "run '%s' is not a whole number", r->f[C_RUN]);
      break;
    }
    const char *v = r->f[C_VALUE];
    if (!strcmp(v, "NA")) {
      r->value = NAN;
    } else {
      char *end;
      errno = 0;
      r->value = strtod(v, &end);
      if (*end || errno || !isfinite(r->value) || end == v) {
        rc = fail(err, errlen, path, lineno, "value '%s' is neither a finite number nor NA", v);
        break;
      }
    }
    r->line = lineno;
    s->nrows++;
  }
  free(line);
  if (!rc && ferror(fp)) rc = fail(err, errlen, path, 0, "read error: %s", strerror(errno));
  if (!rc && lineno == 0) rc = fail(err, errlen, path, 0, "empty file");
  if (!rc && !header) rc = fail(err, errlen, path, lineno, "no header line");
  if (!rc && s->nrows == 0) rc = fail(err, errlen, path, lineno, "no result rows");
  return rc;
}

/* The name of the derived allocator+program metric of an allocator_REST
 * metric, owned by st (one copy per distinct name); NULL when out of memory. */
static const char *ap_name(store_t *st, const char *alloc_metric) {
  const char *rest = alloc_metric + strlen("allocator_");
  for (size_t i = 0; i < st->nnames; i++)
    if (!strcmp(st->names[i] + strlen("allocator_program_"), rest)) return st->names[i];
  char **nn = realloc(st->names, (st->nnames + 1) * sizeof *nn);
  if (!nn) return NULL;
  st->names = nn;
  size_t len = strlen("allocator_program_") + strlen(rest) + 1;
  char *n = malloc(len);
  if (!n) return NULL;
  snprintf(n, len, "allocator_program_%s", rest);
  return st->names[st->nnames++] = n;
}

/* Derived metrics, computed per run before grouping (rows sorted by key,
 * so one (experiment..threads) block holds all metrics of a measurement):
 *   metadata_per_live_byte = metadata_bytes_at_peak / peak_live_bytes
 *   (unit 1): the metadata when the live bytes peak, per live byte then.
 *   Run sets made before metadata_bytes_at_peak existed have only
 *   metadata_bytes (at the end of the window); their measurements use it.
 *   NA when either is NA or peak_live_bytes is 0.
 *   allocator_program_REST = allocator_REST + program_REST (same unit), for
 *   every split metric (allocator_l1d_misses_per_op, ...): the misses of a
 *   design, its own and the program's on its blocks, without the harness's
 *   (harness_REST), which is the same for every allocator. NA when either
 *   part is NA.
 * Neither is added when the run set already carries it. */
static int add_derived(tb_summary_t *s, store_t *st) {
  size_t n0 = s->nrows, extra = 0;
  bool want_meta = true, want_ap = true;
  for (size_t i = 0; i < n0; i++) {
    const char *m = st->rows[i].f[C_METRIC];
    if (!strcmp(m, "metadata_per_live_byte")) want_meta = false;
    if (!strncmp(m, "allocator_program_", 18)) want_ap = false;
  }
  for (size_t i = 0; i < n0; i++) {
    const char *m = st->rows[i].f[C_METRIC];
    extra += (want_meta && !strcmp(m, "metadata_bytes")) || (want_ap && !strncmp(m, "allocator_", 10));
  }
  if (!extra) return 0;
  row_t *rows = realloc(st->rows, (n0 + extra) * sizeof *rows);
  if (!rows) return 1;
  st->rows = rows;
  for (size_t i = 0; i < n0;) {
    size_t j = i + 1; /* block [i, j): same experiment..threads */
    while (j < n0) {
      bool same = true;
      for (int k = 0; k <= C_THREADS && same; k++) same = !strcmp(rows[i].f[k], rows[j].f[k]);
      if (!same) break;
      j++;
    }
    for (size_t a = i; a < j; a++) {
      if (!want_meta || strcmp(rows[a].f[C_METRIC], "metadata_bytes")) continue;
      row_t d = rows[a];
      d.f[C_METRIC] = "metadata_per_live_byte";
      d.f[C_UNIT] = "1";
      d.f[C_VALUE] = "derived";
      d.value = NAN;
      double meta = rows[a].value;
      for (size_t b = i; b < j; b++)
        if (!strcmp(rows[b].f[C_METRIC], "metadata_bytes_at_peak") && !strcmp(rows[b].f[C_RUN], rows[a].f[C_RUN])) {
          meta = rows[b].value;
          break;
        }
      for (size_t b = i; b < j; b++) {
        if (strcmp(rows[b].f[C_METRIC], "peak_live_bytes") || strcmp(rows[b].f[C_RUN], rows[a].f[C_RUN])) continue;
        if (!isnan(meta) && !isnan(rows[b].value) && rows[b].value > 0) d.value = meta / rows[b].value;
        break;
      }
      rows[s->nrows++] = d;
      s->nderived++;
    }
    for (size_t a = i; a < j; a++) {
      if (!want_ap || strncmp(rows[a].f[C_METRIC], "allocator_", 10)) continue;
      const char *rest = rows[a].f[C_METRIC] + 10;
      for (size_t b = i; b < j; b++) {
        const char *m = rows[b].f[C_METRIC];
        if (strncmp(m, "program_", 8) || strcmp(m + 8, rest) || strcmp(rows[b].f[C_RUN], rows[a].f[C_RUN]) ||
            strcmp(rows[b].f[C_UNIT], rows[a].f[C_UNIT]))
          continue;
        row_t d = rows[a];
        if (!(d.f[C_METRIC] = (char *)ap_name(st, rows[a].f[C_METRIC]))) return 1;
        d.f[C_VALUE] = "derived";
        d.value = isnan(rows[a].value) || isnan(rows[b].value) ? NAN : rows[a].value + rows[b].value;
        rows[s->nrows++] = d;
        s->nderived++;
        break;
      }
    }
    i = j;
  }
  qsort(rows, s->nrows, sizeof *rows, row_cmp);
  return 0;
}

static int add_comparisons(tb_summary_t *s);

int tb_summary_load(const char *dir_or_file, tb_summary_t *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  struct stat sb;
  size_t plen = strlen(dir_or_file) + 16;
  s->source = malloc(plen);
  if (!s->source) return fail(err, errlen, dir_or_file, 0, "out of memory");
  if (stat(dir_or_file, &sb) == 0 && S_ISDIR(sb.st_mode))
    snprintf(s->source, plen, "%s/results.csv", dir_or_file);
  else
    snprintf(s->source, plen, "%s", dir_or_file);
  FILE *fp = fopen(s->source, "r");
  if (!fp) {
    int e = errno;
    snprintf(err, errlen, "%s: %s%s", s->source, strerror(e), e == ENOENT ? " (not a run set folder?)" : "");
    return e == ENOENT ? 2 : 1;
  }
  store_t *st = calloc(1, sizeof *st);
  s->priv = st;
  int rc = st ? parse(fp, s->source, s, st, err, errlen) : 1;
  fclose(fp);
  if (rc) return rc;

  qsort(st->rows, s->nrows, sizeof *st->rows, row_cmp);
  if (add_derived(s, st) != 0) return fail(err, errlen, s->source, 0, "out of memory");
  s->groups = calloc(s->nrows, sizeof *s->groups);
  double *scratch = malloc(s->nrows * sizeof *scratch);
  if (!s->groups || !scratch) {
    free(scratch);
    return fail(err, errlen, s->source, 0, "out of memory");
  }
  for (size_t i = 0; i < s->nrows;) {
    size_t j = i + 1;
    while (j < s->nrows && key_cmp(&st->rows[i], &st->rows[j]) == 0) j++;
    for (size_t k = i + 1; k < j; k++) {
      const row_t *a = &st->rows[i], *b = &st->rows[k];
      if (strcmp(a->f[C_UNIT], b->f[C_UNIT])) {
        free(scratch);
        return fail(err, errlen, s->source, b->line, "unit '%s' differs from '%s' of the same metric at line %ld",
                    b->f[C_UNIT], a->f[C_UNIT], a->line);
      }
      for (size_t m = i; m < k; m++) {
        if (!strcmp(st->rows[m].f[C_RUN], b->f[C_RUN])) {
          free(scratch);
          return fail(err, errlen, s->source, b->line, "duplicate row: run %s of this metric is already at line %ld",
                      b->f[C_RUN], st->rows[m].line);
        }
      }
    }
    compute(&s->groups[s->ngroups++], &st->rows[i], j - i, scratch);
    i = j;
  }
  free(scratch);
  if (add_comparisons(s) != 0) return fail(err, errlen, s->source, 0, "out of memory");
  return 0;
}

/* ---- Ratios, directions, verdicts -------------------------------------- */

static int gkey_cmp(const tb_sum_group_t *a, const tb_sum_group_t *b) {
  const char *fa[TB_SUM_KEYS] = {a->experiment, a->allocator, a->workload, a->backend, a->profile, a->threads, a->metric};
  const char *fb[TB_SUM_KEYS] = {b->experiment, b->allocator, b->workload, b->backend, b->profile, b->threads, b->metric};
  for (int i = 0; i < TB_SUM_KEYS; i++) {
    if (i == 5) { /* threads: numeric order, as key_cmp */
      size_t la = strlen(fa[i]), lb = strlen(fb[i]);
      if (la != lb) return la < lb ? -1 : 1;
    }
    int c = strcmp(fa[i], fb[i]);
    if (c) return c;
  }
  return 0;
}

static int gkey_cmp_v(const void *a, const void *b) { return gkey_cmp(a, b); }

const tb_sum_group_t *tb_summary_lookup(const tb_summary_t *s, const char *experiment, const char *allocator,
                                        const char *workload, const char *backend, const char *profile,
                                        const char *threads, const char *metric) {
  tb_sum_group_t probe = {.experiment = experiment, .allocator = allocator, .workload = workload, .backend = backend,
                          .profile = profile, .threads = threads, .metric = metric};
  if (!s->ngroups) return NULL;
  return bsearch(&probe, s->groups, s->ngroups, sizeof *s->groups, gkey_cmp_v);
}

static bool has_ci(const tb_sum_group_t *g) {
  return g->n >= 2 && !isnan(g->ci_low) && !isnan(g->ci_high) && g->ci_low != g->ci_high;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

tb_dir_t tb_summary_compare(const tb_sum_group_t *d, const tb_sum_group_t *b, double *ratio, double *lo, double *hi) {
  *ratio = *lo = *hi = NAN;
  if (!d || !b || isnan(d->median) || isnan(b->median) || b->median == 0) return TB_DIR_NA;
  *ratio = d->median / b->median;
  bool ci = has_ci(d) && has_ci(b) && b->ci_low > 0;
  if (ci) {
    *lo = d->ci_low / b->ci_high;
    *hi = d->ci_high / b->ci_low;
    return *hi < 1 ? TB_DIR_LOWER : *lo > 1 ? TB_DIR_HIGHER : TB_DIR_SAME;
  }
  double diff = d->median - b->median;
  if (diff < 0) diff = -diff;
  if (ends_with(d->metric, "_misses_per_op") && diff <= TB_SUM_MISS_FLOOR) return TB_DIR_SAME;
  if (*ratio < 1 - TB_SUM_SIM_TOL) return TB_DIR_LOWER;
  if (*ratio > 1 + TB_SUM_SIM_TOL) return TB_DIR_HIGHER;
  return TB_DIR_SAME;
}

const tb_sum_step_t tb_summary_steps[] = {
    {"inline", "oob-m32", "where the metadata lives"},
    {"oob-m32", "oob", "denser blocks"},
    {"oob", "oob-map", "no back-pointer"},
    {"oob", "oob-array", "arrays in the bins"},
    {"inline", "oob", "out-of-band metadata, both effects"},
    {NULL, NULL, NULL},
};

const char *tb_summary_workload_class(const char *w) {
  /* a trace file (results name it by its file name) or a generator spec,
   * with or without its gen: prefix */
  if (strchr(w, '/') || strstr(w, ".tbt") || strstr(w, ".txt") || strstr(w, ".zst")) return "programs";
  if (!strncmp(w, "gen:", 4)) w += 4;
  if (!strncmp(w, "mix", 3)) return "mixes";
  if (!strncmp(w, "list", 4) || !strncmp(w, "tree", 4)) return "linked";
  if (!strncmp(w, "larson", 6) || !strncmp(w, "xmalloc", 7) || !strncmp(w, "cache_", 6)) return "threaded";
  return "micro";
}

static const char *const x86_cores[] = {"zen3", "zen4", "skylake", "icelake", "x86", NULL};
static const char *const arm_cores[] = {"neoverse-n1", "neoverse-v1", "cortex-a72", "cortex-a76",
                                        "apple-m1-p",  "apple-m1",    "arm",        NULL};

const char *tb_summary_profile_family(const char *p) {
  size_t n = strcspn(p, "/@");
  for (int i = 0; x86_cores[i]; i++)
    if (strlen(x86_cores[i]) == n && !strncmp(p, x86_cores[i], n)) return "x86";
  for (int i = 0; arm_cores[i]; i++)
    if (strlen(arm_cores[i]) == n && !strncmp(p, arm_cores[i], n)) return "ARM";
  return NULL;
}

const char *tb_summary_profile_isa(const char *p) {
  const char *fam = tb_summary_profile_family(p);
  if (!fam || strchr(p, '/')) return NULL; /* another page size than the core's own */
  const char *at = strchr(p, '@');
  if (!at) return fam; /* no ISA named: cachegrind, which runs the host's (x86-64) code */
  if (!strcmp(fam, "x86") && !strcmp(at + 1, "x86_64")) return fam;
  if (!strcmp(fam, "ARM") && !strcmp(at + 1, "aarch64")) return fam;
  return NULL;
}

static bool verdict_metric(const char *m) {
  if (!strcmp(m, "ns_per_op")) return true;
  const char *rest = NULL;
  if (!strncmp(m, "allocator_program_", 18)) rest = m + 18;
  else if (!strncmp(m, "allocator_", 10)) rest = m + 10;
  else if (!strncmp(m, "program_", 8)) rest = m + 8;
  if (!rest) return false;
  static const char *const lv[] = {"l1d_misses_per_op", "l2_misses_per_op",  "l3_misses_per_op",
                                   "llc_misses_per_op", "dtlb_misses_per_op", "l2tlb_misses_per_op", NULL};
  for (int i = 0; lv[i]; i++)
    if (!strcmp(rest, lv[i])) return true;
  return false;
}

typedef struct {
  int step;
  const char *metric, *backend, *scope, *cls;
  double ratio;
  tb_dir_t dir;
} vrec_t;

static int vrec_cmp(const void *pa, const void *pb) {
  const vrec_t *a = pa, *b = pb;
  if (a->step != b->step) return a->step < b->step ? -1 : 1;
  int c = strcmp(a->metric, b->metric);
  if (!c) c = strcmp(a->backend, b->backend);
  if (!c) c = strcmp(a->scope, b->scope);
  if (!c) c = strcmp(a->cls, b->cls);
  return c;
}

/* Ratios to the baseline for every group, then the verdicts of every
 * step. Returns 0, or 1 when out of memory. */
static int add_comparisons(tb_summary_t *s) {
  for (size_t i = 0; i < s->ngroups; i++) {
    tb_sum_group_t *g = &s->groups[i];
    g->ratio = g->ratio_lo = g->ratio_hi = NAN;
    g->dir = TB_DIR_NA;
    if (!strcmp(g->allocator, TB_SUMMARY_BASELINE)) continue;
    const tb_sum_group_t *b = tb_summary_lookup(s, g->experiment, TB_SUMMARY_BASELINE, g->workload, g->backend,
                                                g->profile, g->threads, g->metric);
    g->dir = tb_summary_compare(g, b, &g->ratio, &g->ratio_lo, &g->ratio_hi);
  }
  size_t cap = 0, nr = 0;
  vrec_t *rec = NULL;
  for (int st = 0; tb_summary_steps[st].from; st++) {
    for (size_t i = 0; i < s->ngroups; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      if (strcmp(g->allocator, tb_summary_steps[st].to) || !verdict_metric(g->metric)) continue;
      const tb_sum_group_t *b = tb_summary_lookup(s, g->experiment, tb_summary_steps[st].from, g->workload,
                                                  g->backend, g->profile, g->threads, g->metric);
      double r, lo, hi;
      tb_dir_t d = tb_summary_compare(g, b, &r, &lo, &hi);
      if (d == TB_DIR_NA) continue;
      const char *isa = tb_summary_profile_isa(g->profile), *cls = tb_summary_workload_class(g->workload);
      const char *scopes[2] = {g->profile, isa}, *classes[2] = {cls, "all"};
      if (nr + 4 > cap) {
        cap = cap ? 2 * cap : 1024;
        vrec_t *t = realloc(rec, cap * sizeof *rec);
        if (!t) {
          free(rec);
          return 1;
        }
        rec = t;
      }
      for (int a = 0; a < 2; a++)
        for (int c = 0; c < 2; c++)
          if (scopes[a])
            rec[nr++] = (vrec_t){st, g->metric, g->backend, scopes[a], classes[c], r, d};
    }
  }
  if (nr) qsort(rec, nr, sizeof *rec, vrec_cmp);
  s->verdicts = calloc(nr ? nr : 1, sizeof *s->verdicts);
  if (!s->verdicts) {
    free(rec);
    return 1;
  }
  for (size_t i = 0; i < nr;) {
    size_t j = i + 1;
    while (j < nr && vrec_cmp(&rec[i], &rec[j]) == 0) j++;
    tb_verdict_t *v = &s->verdicts[s->nverdicts++];
    const tb_sum_step_t *st = &tb_summary_steps[rec[i].step];
    *v = (tb_verdict_t){st->from, st->to, rec[i].metric, rec[i].backend, rec[i].scope, rec[i].cls,
                        0, 0, 0, 0, NAN, NAN, NAN, TB_DIR_NA, false};
    double logsum = 0;
    size_t npos = 0;
    for (size_t k = i; k < j; k++) {
      double r = rec[k].ratio;
      v->n++;
      v->nlower += rec[k].dir == TB_DIR_LOWER;
      v->nsame += rec[k].dir == TB_DIR_SAME;
      v->nhigher += rec[k].dir == TB_DIR_HIGHER;
      if (isnan(v->min) || r < v->min) v->min = r;
      if (isnan(v->max) || r > v->max) v->max = r;
      if (r > 0) logsum += log(r), npos++;
    }
    if (npos) v->gmean = exp(logsum / (double)npos);
    v->mixed = v->nlower && v->nhigher;
    bool near1 = !isnan(v->gmean) && v->gmean >= 1 - TB_SUM_SIM_TOL && v->gmean <= 1 + TB_SUM_SIM_TOL;
    if (v->mixed)
      v->dir = near1 ? TB_DIR_SAME : isnan(v->gmean) || v->gmean < 1 ? TB_DIR_LOWER : TB_DIR_HIGHER;
    else if (near1 || (!v->nlower && !v->nhigher))
      v->dir = TB_DIR_SAME;
    else
      v->dir = v->nlower ? TB_DIR_LOWER : TB_DIR_HIGHER;
    i = j;
  }
  free(rec);
  return 0;
}

static const char *dir_name(tb_dir_t d) {
  return d == TB_DIR_LOWER ? "lower" : d == TB_DIR_HIGHER ? "higher" : d == TB_DIR_SAME ? "same" : "NA";
}

int tb_summary_write_verdicts(const tb_summary_t *s, FILE *f, const char *cmdline) {
  char b[3][32];
  fprintf(f, "# command: %s\n", cmdline);
  fprintf(f, "# source: %s (made by: %s)\n", s->source, s->command ? s->command : "?");
  fprintf(f, "# one row per (step, metric, backend, scope, class): ratios to/from over the workloads of the class; "
             "scope x86/ARM: every profile of that ISA at its own page size; direction per workload: lower/higher "
             "when the ratio interval excludes 1 (runs with a CI) or differs from 1 by more than %g (one "
             "deterministic run; and misses by more than %g per op)\n",
          TB_SUM_SIM_TOL, TB_SUM_MISS_FLOOR);
  fprintf(f, "from,to,metric,backend,scope,class,n,n_lower,n_same,n_higher,gmean,min,max,direction,mixed\n");
  for (size_t i = 0; i < s->nverdicts; i++) {
    const tb_verdict_t *v = &s->verdicts[i];
    fprintf(f, "%s,%s,%s,%s,%s,%s,%zu,%zu,%zu,%zu,%s,%s,%s,%s,%s\n", v->from, v->to, v->metric, v->backend, v->scope,
            v->cls, v->n, v->nlower, v->nsame, v->nhigher, tb_summary_fmt(v->gmean, b[0]), tb_summary_fmt(v->min, b[1]),
            tb_summary_fmt(v->max, b[2]), dir_name(v->dir), v->mixed ? "yes" : "no");
  }
  return ferror(f) ? 1 : 0;
}

void tb_summary_free(tb_summary_t *s) {
  store_t *st = s->priv;
  if (st) {
    for (size_t i = 0; i < st->nlines; i++) free(st->lines[i]);
    free(st->lines);
    for (size_t i = 0; i < st->nnames; i++) free(st->names[i]);
    free(st->names);
    free(st->rows);
    free(st);
  }
  free(s->groups);
  free(s->verdicts);
  free(s->source);
  free(s->command);
  memset(s, 0, sizeof *s);
}

const char *tb_summary_fmt(double v, char *buf) {
  if (isnan(v)) return "NA";
  snprintf(buf, 32, "%.6g", v);
  return buf;
}

const tb_sum_group_t *tb_summary_find(const tb_summary_t *s, const char *allocator, const char *workload,
                                      const char *backend, const char *profile, const char *threads,
                                      const char *metric) {
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if ((!allocator || !strcmp(allocator, g->allocator)) && (!workload || !strcmp(workload, g->workload)) &&
        (!backend || !strcmp(backend, g->backend)) && (!profile || !strcmp(profile, g->profile)) &&
        (!threads || !strcmp(threads, g->threads)) && (!metric || !strcmp(metric, g->metric)))
      return g;
  }
  return NULL;
}

void tb_summary_cmdline(int argc, char **argv, char *buf, size_t len) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < argc && k + 1 < len; i++) {
    int w = snprintf(buf + k, len - k, "%s%s", i ? " " : "", argv[i]);
    if (w < 0) break;
    k += (size_t)w;
  }
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
}

int tb_summary_write_csv(const tb_summary_t *s, FILE *f, const char *cmdline) {
  char b[10][32];
  fprintf(f, "# command: %s\n", cmdline);
  fprintf(f, "# source: %s (made by: %s)\n", s->source, s->command ? s->command : "?");
  fprintf(f, "# ci_low,ci_high: 95%% confidence interval of the median from order statistics; ci_level is its "
             "exact coverage (below 0.95 when n <= 5); NA values excluded (n_na); ratio: median / the " TB_SUMMARY_BASELINE
             " median of the same key, ratio_lo,ratio_hi from the two CIs, direction lower/same/higher (see verdicts.csv's "
             "rule)\n");
  fprintf(f, "experiment,allocator,workload,backend,profile,threads,metric,unit,n,n_na,median,ci_low,ci_high,"
             "ci_level,mean,min,max,ratio,ratio_lo,ratio_hi,direction\n");
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s,%zu,%zu,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", g->experiment, g->allocator,
            g->workload, g->backend, g->profile, g->threads, g->metric, g->unit, g->n, g->n_na,
            tb_summary_fmt(g->median, b[0]), tb_summary_fmt(g->ci_low, b[1]), tb_summary_fmt(g->ci_high, b[2]),
            tb_summary_fmt(g->ci_level, b[3]), tb_summary_fmt(g->mean, b[4]), tb_summary_fmt(g->min, b[5]),
            tb_summary_fmt(g->max, b[6]), tb_summary_fmt(g->ratio, b[7]), tb_summary_fmt(g->ratio_lo, b[8]),
            tb_summary_fmt(g->ratio_hi, b[9]), dir_name(g->dir));
  }
  return ferror(f) ? 1 : 0;
}

const char *const tb_summary_alloc_order[] = {"inline", "oob-m32", "oob",      "oob-array", "oob-map", "glibc",
                                              "bump",   "jemalloc", "mimalloc", "tcmalloc",  NULL};
const char *const tb_summary_profile_order[] = {"host",        "zen3",        "zen4",       "skylake",    "icelake",
                                                "x86",         "neoverse-n1", "neoverse-v1", "cortex-a72", "cortex-a76",
                                                "apple-m1-p",  "apple-m1",    "arm",        NULL};

int tb_summary_rank(const char *const *order, const char *s) {
  for (int i = 0; order[i]; i++)
    if (!strcmp(order[i], s)) return i;
  return 1000;
}

int tb_summary_write_file(const char *path, const tb_summary_t *s, const char *cmdline,
                          int (*writer)(const tb_summary_t *, FILE *, const char *)) {
  tb_atomic_t a;
  FILE *f = tb_atomic_open(path, &a);
  if (!f) {
    fprintf(stderr, "testbed: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (writer(s, f, cmdline) != 0) {
    int e = errno;
    tb_atomic_abort(&a);
    fprintf(stderr, "testbed: cannot write %s: %s\n", path, strerror(e ? e : EIO));
    return 1;
  }
  if (tb_atomic_commit(&a) != 0) {
    fprintf(stderr, "testbed: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  return 0;
}
