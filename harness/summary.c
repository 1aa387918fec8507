/* summary.c: read and validate a run set's results.csv, group the rows and
 * compute median, 95% CI of the median and friends (see summary.h); write
 * them as summary.csv or as LaTeX macros for the paper. */
#include <errno.h>
#include <math.h> /* NAN, isnan, isfinite: macros, no libm needed */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
  return 0;
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
  char b[7][32];
  fprintf(f, "# command: %s\n", cmdline);
  fprintf(f, "# source: %s (made by: %s)\n", s->source, s->command ? s->command : "?");
  fprintf(f, "# ci_low,ci_high: 95%% confidence interval of the median from order statistics; ci_level is its "
             "exact coverage (below 0.95 when n <= 5); NA values excluded (n_na)\n");
  fprintf(f, "experiment,allocator,workload,backend,profile,threads,metric,unit,n,n_na,median,ci_low,ci_high,"
             "ci_level,mean,min,max\n");
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s,%zu,%zu,%s,%s,%s,%s,%s,%s,%s\n", g->experiment, g->allocator, g->workload,
            g->backend, g->profile, g->threads, g->metric, g->unit, g->n, g->n_na, tb_summary_fmt(g->median, b[0]),
            tb_summary_fmt(g->ci_low, b[1]), tb_summary_fmt(g->ci_high, b[2]), tb_summary_fmt(g->ci_level, b[3]),
            tb_summary_fmt(g->mean, b[4]), tb_summary_fmt(g->min, b[5]), tb_summary_fmt(g->max, b[6]));
  }
  return ferror(f) ? 1 : 0;
}

/* ---- LaTeX macros ----------------------------------------------------
 * Every value is one macro named by its key, reached in the paper through
 * \tbget{KIND@ALLOCATOR/WORKLOAD/BACKEND/PROFILE/THREADS/METRIC}, KIND one of
 *   med, lo, hi (CI of the median), n, unit;
 *   ratio@ALLOCATOR/...: median of ALLOCATOR / median of `inline` for the
 *   same workload, backend, profile, threads and metric (when both exist
 *   and the baseline is non-zero).
 * The experiment column is not in the key: a run set is one experiment; a
 * key seen twice keeps the first and notes the clash as a TeX comment.
 * Key characters outside [A-Za-z0-9._:+=/-] become '-'. Numbers are
 * written with up to 3 significant digits (integers above 1000 in full)
 * so the text can quote them as they are. Run-set macros: \tbSource,
 * \tbCommand, \tbRows, \tbGroups, \tbBackendsUsed. */

#define TEX_BASELINE "inline"

static void tex_key_part(FILE *f, const char *s) {
  for (; *s; s++) {
    char c = *s;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._:+=/-", c);
    fputc(ok ? c : '-', f);
  }
}

/* The macro key after "tb@KIND@". */
static void tex_key(FILE *f, const tb_sum_group_t *g, const char *allocator) {
  const char *parts[6] = {allocator, g->workload, g->backend, g->profile, g->threads, g->metric};
  for (int i = 0; i < 6; i++) {
    if (i) fputc('/', f);
    tex_key_part(f, parts[i]);
  }
}

static void tex_num(double v, char *buf, size_t len) {
  double a = v < 0 ? -v : v;
  if (isnan(v))
    snprintf(buf, len, "NA");
  else if (a >= 1000)
    snprintf(buf, len, "%.0f", v);
  else if (a == 0 || a >= 0.001)
    snprintf(buf, len, "%.3g", v);
  else {
    int e = 0;
    double m = v;
    while ((m < 0 ? -m : m) < 1.0) {
      m *= 10.0;
      e--;
    }
    snprintf(buf, len, "$%.2f\\times10^{%d}$", m, e);
  }
}

static void tex_def(FILE *f, const char *kind, const tb_sum_group_t *g, const char *value) {
  fprintf(f, "\\expandafter\\newcommand\\csname tb@%s@", kind);
  tex_key(f, g, g->allocator);
  fprintf(f, "\\endcsname{%s}\n", value);
}

/* Text safe inside \texttt: no TeX specials survive. */
static void tex_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '\\': fputs("\\textbackslash{}", f); break;
    case '{': case '}': case '#': case '$': case '%': case '&': case '_':
      fprintf(f, "\\%c", *s);
      break;
    case '~': fputs("\\textasciitilde{}", f); break;
    case '^': fputs("\\textasciicircum{}", f); break;
    default: fputc(*s, f);
    }
  }
}

static bool same_but_alloc(const tb_sum_group_t *a, const tb_sum_group_t *b) {
  return !strcmp(a->workload, b->workload) && !strcmp(a->backend, b->backend) && !strcmp(a->profile, b->profile) &&
         !strcmp(a->threads, b->threads) && !strcmp(a->metric, b->metric);
}

static bool same_key(const tb_sum_group_t *a, const tb_sum_group_t *b) {
  return !strcmp(a->allocator, b->allocator) && same_but_alloc(a, b);
}

static void tex_tables_write(const tb_summary_t *s, FILE *f, const char *px, const char *pa);

int tb_summary_write_tex(const tb_summary_t *s, FILE *f, const char *cmdline) {
  char buf[64];
  fputs("% generated by: ", f);
  tex_text(f, cmdline); /* a comment line: specials are harmless, keep it readable */
  fputs("\n% Do not edit: every number here is derived from the run set below.\n", f);
  fputs("\\newcommand\\tbSource{", f);
  tex_text(f, s->source);
  fputs("}\n\\newcommand\\tbCommand{", f);
  tex_text(f, s->command ? s->command : "?");
  fprintf(f, "}\n\\newcommand\\tbRows{%zu}\n\\newcommand\\tbGroups{%zu}\n", s->nrows - s->nderived, s->ngroups);
  /* Backends with the profiles each used, in order of first appearance. */
  fputs("\\newcommand\\tbBackendsUsed{", f);
  int nb = 0;
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    bool seen = false;
    for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(s->groups[k].backend, g->backend);
    if (seen) continue;
    fprintf(f, "%s", nb++ ? "; " : "");
    tex_text(f, g->backend);
    fputs(" (", f);
    int np = 0;
    for (size_t k = i; k < s->ngroups; k++) {
      const tb_sum_group_t *h = &s->groups[k];
      if (strcmp(h->backend, g->backend)) continue;
      bool pseen = false;
      for (size_t m = i; m < k && !pseen; m++)
        pseen = !strcmp(s->groups[m].backend, g->backend) && !strcmp(s->groups[m].profile, h->profile);
      if (pseen) continue;
      fputs(np++ ? ", " : "", f);
      tex_text(f, h->profile);
    }
    fputs(")", f);
  }
  fputs("}\n", f);
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    bool clash = false;
    for (size_t k = 0; k < i && !clash; k++) clash = same_key(&s->groups[k], g);
    if (clash) {
      fprintf(f, "%% key clash (experiment %s): ", g->experiment);
      tex_key(f, g, g->allocator);
      fputs(" kept from its first experiment\n", f);
      continue;
    }
    tex_num(g->median, buf, sizeof buf);
    tex_def(f, "med", g, buf);
    tex_num(g->ci_low, buf, sizeof buf);
    tex_def(f, "lo", g, buf);
    tex_num(g->ci_high, buf, sizeof buf);
    tex_def(f, "hi", g, buf);
    snprintf(buf, sizeof buf, "%zu", g->n);
    tex_def(f, "n", g, buf);
    fprintf(f, "\\expandafter\\newcommand\\csname tb@unit@");
    tex_key(f, g, g->allocator);
    fputs("\\endcsname{", f);
    tex_text(f, g->unit);
    fputs("}\n", f);
    if (!strcmp(g->allocator, TEX_BASELINE) || isnan(g->median)) continue;
    for (size_t k = 0; k < s->ngroups; k++) {
      const tb_sum_group_t *b = &s->groups[k];
      if (strcmp(b->allocator, TEX_BASELINE) || !same_but_alloc(g, b) || strcmp(b->experiment, g->experiment)) continue;
      if (!isnan(b->median) && b->median != 0) {
        snprintf(buf, sizeof buf, "%.2f", g->median / b->median);
        tex_def(f, "ratio", g, buf);
      }
      break;
    }
  }
  /* Metrics NA in every group of a backend: what this run set could not
   * measure ("backend: m1, m2; ..."), for the paper's plain statement. */
  fputs("\\newcommand\\tbNAList{", f);
  int nna = 0;
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    bool seen = false, value = false;
    for (size_t k = 0; k < s->ngroups; k++) {
      const tb_sum_group_t *h = &s->groups[k];
      if (strcmp(h->backend, g->backend) || strcmp(h->metric, g->metric)) continue;
      if (k < i) seen = true;
      value |= h->n > 0;
    }
    if (seen || value) continue;
    fputs(nna++ ? ", " : "", f);
    tex_text(f, g->backend);
    fputs(": \\texttt{", f);
    tex_text(f, g->metric);
    fputs("}", f);
  }
  if (!nna) fputs("none", f);
  fputs("}\n", f);
  /* Roles the paper's text refers to, so it reads any run set: the first
   * x86 and ARM profiles and the first two workloads with simulated or
   * counted L1D misses, and the backend that gave them. */
  static const char *const x86[] = {"zen3", "zen4", "skylake", "icelake", "x86", NULL};
  static const char *const arm[] = {"neoverse-n1", "neoverse-v1", "cortex-a72", "cortex-a76", "apple-m1-p", "apple-m1", "arm", NULL};
  const char *px = NULL, *pa = NULL, *w1 = NULL, *w2 = NULL, *cb = NULL;
  for (int pass = 0; pass < 2; pass++) {
    const char *const *l = pass ? arm : x86;
    for (int k = 0; l[k]; k++)
      for (size_t i = 0; i < s->ngroups; i++) {
        const tb_sum_group_t *g = &s->groups[i];
        if (strcmp(g->metric, "l1d_misses_per_op") || g->n == 0 || strcmp(g->profile, l[k])) continue;
        if (pass == 0 && !px) px = g->profile, cb = g->backend;
        if (pass == 1 && !pa) pa = g->profile, cb = cb ? cb : g->backend;
      }
  }
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (strcmp(g->metric, "l1d_misses_per_op") || g->n == 0) continue;
    if (!w1) w1 = g->workload;
    else if (!w2 && strcmp(w1, g->workload)) w2 = g->workload;
  }
  const char *roles[][2] = {{"tbProfileX", px}, {"tbProfileArm", pa}, {"tbWorkloadA", w1},
                            {"tbWorkloadB", w2 ? w2 : w1}, {"tbCacheBackend", cb}};
  for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) {
    fprintf(f, "\\newcommand\\%s{", roles[k][0]);
    if (roles[k][1]) tex_key_part(f, roles[k][1]);
    else fputs("none", f);
    fputs("}\n", f);
  }
  tex_tables_write(s, f, px, pa);
  return ferror(f) ? 1 : 0;
}

/* Tables for the paper, as longtables (they may run over pages):
 * \tbTableCache: one row per (workload, allocator, threads), one column per
 *   (metric, profile) for the simulated or counted misses, on the x86 and
 *   ARM profiles the text quotes (\tbProfileX, \tbProfileArm): a design's
 *   misses (allocator + program, L1D and LL), the allocator's own, and the
 *   harness's apart;
 * \tbTableHost: the replay's time and space metrics (any profile).
 * Each cell is "median [ci_low, ci_high]" (a single value when the runs
 * agree), NA (measured as NA), or -- (not in the run set). Only groups
 * from the listed backends are used, first listed first. */
typedef struct {
  const char *name, *metrics[6], *backends[4];
  bool by_role_profile;
} tex_table_t;

static const tex_table_t tex_tables[] = {
    {"Cache",
     {"allocator_program_l1d_misses_per_op", "allocator_l1d_misses_per_op", "harness_l1d_misses_per_op",
      "allocator_program_llc_misses_per_op", NULL},
     {"cachegrind", "memsim", "papi", NULL},
     true},
    {"Host", {"ns_per_op", "peak_heap_bytes", "fragmentation", "metadata_per_live_byte", NULL}, {"replay", "papi", "timer", NULL}, false},
};

static bool in_list(const char *const *l, const char *s) {
  for (; *l; l++)
    if (!strcmp(*l, s)) return true;
  return false;
}

static void tex_cell(FILE *f, const tb_sum_group_t *g) {
  char a[64], b[64], c[64];
  if (!g) {
    fputs("--", f);
    return;
  }
  if (g->n == 0) {
    fputs("NA", f);
    return;
  }
  tex_num(g->median, a, sizeof a);
  if (isnan(g->ci_low) || (g->ci_low == g->median && g->ci_high == g->median)) {
    fputs(a, f); /* one run, or identical runs (simulation is deterministic) */
    return;
  }
  tex_num(g->ci_low, b, sizeof b);
  tex_num(g->ci_high, c, sizeof c);
  fprintf(f, "%s {\\scriptsize[%s, %s]}", a, b, c);
}

static void tex_tables_write(const tb_summary_t *s, FILE *f, const char *px, const char *pa) {
  for (size_t t = 0; t < sizeof tex_tables / sizeof tex_tables[0]; t++) {
    const tex_table_t *tt = &tex_tables[t];
    const char *cm[12], *cp[12]; /* column metric and profile (NULL: any) */
    int nc = 0;
    for (int m = 0; m < 6 && tt->metrics[m]; m++) {
      if (!tt->by_role_profile) {
        cm[nc] = tt->metrics[m];
        cp[nc++] = NULL;
        continue;
      }
      if (px) cm[nc] = tt->metrics[m], cp[nc++] = px;
      if (pa) cm[nc] = tt->metrics[m], cp[nc++] = pa;
    }
    /* #1: the caption (with its \\label), set by longtable's own \\caption */
    fprintf(f, "\\newcommand\\tbTable%s[1]{\\begin{longtable}{ll", tt->name);
    for (int c = 0; c < nc; c++) fputs("r", f);
    fputs("}\n\\caption{#1}\\\\\n\\hline workload & allocator", f);
    for (int c = 0; c < nc; c++) {
      fputs(" & \\rotatebox{70}{\\shortstack[l]{\\texttt{", f); /* graphicx */
      tex_text(f, cm[c]);
      fputs("}", f);
      if (cp[c]) {
        fputs("\\\\", f);
        tex_text(f, cp[c]);
      }
      fputs("}}", f);
    }
    fputs(" \\\\ \\hline\\endhead\n", f);
    size_t rows = 0;
    for (size_t i = 0; i < s->ngroups; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      bool col = false;
      for (int c = 0; c < nc && !col; c++) col = !strcmp(g->metric, cm[c]) && (!cp[c] || !strcmp(g->profile, cp[c]));
      if (!col || !in_list(tt->backends, g->backend)) continue;
      bool seen = false; /* one row per (workload, allocator, threads) */
      for (size_t k = 0; k < i && !seen; k++) {
        const tb_sum_group_t *h = &s->groups[k];
        bool hcol = false;
        for (int c = 0; c < nc && !hcol; c++)
          hcol = !strcmp(h->metric, cm[c]) && (!cp[c] || !strcmp(h->profile, cp[c]));
        seen = hcol && in_list(tt->backends, h->backend) && !strcmp(h->workload, g->workload) &&
               !strcmp(h->allocator, g->allocator) && !strcmp(h->threads, g->threads);
      }
      if (seen) continue;
      tex_text(f, g->workload);
      if (strcmp(g->threads, "1")) fprintf(f, " (%s thr.)", g->threads);
      fputs(" & ", f);
      tex_text(f, g->allocator);
      for (int c = 0; c < nc; c++) {
        const tb_sum_group_t *cell = NULL;
        for (int b = 0; tt->backends[b] && !cell; b++)
          for (size_t k = 0; k < s->ngroups && !cell; k++) {
            const tb_sum_group_t *h = &s->groups[k];
            if (!strcmp(h->metric, cm[c]) && !strcmp(h->backend, tt->backends[b]) &&
                (!cp[c] || !strcmp(h->profile, cp[c])) && !strcmp(h->workload, g->workload) &&
                !strcmp(h->allocator, g->allocator) && !strcmp(h->threads, g->threads))
              cell = h;
          }
        fputs(" & ", f);
        tex_cell(f, cell);
      }
      fputs(" \\\\\n", f);
      rows++;
    }
    if (!rows) fprintf(f, "\\multicolumn{%d}{l}{(no such metric in this run set)} \\\\\n", 2 + nc);
    fputs("\\hline\n\\end{longtable}}\n", f);
  }
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
  size_t n = strlen(path) + 8;
  char *tmp = malloc(n);
  if (!tmp) return 1;
  snprintf(tmp, n, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "testbed: cannot write %s: %s\n", tmp, strerror(errno));
    free(tmp);
    return 1;
  }
  int rc = writer(s, f, cmdline);
  if (fclose(f) != 0) rc = 1;
  if (rc == 0 && rename(tmp, path) != 0) rc = 1;
  if (rc) {
    fprintf(stderr, "testbed: cannot write %s: %s\n", path, strerror(errno));
    remove(tmp);
  }
  free(tmp);
  return rc;
}
