/* cmd_plot.c: `testbed plot DIR [--out PLOTDIR] [--scripts DIR]`: summarize
 * a run set and draw every figure script (plots/NAME.gp) with gnuplot, as PDF
 * (for the paper) and PNG (for the README).
 *
 * A figure script declares in its opening comment lines
 *   # figure: fig1-cache-misses          output base name
 *   # metrics: m1 m2 ...                  metrics it draws, in order
 *   # backends: papi cachegrind ...       backends to take them from, by priority
 *   # needs: all                          (optional) skip unless every metric is there
 * For each metric the first listed backend with a non-NA value is used; a
 * metric that is NA (or absent) for a backend is left out of the figure and
 * said so: on stderr, in PLOTDIR/<figure>.note and on the figure itself. A
 * figure with no metric left is not drawn (its .note says why). Values are
 * never drawn as zero in place of NA: NA groups do not reach the script.
 * Output is deterministic: SOURCE_DATE_EPOCH is set (default 0) so cairo
 * writes no creation time, fonts are fixed in plots/lib/common.gp. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "summary.h"
#include "tb_cli.h"

/* snprintf that reports truncation (paths here are bounded by PATH_MAX-ish
 * buffers; a truncated path must not be used). */
static bool fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static bool fmt(char *buf, size_t len, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(buf, len, f, ap);
  va_end(ap);
  return n >= 0 && (size_t)n < len;
}

static const char usage[] =
    "usage: testbed plot DIR [--out PLOTDIR] [--scripts SCRIPTDIR]\n"
    "\n"
    "Summarizes the run set DIR (as `testbed summarize`), writes\n"
    "PLOTDIR/summary.csv, and runs every SCRIPTDIR/*.gp with gnuplot into\n"
    "PLOTDIR/<figure>.pdf and .png (and PLOTDIR/verdicts.csv, as summarize).\n"
    "Metrics that are NA for a backend are left\n"
    "out of the figure with a note (PLOTDIR/<figure>.note), never drawn as 0.\n"
    "\n"
    "  --out PLOTDIR       default DIR/plots\n"
    "  --scripts DIR       figure scripts (default ./plots, else <testbed>/../plots)\n"
    "  --only NAME         draw only the figure NAME (e.g. fig1-cache-misses)\n"
    "Environment: GNUPLOT (default gnuplot), SOURCE_DATE_EPOCH (default 0).\n";

enum { MAXM = 16, MAXB = 8, NAME = 128 };

typedef struct {
  char figure[NAME];
  char metrics[MAXM][NAME];
  int nmetrics;
  char backends[MAXB][NAME];
  int nbackends;
  bool needs_all;
} figspec_t;

static int words_split(char *s, char out[][NAME], int max) {
  int n = 0;
  for (char *t = strtok(s, " \t"); t && n < max; t = strtok(NULL, " \t")) fmt(out[n++], NAME, "%s", t);
  return n;
}

static int read_spec(const char *path, figspec_t *fs) {
  memset(fs, 0, sizeof *fs);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "testbed plot: %s: %s\n", path, strerror(errno));
    return 1;
  }
  char line[1024];
  long ln = 0;
  while (fgets(line, sizeof line, f)) {
    ln++;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] != '#') break; /* the declarations are in the opening comment */
    char *v;
    if ((v = strstr(line, "# figure:")) == line) {
      v += 9;
      while (*v == ' ') v++;
      fmt(fs->figure, NAME, "%s", v);
    } else if ((v = strstr(line, "# metrics:")) == line) {
      fs->nmetrics = words_split(v + 10, fs->metrics, MAXM);
    } else if ((v = strstr(line, "# backends:")) == line) {
      fs->nbackends = words_split(v + 11, fs->backends, MAXB);
    } else if ((v = strstr(line, "# needs:")) == line) {
      fs->needs_all = strstr(v, "all") != NULL;
    }
  }
  fclose(f);
  if (!fs->figure[0] || !fs->nmetrics || !fs->nbackends) {
    fprintf(stderr, "testbed plot: %s:%ld: the opening comment must declare '# figure:', '# metrics:' and '# backends:'\n",
            path, ln);
    return 2;
  }
  for (const char *c = fs->figure; *c; c++) {
    if (*c == '/' || *c == '\'' || *c == ' ') {
      fprintf(stderr, "testbed plot: %s: figure name '%s' must be a plain file name\n", path, fs->figure);
      return 2;
    }
  }
  return 0;
}

/* Append s to a space-separated list unless present. Names with a quote
 * or space cannot pass to gnuplot safely: they are skipped with a notice. */
static void list_add(char *list, size_t len, const char *s) {
  if (strpbrk(s, "' \\")) return;
  size_t n = strlen(s);
  for (const char *p = list; (p = strstr(p, s)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return;
  size_t k = strlen(list);
  fmt(list + k, len - k, "%s%s", k ? " " : "", s);
}

static const char *gfield(const tb_sum_group_t *g, int field) {
  return field == 0 ? g->allocator : field == 1 ? g->workload : g->profile;
}

/* Build an ordered list of the values of one field over the chosen groups. */
static void ordered_list(const tb_summary_t *s, const bool *take, int field, const char *const *order, char *out,
                         size_t len) {
  out[0] = '\0';
  /* ranked names first, in rank order */
  for (int r = 0; order && order[r]; r++)
    for (size_t i = 0; i < s->ngroups; i++)
      if (take[i] && !strcmp(gfield(&s->groups[i], field), order[r])) list_add(out, len, order[r]);
  /* then the rest in sorted (summary) order; workloads: all sorted */
  for (size_t i = 0; i < s->ngroups; i++)
    if (take[i] && (!order || tb_summary_rank(order, gfield(&s->groups[i], field)) == 1000))
      list_add(out, len, gfield(&s->groups[i], field));
}

/* Workloads grouped by class (the order of the paper's tables), inside a
 * class in summary (sorted) order. */
static void workload_list(const tb_summary_t *s, const bool *take, char *out, size_t len) {
  static const char *const cls[] = {"micro", "mixes", "linked", "threaded", "programs", NULL};
  out[0] = '\0';
  for (int c = 0; cls[c]; c++)
    for (size_t i = 0; i < s->ngroups; i++)
      if (take[i] && !strcmp(tb_summary_workload_class(s->groups[i].workload), cls[c]))
        list_add(out, len, s->groups[i].workload);
}

/* Profiles in display order by their core (zen3@x86_64 ranks as zen3),
 * then the core's own ISA and page size first: PROFILES all of them,
 * NATIVE those that run their own ISA at their own page size (x86 first,
 * then ARM), VARIANTS the others (other page sizes, other ISAs). */
static int prof_cmp(const void *pa, const void *pb) {
  const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
  char ba[64], bb[64];
  snprintf(ba, sizeof ba, "%.*s", (int)strcspn(a, "/@"), a);
  snprintf(bb, sizeof bb, "%.*s", (int)strcspn(b, "/@"), b);
  int ra = tb_summary_rank(tb_summary_profile_order, ba), rb = tb_summary_rank(tb_summary_profile_order, bb);
  if (ra != rb) return ra < rb ? -1 : 1;
  int c = strcmp(ba, bb);
  if (c) return c;
  bool na = tb_summary_profile_isa(a) != NULL, nb = tb_summary_profile_isa(b) != NULL;
  if (na != nb) return na ? -1 : 1;
  return strcmp(a, b);
}

static void profile_lists(const tb_summary_t *s, const bool *take, char *all, char *native, char *variants,
                          size_t len) {
  const char *v[64];
  size_t n = 0;
  for (size_t i = 0; i < s->ngroups && n < 64; i++) {
    if (!take[i]) continue;
    bool seen = false;
    for (size_t k = 0; k < n && !seen; k++) seen = !strcmp(v[k], s->groups[i].profile);
    if (!seen) v[n++] = s->groups[i].profile;
  }
  qsort(v, n, sizeof *v, prof_cmp);
  all[0] = native[0] = variants[0] = '\0';
  for (size_t k = 0; k < n; k++) {
    list_add(all, len, v[k]);
    list_add(tb_summary_profile_isa(v[k]) ? native : variants, len, v[k]);
  }
}

static int mkdir_p(const char *path) {
  char buf[4096];
  fmt(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0777) && errno != EEXIST) return -1;
      *p = '/';
    }
  }
  return (mkdir(buf, 0777) && errno != EEXIST) ? -1 : 0;
}

static int run_gnuplot(const char *scripts, const char *script, const char *vars) {
  const char *gp = getenv("GNUPLOT");
  if (!gp || !*gp) gp = "gnuplot";
  char loadpath[4200];
  fmt(loadpath, sizeof loadpath, "set loadpath '%s'; %s", scripts, vars);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execlp(gp, gp, "-e", loadpath, script, (char *)NULL);
    fprintf(stderr, "testbed plot: cannot run %s: %s\n", gp, strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* cairo 1.16 ignores SOURCE_DATE_EPOCH and stamps the PDF with the time:
 * overwrite "/CreationDate (D:YYYYMMDDHHMMSS" in place (same length, so the
 * cross-reference offsets stay valid) with SOURCE_DATE_EPOCH in UTC. */
static int pdf_fix_date(const char *path) {
  FILE *f = fopen(path, "r+b");
  if (!f) return -1;
  char *buf = NULL;
  long len = -1;
  if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
  if (len > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1)) != NULL &&
      fread(buf, 1, (size_t)len, f) == (size_t)len) {
    buf[len] = '\0';
    const char *key = "/CreationDate (D:";
    char *p = NULL;
    for (long i = 0; i + 17 + 14 <= len && !p; i++)
      if (!memcmp(buf + i, key, 17)) p = buf + i + 17;
    if (p) {
      const char *e = getenv("SOURCE_DATE_EPOCH");
      time_t t = (time_t)strtoll(e ? e : "0", NULL, 10);
      struct tm tm;
      char stamp[32];
      gmtime_r(&t, &tm);
      strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
      if (strlen(stamp) == 14 && fseek(f, (long)(p - buf), SEEK_SET) == 0) fwrite(stamp, 1, 14, f);
    }
  }
  free(buf);
  return fclose(f);
}

static bool nonempty(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && sb.st_size > 0;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Locate the figure scripts: --scripts, ./plots, or next to the binary. */
static bool find_scripts(char *out, size_t len) {
  struct stat sb;
  if (stat("plots/lib/common.gp", &sb) == 0) {
    fmt(out, len, "plots");
    return true;
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return false;
  *slash = '\0';
  fmt(out, len, "%s/../plots", exe);
  char probe[4200];
  fmt(probe, sizeof probe, "%s/lib/common.gp", out);
  return stat(probe, &sb) == 0;
}

static int draw(const tb_summary_t *s, const char *scripts, const char *script, const char *outdir,
                const char *only, int *drawn) {
  figspec_t fs;
  int rc = read_spec(script, &fs);
  if (rc) return rc;
  if (only && strcmp(only, fs.figure)) return 0;
  bool *take = calloc(s->ngroups ? s->ngroups : 1, sizeof *take);
  if (!take) return 1;
  char present[1024] = "", note[2048] = "";
  size_t nl = 0;
  for (int m = 0; m < fs.nmetrics; m++) {
    /* "a|b": the same quantity under each backend's name (cachegrind's
     * d1_misses_per_op, PAPI's l1d_misses_per_op); first with a value wins. */
    char alts[MAXM][NAME], spec[NAME];
    fmt(spec, sizeof spec, "%s", fs.metrics[m]);
    for (char *c = spec; *c; c++)
      if (*c == '|') *c = ' ';
    int nalt = words_split(spec, alts, MAXM);
    const char *metric = alts[0];
    int chosen = -1;
    for (int b = 0; b < fs.nbackends && chosen < 0; b++)
      for (int a = 0; a < nalt && chosen < 0; a++)
        for (size_t i = 0; i < s->ngroups; i++) {
          const tb_sum_group_t *g = &s->groups[i];
          if (!strcmp(g->metric, alts[a]) && !strcmp(g->backend, fs.backends[b]) && g->n > 0) {
            chosen = b;
            metric = alts[a];
            break;
          }
        }
    /* Say which backends have this metric only as NA. */
    bool anywhere = false;
    for (int b = 0; b < fs.nbackends; b++)
      for (int a = 0; a < nalt; a++) {
        bool any = false, value = false;
        for (size_t i = 0; i < s->ngroups; i++) {
          const tb_sum_group_t *g = &s->groups[i];
          if (strcmp(g->metric, alts[a]) || strcmp(g->backend, fs.backends[b])) continue;
          any = true;
          value |= g->n > 0;
        }
        anywhere |= any;
        if (any && !value) {
          char instead[2 * NAME + 32] = " (not drawn)";
          if (chosen >= 0) fmt(instead, sizeof instead, " (drawn: %s of %s)", metric, fs.backends[chosen]);
          fprintf(stderr, "testbed plot: %s: %s is NA for backend %s: left out%s\n", fs.figure, alts[a],
                  fs.backends[b], instead);
          nl += (size_t)snprintf(note + nl, nl < sizeof note ? sizeof note - nl : 0, "%s%s NA for %s%s",
                                 nl ? "; " : "", alts[a], fs.backends[b], instead);
        }
      }
    if (chosen < 0) {
      if (!anywhere) {
        fprintf(stderr, "testbed plot: %s: %s is not in this run set (backends %s...): left out\n", fs.figure,
                fs.metrics[m], fs.backends[0]);
        nl += (size_t)snprintf(note + nl, nl < sizeof note ? sizeof note - nl : 0, "%s%s not measured",
                               nl ? "; " : "", alts[0]);
      }
      continue;
    }
    list_add(present, sizeof present, metric);
    /* Allocators with no value for it on the chosen backend: gaps, said. */
    char gaps[512] = "";
    for (size_t i = 0; i < s->ngroups; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      if (strcmp(g->metric, metric) || strcmp(g->backend, fs.backends[chosen]) || g->n > 0) continue;
      bool has = false;
      for (size_t k = 0; k < s->ngroups && !has; k++)
        has = !strcmp(s->groups[k].metric, metric) && !strcmp(s->groups[k].backend, fs.backends[chosen]) &&
              !strcmp(s->groups[k].allocator, g->allocator) && s->groups[k].n > 0;
      if (!has) list_add(gaps, sizeof gaps, g->allocator);
    }
    /* Profiles with no value for it: their panels say NA, and so does the note. */
    char pgaps[512] = "";
    for (size_t i = 0; i < s->ngroups; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      if (strcmp(g->metric, metric) || strcmp(g->backend, fs.backends[chosen]) || g->n > 0) continue;
      bool has = false;
      for (size_t k = 0; k < s->ngroups && !has; k++)
        has = !strcmp(s->groups[k].metric, metric) && !strcmp(s->groups[k].backend, fs.backends[chosen]) &&
              !strcmp(s->groups[k].profile, g->profile) && s->groups[k].n > 0;
      if (!has) list_add(pgaps, sizeof pgaps, g->profile);
    }
    if (pgaps[0]) {
      fprintf(stderr, "testbed plot: %s: %s is NA for profile %s (backend %s): no bars\n", fs.figure, metric, pgaps,
              fs.backends[chosen]);
      nl += (size_t)snprintf(note + nl, nl < sizeof note ? sizeof note - nl : 0, "%s%s NA for profile %s",
                             nl ? "; " : "", metric, pgaps);
    }
    if (gaps[0]) {
      fprintf(stderr, "testbed plot: %s: %s is NA for %s (backend %s): no bar\n", fs.figure, metric, gaps,
              fs.backends[chosen]);
      nl += (size_t)snprintf(note + nl, nl < sizeof note ? sizeof note - nl : 0, "%s%s NA for %s", nl ? "; " : "",
                             metric, gaps);
    }
    for (size_t i = 0; i < s->ngroups; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      /* groups NA for some allocator or workload stay out too: a gap */
      if (!strcmp(g->metric, metric) && !strcmp(g->backend, fs.backends[chosen]) && g->n > 0) take[i] = true;
    }
  }
  if (nl >= sizeof note) note[sizeof note - 1] = '\0';
  for (char *p = note; *p; p++)
    if (*p == '\'') *p = '"';

  char path[4096];
  int nmet = 0;
  for (const char *p = present; *p; p++) nmet += (p == present || p[-1] == ' ');
  bool skip = nmet == 0 || (fs.needs_all && nmet < fs.nmetrics);
  fmt(path, sizeof path, "%s/%s.note", outdir, fs.figure);
  if (note[0] || skip) {
    tb_atomic_t na;
    FILE *f = tb_atomic_open(path, &na);
    if (f) {
      /* one item per line so the paper's verbatim copy stays on the page */
      fprintf(f, "%s: %s\n", fs.figure, skip ? "NOT DRAWN:" : "left out:");
      const char *p = note[0] ? note : "a metric it needs is missing";
      while (*p) {
        const char *e = strstr(p, "; ");
        int len = e ? (int)(e - p) : (int)strlen(p);
        fprintf(f, "  %.*s\n", len, p);
        p += len + (e ? 2 : 0);
      }
      if (tb_atomic_commit(&na)) fprintf(stderr, "testbed plot: cannot write %s: %s\n", path, strerror(errno));
    }
  } else {
    remove(path);
  }
  if (skip) {
    fprintf(stderr, "testbed plot: %s: not drawn (%s)\n", fs.figure,
            nmet == 0 ? "none of its metrics has a value" : "it needs every one of its metrics");
    for (const char *ext = "pdf"; ext; ext = strcmp(ext, "pdf") ? NULL : "png") {
      fmt(path, sizeof path, "%s/%s.%s", outdir, fs.figure, ext);
      remove(path); /* no stale figure from an earlier run set */
    }
    free(take);
    return 0;
  }

  /* The figure's data: summary rows of the chosen groups (all or nothing). */
  char data[4096];
  if (!fmt(data, sizeof data, "%s/data/%s.csv", outdir, fs.figure)) {
    fprintf(stderr, "testbed plot: %s: folder name too long\n", fs.figure);
    free(take);
    return 1;
  }
  tb_summary_t sub = *s;
  tb_sum_group_t *gs = malloc((s->ngroups ? s->ngroups : 1) * sizeof *gs);
  sub.ngroups = 0;
  sub.groups = gs;
  for (size_t i = 0; gs && i < s->ngroups; i++)
    if (take[i]) gs[sub.ngroups++] = s->groups[i];
  rc = gs ? tb_summary_write_file(data, &sub, fs.figure, tb_summary_write_csv) : 1;
  free(gs);
  if (rc) {
    free(take);
    return 1;
  }

  char allocs[1024], works[2048], profs[1024], native[1024], variants[1024];
  ordered_list(s, take, 0, tb_summary_alloc_order, allocs, sizeof allocs);
  workload_list(s, take, works, sizeof works);
  profile_lists(s, take, profs, native, variants, sizeof profs);
  free(take);
  for (int k = 0; k < 2; k++) {
    const char *ext = k ? "png" : "pdf";
    char out[4096], vars[8192], tmp[4200];
    bool ok = fmt(out, sizeof out, "%s/%s.%s", outdir, fs.figure, ext);
    ok = ok && fmt(tmp, sizeof tmp, "%s.tmp", out);
    ok = ok && fmt(vars, sizeof vars,
             "DATA='%s'; OUT='%s'; TERM='%s'; METRICS='%s'; ALLOCS='%s'; WORKLOADS='%s'; PROFILES='%s'; "
             "NATIVE='%s'; VARIANTS='%s'; MISSFLOOR=%g; NOTE='%s%s'",
             data, tmp, ext, present, allocs, works, profs, native, variants, TB_SUM_MISS_FLOOR,
             note[0] ? "left out: " : "", note);
    if (!ok) {
      fprintf(stderr, "testbed plot: %s: folder or names too long\n", fs.figure);
      return 1;
    }
    int st = run_gnuplot(scripts, script, vars);
    if (st != 0 || !nonempty(tmp)) {
      fprintf(stderr, "testbed plot: %s: gnuplot failed (status %d) on %s\n", fs.figure, st, script);
      remove(tmp);
      return 1;
    }
    if (k == 0 && pdf_fix_date(tmp) != 0) {
      fprintf(stderr, "testbed plot: cannot rewrite %s\n", tmp);
      remove(tmp);
      return 1;
    }
    if (rename(tmp, out)) {
      fprintf(stderr, "testbed plot: cannot write %s: %s\n", out, strerror(errno));
      return 1;
    }
    printf("%s\n", out);
  }
  (*drawn)++;
  return 0;
}

/* --only NAME must be a figure of SCRIPTDIR: 0, or 2 with the valid names
 * (in file order). */
static int check_only(const char *sdir, const char *only) {
  DIR *d = opendir(sdir);
  if (!d) return 0; /* said later, with the scripts */
  char names[64][NAME];
  int n = 0, rc = 0;
  bool found = false;
  for (struct dirent *e; rc == 0 && (e = readdir(d));) {
    size_t l = strlen(e->d_name);
    char path[4400];
    figspec_t fs;
    if (l <= 3 || strcmp(e->d_name + l - 3, ".gp") || !fmt(path, sizeof path, "%s/%s", sdir, e->d_name)) continue;
    if ((rc = read_spec(path, &fs))) break; /* a bad script: said by read_spec */
    found |= !strcmp(fs.figure, only);
    if (n < 64) fmt(names[n++], NAME, "%s", fs.figure);
  }
  closedir(d);
  if (rc || found) return rc;
  char *sorted[64], valid[64 * (NAME + 2)] = "";
  for (int i = 0; i < n; i++) sorted[i] = names[i];
  qsort(sorted, (size_t)n, sizeof *sorted, cmpstr);
  for (int i = 0; i < n; i++) fmt(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "", sorted[i]);
  return tb_cli_usage_error("plot", "--only: no figure '%s' in %s; the figures are: %s", only, sdir,
                            n ? valid : "none");
}

static int plot_main(int argc, char **argv) {
  const char *dir = NULL, *outdir = NULL, *scripts = NULL, *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--out") || !strcmp(argv[i], "-o")) {
      if (++i == argc) return tb_cli_usage_error("plot", "%s needs a folder", argv[i - 1]);
      outdir = argv[i];
    } else if (!strcmp(argv[i], "--scripts")) {
      if (++i == argc) return tb_cli_usage_error("plot", "--scripts needs a folder");
      scripts = argv[i];
    } else if (!strcmp(argv[i], "--only")) {
      if (++i == argc) return tb_cli_usage_error("plot", "--only needs a figure name");
      only = argv[i];
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return tb_cli_usage_error("plot", "unknown option '%s'", argv[i]);
    } else if (dir) {
      return tb_cli_usage_error("plot", "one run set at a time ('%s' and '%s')", dir, argv[i]);
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return tb_cli_usage_error("plot", "which run set? give its folder");
  char sdir[4096], odir[4096];
  if (scripts)
    fmt(sdir, sizeof sdir, "%s", scripts);
  else if (!find_scripts(sdir, sizeof sdir))
    return tb_cli_usage_error("plot", "cannot find the figure scripts (plots/); use --scripts");
  if (!fmt(odir, sizeof odir, "%s%s", outdir ? outdir : dir, outdir ? "" : "/plots"))
    return tb_cli_usage_error("plot", "folder name too long");
  if (strchr(sdir, '\'') || strchr(odir, '\''))
    return tb_cli_usage_error("plot", "folder names with a quote (') cannot be passed to gnuplot");
  int orc = only ? check_only(sdir, only) : 0;
  if (orc) return orc;
  if (!getenv("SOURCE_DATE_EPOCH")) setenv("SOURCE_DATE_EPOCH", "0", 1);

  tb_summary_t s;
  char err[1024];
  int rc = tb_summary_load(dir, &s, err, sizeof err);
  if (rc) {
    fprintf(stderr, "testbed plot: %s\n", err);
    tb_summary_free(&s);
    return rc;
  }
  char datadir[4200];
  fmt(datadir, sizeof datadir, "%s/data", odir);
  if (mkdir_p(datadir)) {
    fprintf(stderr, "testbed plot: cannot create %s: %s\n", datadir, strerror(errno));
    tb_summary_free(&s);
    return 1;
  }
  char cmdline[4096] = "testbed ", path[4200];
  tb_summary_cmdline(argc, argv, cmdline + 8, sizeof cmdline - 8);
  fmt(path, sizeof path, "%s/summary.csv", odir);
  rc = tb_summary_write_file(path, &s, cmdline, tb_summary_write_csv);
  if (!rc) {
    fmt(path, sizeof path, "%s/verdicts.csv", odir);
    rc = tb_summary_write_file(path, &s, cmdline, tb_summary_write_verdicts);
  }

  DIR *d = rc ? NULL : opendir(sdir);
  if (!rc && !d) {
    fprintf(stderr, "testbed plot: %s: %s\n", sdir, strerror(errno));
    rc = 1;
  }
  char **names = NULL;
  size_t nn = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t l = strlen(e->d_name);
    if (l > 3 && !strcmp(e->d_name + l - 3, ".gp")) {
      char **t = realloc(names, (nn + 1) * sizeof *names);
      if (!t) break;
      names = t;
      names[nn++] = strdup(e->d_name);
    }
  }
  if (d) closedir(d);
  qsort(names, nn, sizeof *names, cmpstr);
  int drawn = 0;
  for (size_t i = 0; i < nn && !rc; i++) {
    fmt(path, sizeof path, "%s/%s", sdir, names[i]);
    rc = draw(&s, sdir, path, odir, only, &drawn);
  }
  for (size_t i = 0; i < nn; i++) free(names[i]);
  free(names);
  if (!rc && nn == 0) {
    fprintf(stderr, "testbed plot: no *.gp scripts in %s\n", sdir);
    rc = 1;
  }
  if (!rc && only && drawn == 0) fprintf(stderr, "testbed plot: figure '%s' was not drawn\n", only);
  if (!rc) fprintf(stderr, "testbed plot: %d figure(s) in %s\n", drawn, odir);
  tb_summary_free(&s);
  return rc;
}

const tb_command_t tb_cmd_plot = {"plot", "draw the paper's figures (PDF and PNG) from a run set", plot_main};
