/* summary_tex.c: the paper's LaTeX macros and tables from a run set's
 * summary (summary.h): paper/generated/numbers.tex.
 *
 * Per group (only what the text may quote, see quoted(): summary.csv has
 * every group), reached through
 * \tbget{KIND@ALLOCATOR/WORKLOAD/BACKEND/PROFILE/THREADS/METRIC}, KIND one of
 *   med, lo, hi (CI of the median), n, unit;
 *   ratio: median of ALLOCATOR / median of `inline` for the same key.
 * Per verdict of the verdict backend (memsim when the run set has it, else
 * cachegrind; L3 and L2 TLB left to verdicts.csv; per class on the x86 and
 * ARM scopes, over all workloads on each profile) and of the replay's
 * time, reached through
 * \tbv{KIND}{FROM:TO/METRIC/BACKEND/SCOPE/CLASS}, KIND one of
 *   word    fewer | more | as many (no measurable difference) | on balance
 *           fewer (more on some workloads) | on balance more (fewer on some)
 *   effect  helps | hurts | makes no measurable difference | helps on
 *           balance but hurts some workloads | hurts on balance but helps some
 *   gm, min, max   geometric mean, least and greatest ratio
 *   n, nl, ns, nh  workloads, and how many were lower, the same, higher.
 * The experiment column is not in the key: a run set is one experiment; a
 * key seen twice keeps the first and notes the clash as a TeX comment.
 * Key characters outside [A-Za-z0-9._:+=/@-] become '-'. Numbers are
 * written with up to 3 significant digits (integers above 1000 in full)
 * so the text can quote them as they are. Run-set macros: \tbSource,
 * \tbCommand, \tbRows, \tbGroups, \tbBackendsUsed, \tbNAList, the roles
 * \tbProfileX, \tbProfileArm, \tbWorkloadA, \tbWorkloadB, \tbCacheBackend,
 * the tables \tbTableSteps, \tbTablePages, \tbTableWork..., \tbTableTime,
 * \tbTableRegions (each takes its caption), and the tolerances
 * \tbSimTol, \tbMissFloor. An exec run set (testbed exec) has macros of
 * its own, \tbExec{...} and \tbTableWorkExec... (tb_summary_write_exec_tex,
 * at the end of this file). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

static void tex_key_part(FILE *f, const char *s) {
  for (; *s; s++) {
    char c = *s;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._:+=/@-", c);
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

/* Group macros only for what the text may quote (TeX's string pool holds
 * a few megabytes: a full run set's every group would not fit): the miss
 * rates at L1D and DTLB (totals and their splits, no data regions),
 * time, footprint and metadata, on the host and on the two role profiles
 * (px, pa; under every backend that has them). */
static bool quoted(const tb_sum_group_t *g, const char *px, const char *pa) {
  static const char *const suffix[] = {"l1d_misses_per_op", "dtlb_misses_per_op", NULL};
  static const char *const host[] = {"ns_per_op", "metadata_per_live_byte", "fragmentation", "peak_heap_bytes",
                                     "metadata_bytes", "page_faults", NULL};
  const char *m = g->metric;
  bool ok = false;
  if (!strstr(m, "_in_") && strncmp(m, "memsim_", 7)) {
    size_t lm = strlen(m);
    for (int i = 0; suffix[i] && !ok; i++) {
      size_t ls = strlen(suffix[i]);
      ok = lm >= ls && !strcmp(m + lm - ls, suffix[i]) && (lm == ls || m[lm - ls - 1] == '_');
    }
    for (int i = 0; host[i] && !ok; i++) ok = !strcmp(m, host[i]);
  }
  if (!ok) return false;
  const char *p = g->profile;
  return !strcmp(p, "host") || (px && !strcmp(p, px)) || (pa && !strcmp(p, pa));
}

static const char *class_name(const char *c) {
  return !strcmp(c, "micro")      ? "microbenchmarks"
         : !strcmp(c, "mixes")    ? "size and lifetime mixes"
         : !strcmp(c, "linked")   ? "linked structures"
         : !strcmp(c, "threaded") ? "multi-threaded models"
         : !strcmp(c, "programs") ? "recorded programs"
         : !strcmp(c, "all")      ? "all workloads"
                                  : c;
}
static const char *const class_order[] = {"micro", "mixes", "linked", "threaded", "programs", "all", NULL};

/* The verdict as words that fit "gives W misses": fewer, more, as many,
 * with the workloads that differ when not all agree. Returns buf. */
static const char *vword_buf(const tb_verdict_t *v, char *buf, size_t len) {
  if (v->dir == TB_DIR_NA) snprintf(buf, len, "NA");
  else if (!v->nlower && !v->nhigher) snprintf(buf, len, "as many (no measurable difference)");
  else if (v->mixed)
    snprintf(buf, len, "%s (fewer on %zu, more on %zu of %zu workloads)",
             v->dir == TB_DIR_LOWER ? "on balance fewer" : v->dir == TB_DIR_HIGHER ? "on balance more" : "about as many",
             v->nlower, v->nhigher, v->n);
  else if (v->dir == TB_DIR_SAME)
    snprintf(buf, len, "about as many (%s on %zu of %zu workloads)", v->nlower ? "fewer" : "more",
             v->nlower ? v->nlower : v->nhigher, v->n);
  else if (v->nsame)
    snprintf(buf, len, "%s (on %zu of %zu workloads; the others the same)", v->dir == TB_DIR_LOWER ? "fewer" : "more",
             v->dir == TB_DIR_LOWER ? v->nlower : v->nhigher, v->n);
  else
    snprintf(buf, len, "%s", v->dir == TB_DIR_LOWER ? "fewer" : "more");
  return buf;
}

static const char *veffect(const tb_verdict_t *v) {
  if (v->dir == TB_DIR_NA) return "NA";
  if (v->mixed) return v->dir == TB_DIR_LOWER ? "helps on balance but hurts some workloads"
                       : v->dir == TB_DIR_HIGHER ? "hurts on balance but helps some workloads"
                                                 : "helps some workloads and hurts others, about evenly";
  return v->dir == TB_DIR_LOWER ? "helps" : v->dir == TB_DIR_HIGHER ? "hurts" : "makes no measurable difference";
}

static const char *vmark(const tb_verdict_t *v) {
  if (!v || v->dir == TB_DIR_NA) return "";
  if (v->mixed) return "$\\updownarrow$";
  return v->dir == TB_DIR_LOWER ? "$\\downarrow$" : v->dir == TB_DIR_HIGHER ? "$\\uparrow$" : "$=$";
}

static void vkey(FILE *f, const tb_verdict_t *v) {
  const char *parts[6] = {v->from, v->to, v->metric, v->backend, v->scope, v->cls};
  for (int i = 0; i < 6; i++) {
    if (i) fputc(i == 1 ? ':' : '/', f);
    tex_key_part(f, parts[i]);
  }
}

static void vdef(FILE *f, const tb_verdict_t *v, const char *kind, const char *value) {
  fprintf(f, "\\expandafter\\newcommand\\csname tbv@%s@", kind);
  vkey(f, v);
  fprintf(f, "\\endcsname{%s}\n", value);
}

static const tb_verdict_t *vfind(const tb_summary_t *s, const char *from, const char *to, const char *metric,
                                 const char *backend, const char *scope, const char *cls) {
  for (size_t i = 0; i < s->nverdicts; i++) {
    const tb_verdict_t *v = &s->verdicts[i];
    if (!strcmp(v->from, from) && !strcmp(v->to, to) && !strcmp(v->metric, metric) && !strcmp(v->backend, backend) &&
        !strcmp(v->scope, scope) && !strcmp(v->cls, cls))
      return v;
  }
  return NULL;
}

/* A table cell's number: as tex_num, but 0 < |v| < 0.001 as "<0.001"
 * (per-operation counts that small are not material, TB_SUM_MISS_FLOOR). */
static void cell_num(double v, char *buf, size_t len) {
  if (!isnan(v) && v != 0 && v < TB_SUM_MISS_FLOOR && v > -TB_SUM_MISS_FLOOR) snprintf(buf, len, "$<$%g", TB_SUM_MISS_FLOOR);
  else tex_num(v, buf, len);
}

static void ratio_str(double r, char *buf, size_t len) {
  if (isnan(r)) snprintf(buf, len, "NA");
  else snprintf(buf, len, r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f", r);
}

/* The backend the verdicts and the text use: memsim (TLBs, AArch64 code)
 * when the run set has split metrics from it, else cachegrind, else papi. */
static const char *verdict_backend(const tb_summary_t *s) {
  static const char *const pref[] = {"memsim", "cachegrind", "papi", NULL};
  for (int b = 0; pref[b]; b++)
    for (size_t i = 0; i < s->ngroups; i++)
      if (!strcmp(s->groups[i].backend, pref[b]) && s->groups[i].n > 0 &&
          (!strcmp(s->groups[i].metric, "allocator_program_l1d_misses_per_op") ||
           !strcmp(s->groups[i].metric, "l1d_misses_per_op")))
        return pref[b];
  return NULL;
}

/* The first native profile of a family for backend b, in display order. */
static const char *role_profile(const tb_summary_t *s, const char *b, const char *isa) {
  const char *best = NULL;
  int rank = 1 << 30;
  for (size_t i = 0; b && i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (strcmp(g->backend, b) || g->n == 0) continue;
    const char *p = tb_summary_profile_isa(g->profile);
    if (!p || strcmp(p, isa)) continue;
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(g->profile, "/@"), g->profile);
    int r = tb_summary_rank(tb_summary_profile_order, base);
    if (r < rank) rank = r, best = g->profile;
  }
  return best;
}

/* Allocators of the run set with a metric, in display order. */
static size_t allocs_with(const tb_summary_t *s, const char *metric, const char *backend, const char **out, size_t max) {
  size_t n = 0;
  for (int r = 0; r <= 1000; r++) {
    for (size_t i = 0; i < s->ngroups && n < max; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      if (strcmp(g->metric, metric) || strcmp(g->backend, backend) || g->n == 0) continue;
      if (tb_summary_rank(tb_summary_alloc_order, g->allocator) != r) continue;
      bool seen = false;
      for (size_t k = 0; k < n && !seen; k++) seen = !strcmp(out[k], g->allocator);
      if (!seen) out[n++] = g->allocator;
    }
    if (r < 999 && !tb_summary_alloc_order[r]) r = 999; /* then the unranked, in summary order */
  }
  return n;
}

/* Workloads of the run set with a metric, grouped by class (class order),
 * inside a class in summary order. */
static size_t workloads_with(const tb_summary_t *s, const char *metric, const char *backend, const char *profile,
                             const char **out, size_t max) {
  size_t n = 0;
  for (int c = 0; class_order[c]; c++)
    for (size_t i = 0; i < s->ngroups && n < max; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      if (strcmp(g->metric, metric) || strcmp(g->backend, backend) || (profile && strcmp(g->profile, profile)) ||
          strcmp(tb_summary_workload_class(g->workload), class_order[c]))
        continue;
      bool seen = false;
      for (size_t k = 0; k < n && !seen; k++) seen = !strcmp(out[k], g->workload);
      if (!seen) out[n++] = g->workload;
    }
  return n;
}

/* A longtable's head: the caption (with its label) once, the column
 * header on the first page and again, without the caption, on every
 * following page. head_begin returns the stream the header is written to;
 * head_end writes it out twice. */
typedef struct {
  FILE *out, *h;
  char *buf;
  size_t len;
} head_t;

static FILE *head_begin(head_t *hd, FILE *out) {
  hd->out = out;
  hd->buf = NULL;
  hd->len = 0;
  fputs("\\caption{#1}\\\\\n", out);
  hd->h = open_memstream(&hd->buf, &hd->len);
  return hd->h ? hd->h : out;
}

static FILE *head_end(head_t *hd) {
  if (hd->h) {
    fclose(hd->h);
    fprintf(hd->out, "%s \\\\ \\hline\\endfirsthead\n%s \\\\ \\hline\\endhead\n", hd->buf, hd->buf);
    free(hd->buf);
  } else {
    fputs(" \\\\ \\hline\\endhead\n", hd->out);
  }
  return hd->out;
}

/* The baseline's group of a table cell: allocator base, workload w, metric,
 * backend and profile (any profile when NULL); NULL when the run set has none. */
static const tb_sum_group_t *base_group(const tb_summary_t *s, const char *base, const char *w, const char *metric,
                                        const char *backend, const char *profile) {
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (!strcmp(g->allocator, base) && !strcmp(g->workload, w) && !strcmp(g->metric, metric) &&
        !strcmp(g->backend, backend) && (!profile || !strcmp(g->profile, profile)))
      return g;
  }
  return NULL;
}

/* \tbTableWorkNAME: one row per workload (grouped by class), the baseline's
 * median, then each other allocator's ratio to it, for one metric, backend
 * and profile. */
static void table_work(const tb_summary_t *s, FILE *f, const char *name, const char *metric, const char *backend,
                       const char *profile, const char *base, bool by_class) {
  const char *al[16], *wl[128];
  size_t nal = backend ? allocs_with(s, metric, backend, al, 16) : 0;
  size_t nwl = backend ? workloads_with(s, metric, backend, profile, wl, 128) : 0;
  bool has_base = false;
  for (size_t a = 0; a < nal; a++) has_base |= !strcmp(al[a], base);
  fprintf(f, "\\newcommand\\tbTableWork%s[1]{\\begin{longtable}{l", name);
  for (size_t a = 0; a < nal; a++) fputs("r", f);
  fputs("}\n", f);
  head_t hd;
  f = head_begin(&hd, f);
  fputs("\\hline workload", f);
  if (has_base) {
    fputs(" & \\texttt{", f);
    tex_text(f, base);
    fputs("}", f);
  }
  for (size_t a = 0; a < nal; a++) {
    if (!strcmp(al[a], base)) continue;
    fputs(" & \\texttt{", f);
    tex_text(f, al[a]);
    fputs("}", f);
  }
  f = head_end(&hd);
  if (!nwl || !has_base) {
    fprintf(f, "\\multicolumn{%zu}{l}{(not in this run set)} \\\\\n", nal + 1);
  }
  const char *cls = NULL;
  for (size_t w = 0; w < nwl && has_base; w++) {
    const char *c = tb_summary_workload_class(wl[w]);
    if (by_class && (!cls || strcmp(cls, c))) {
      fprintf(f, "\\multicolumn{%zu}{l}{\\emph{%s}} \\\\\n", nal + 1, class_name(c));
      cls = c;
    }
    const tb_sum_group_t *b = base_group(s, base, wl[w], metric, backend, profile);
    fputs(by_class ? "\\quad " : "", f);
    tex_text(f, wl[w]);
    char buf[64];
    cell_num(b ? b->median : NAN, buf, sizeof buf);
    fprintf(f, " & %s", b ? buf : "--");
    for (size_t a = 0; a < nal; a++) {
      if (!strcmp(al[a], base)) continue;
      const tb_sum_group_t *d =
          b ? tb_summary_lookup(s, b->experiment, al[a], b->workload, b->backend, b->profile, b->threads, metric) : NULL;
      double r, lo, hi;
      tb_dir_t dir = tb_summary_compare(d, b, &r, &lo, &hi);
      ratio_str(r, buf, sizeof buf);
      fprintf(f, " & %s%s", d ? buf : "--",
              dir == TB_DIR_LOWER ? "$^{-}$" : dir == TB_DIR_HIGHER ? "$^{+}$" : "");
    }
    fputs(" \\\\\n", f);
  }
  fputs("\\hline\n\\end{longtable}}\n", f);
}

/* \tbTableSteps: per step and workload class, the geometric mean of the
 * step's ratios at L1D (allocator, program), L2 and DTLB (allocator +
 * program), x86 and ARM. */
static void table_steps(const tb_summary_t *s, FILE *f, const char *vb) {
  static const char *const mets[] = {"allocator_l1d_misses_per_op", "program_l1d_misses_per_op",
                                     "allocator_program_l2_misses_per_op", "allocator_program_dtlb_misses_per_op"};
  static const char *const head[] = {"L1D, allocator", "L1D, program", "L2, alloc.+prog.", "DTLB, alloc.+prog."};
  static const char *const scopes[] = {"x86", "ARM"};
  fputs("\\newcommand\\tbTableSteps[1]{\\begin{longtable}{ll", f);
  for (int c = 0; c < 8; c++) fputs("r", f);
  fputs("}\n", f);
  head_t hd;
  f = head_begin(&hd, f);
  fputs("\\hline step & workloads", f);
  for (int m = 0; m < 4; m++) fprintf(f, " & \\multicolumn{2}{c}{%s}", head[m]);
  fputs(" \\\\\n & ", f);
  for (int m = 0; m < 4; m++) fputs(" & x86 & ARM", f);
  f = head_end(&hd);
  size_t rows = 0;
  for (int st = 0; vb && tb_summary_steps[st].from; st++) {
    const tb_sum_step_t *p = &tb_summary_steps[st];
    int row = 0;
    for (int c = 0; class_order[c]; c++) {
      const tb_verdict_t *v[8];
      bool any = false;
      for (int m = 0; m < 4; m++)
        for (int k = 0; k < 2; k++) {
          v[m * 2 + k] = vfind(s, p->from, p->to, mets[m], vb, scopes[k], class_order[c]);
          any |= v[m * 2 + k] != NULL;
        }
      if (!any) continue;
      if (row == 0) { /* the step's name on its first row, what it changes on the second */
        fputs("\\texttt{", f);
        tex_text(f, p->from);
        fputs("}$\\to$\\texttt{", f);
        tex_text(f, p->to);
        fputs("}", f);
      } else if (row == 1) {
        fputs("{\\scriptsize ", f);
        tex_text(f, p->what);
        fputs("}", f);
      }
      row++;
      fprintf(f, " & %s", class_name(class_order[c]));
      for (int k = 0; k < 8; k++) {
        char buf[32];
        if (!v[k]) {
          fputs(" & --", f);
          continue;
        }
        ratio_str(v[k]->gmean, buf, sizeof buf);
        fprintf(f, " & %s%s", buf, vmark(v[k]));
      }
      fputs(" \\\\\n", f);
      rows++;
    }
    if (row) fputs("\\hline\n", f);
  }
  if (!rows) fputs("\\multicolumn{10}{l}{(no simulated split in this run set)} \\\\\n", f);
  fputs("\\end{longtable}}\n", f);
}

/* \tbTablePages: per profile of the verdict backend (every ISA and page
 * size), all workloads: the geometric means of the steps' ratios at L1D
 * and DTLB (allocator + program). */
static void table_pages(const tb_summary_t *s, FILE *f, const char *vb) {
  static const char *const mets[] = {"allocator_program_l1d_misses_per_op", "allocator_program_dtlb_misses_per_op"};
  const char *prof[32];
  size_t np = 0;
  for (int r = 0; r <= 1000 && vb; r++) {
    for (size_t i = 0; i < s->nverdicts && np < 32; i++) {
      const tb_verdict_t *v = &s->verdicts[i];
      if (strcmp(v->backend, vb) || !strcmp(v->scope, "x86") || !strcmp(v->scope, "ARM") || strcmp(v->cls, "all"))
        continue;
      char base[64];
      snprintf(base, sizeof base, "%.*s", (int)strcspn(v->scope, "/@"), v->scope);
      if (tb_summary_rank(tb_summary_profile_order, base) != r) continue;
      bool seen = false;
      for (size_t k = 0; k < np && !seen; k++) seen = !strcmp(prof[k], v->scope);
      if (!seen) prof[np++] = v->scope;
    }
    if (r < 999 && !tb_summary_profile_order[r]) r = 999;
  }
  int nst = 0;
  while (tb_summary_steps[nst].from && nst < 4) nst++;
  fputs("\\newcommand\\tbTablePages[1]{\\begin{longtable}{l", f);
  for (int c = 0; c < 2 * nst; c++) fputs("r", f);
  fputs("}\n", f);
  head_t hd;
  f = head_begin(&hd, f);
  fputs("\\hline profile", f);
  for (int m = 0; m < 2; m++) fprintf(f, " & \\multicolumn{%d}{c}{%s}", nst, m ? "DTLB" : "L1D");
  fputs(" \\\\\n", f);
  for (int m = 0; m < 2; m++)
    for (int st = 0; st < nst; st++) {
      fputs(" & {\\scriptsize\\shortstack{\\texttt{", f);
      tex_text(f, tb_summary_steps[st].to);
      fputs("}/\\\\\\texttt{", f);
      tex_text(f, tb_summary_steps[st].from);
      fputs("}}}", f);
    }
  f = head_end(&hd);
  for (size_t p = 0; p < np; p++) {
    tex_text(f, prof[p]);
    for (int m = 0; m < 2; m++)
      for (int st = 0; st < nst; st++) {
        const tb_verdict_t *v = vfind(s, tb_summary_steps[st].from, tb_summary_steps[st].to, mets[m], vb, prof[p], "all");
        char buf[32];
        ratio_str(v ? v->gmean : NAN, buf, sizeof buf);
        fprintf(f, " & %s%s", v ? buf : "--", vmark(v));
      }
    fputs(" \\\\\n", f);
  }
  if (!np) fprintf(f, "\\multicolumn{%d}{l}{(no simulated split in this run set)} \\\\\n", 1 + 2 * nst);
  fputs("\\hline\n\\end{longtable}}\n", f);
}

/* \tbTableRegions: the allocator's own L1D misses per operation by the
 * data region they fall in (memsim's in_* split), per design, on the
 * quoted profiles, summed over nothing: one workload class at a time is
 * too fine, so the row is the median over workloads of each class. */
static void table_regions(const tb_summary_t *s, FILE *f, const char *profile) {
  /* region metrics present, in order of first appearance */
  const char *regs[8];
  int nr = 0;
  for (size_t i = 0; i < s->ngroups && nr < 8; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    const char *m = g->metric;
    if (strncmp(m, "allocator_in_", 13) || !(strlen(m) > 18 && !strcmp(m + strlen(m) - 18, "_l1d_misses_per_op"))) continue;
    if (!profile || strcmp(g->profile, profile)) continue;
    bool seen = false;
    for (int k = 0; k < nr && !seen; k++) seen = !strcmp(regs[k], m);
    if (!seen) regs[nr++] = m;
  }
  const char *al[16];
  size_t nal = profile ? allocs_with(s, "allocator_l1d_misses_per_op", "memsim", al, 16) : 0;
  fputs("\\newcommand\\tbTableRegions[1]{\\begin{longtable}{ll", f);
  for (int c = 0; c < nr; c++) fputs("r", f);
  fputs("}\n", f);
  head_t hd;
  f = head_begin(&hd, f);
  fputs("\\hline workload & allocator", f);
  for (int c = 0; c < nr; c++) {
    char r[64];
    snprintf(r, sizeof r, "%.*s", (int)(strlen(regs[c]) - 13 - strlen("_l1d_misses_per_op")), regs[c] + 13);
    fputs(" & ", f);
    tex_text(f, r);
  }
  f = head_end(&hd);
  const char *wl[128];
  size_t nwl = nr ? workloads_with(s, regs[0], "memsim", profile, wl, 128) : 0;
  for (size_t w = 0; w < nwl; w++)
    for (size_t a = 0; a < nal; a++) {
      bool rowv = false;
      for (int c = 0; c < nr && !rowv; c++)
        rowv = tb_summary_find(s, al[a], wl[w], "memsim", profile, NULL, regs[c]) != NULL;
      if (!rowv) continue;
      if (a == 0) tex_text(f, wl[w]);
      fputs(" & \\texttt{", f);
      tex_text(f, al[a]);
      fputs("}", f);
      for (int c = 0; c < nr; c++) {
        const tb_sum_group_t *g = tb_summary_find(s, al[a], wl[w], "memsim", profile, NULL, regs[c]);
        char buf[64];
        cell_num(g ? g->median : NAN, buf, sizeof buf);
        fprintf(f, " & %s", g ? buf : "--");
      }
      fputs(" \\\\\n", f);
    }
  if (!nwl) fprintf(f, "\\multicolumn{%d}{l}{(no region split in this run set)} \\\\\n", 2 + nr);
  fputs("\\hline\n\\end{longtable}}\n", f);
}

/* "W on SCOPE (geometric mean ratio G, range A-B)": every word from the
 * verdict; no ratio is quoted when every workload is the same. */
static void say_verdict(FILE *f, const tb_verdict_t *v, const char *scope_words, bool detail) {
  char g[32], a[32], b[32], w[160];
  if (!v) {
    fprintf(f, "no ratio on %s (zero or not measured)", scope_words);
    return;
  }
  ratio_str(v->gmean, g, sizeof g);
  ratio_str(v->min, a, sizeof a);
  ratio_str(v->max, b, sizeof b);
  fprintf(f, "%s on %s", vword_buf(v, w, sizeof w), scope_words);
  if (!v->nlower && !v->nhigher) return;
  fprintf(f, " (geometric mean ratio %s", g);
  if (detail) fprintf(f, ", range %s--%s", a, b);
  fputs(")", f);
}

static void say_step(FILE *f, const tb_sum_step_t *st) {
  fputs("\\texttt{", f);
  tex_text(f, st->from);
  fputs("}$\\to$\\texttt{", f);
  tex_text(f, st->to);
  fputs("}", f);
}

/* \tbAnswer: the answer in sentences, from the verdicts over all workloads
 * on the native x86 and ARM profiles; \tbStepText: one item per step and
 * workload class (allocator's and program's L1D, allocator + program
 * DTLB). Every direction word comes from the verdicts. */
static void write_answer(const tb_summary_t *s, FILE *f, const char *vb) {
  static const char *const l1 = "allocator_program_l1d_misses_per_op", *tlb = "allocator_program_dtlb_misses_per_op";
  fputs("\\newcommand\\tbAnswer{", f);
  bool any = false;
  for (int k = 0; vb && tb_summary_steps[k].from; k++) {
    const tb_sum_step_t *st = &tb_summary_steps[k];
    const tb_verdict_t *vx = vfind(s, st->from, st->to, l1, vb, "x86", "all");
    const tb_verdict_t *va = vfind(s, st->from, st->to, l1, vb, "ARM", "all");
    if (!vx && !va) continue;
    any = true;
    fputs("Step ", f);
    say_step(f, st);
    fputs(" (", f);
    tex_text(f, st->what);
    fputs(") gives, in L1D misses of allocator and program together, ", f);
    say_verdict(f, vx, "x86", true);
    fputs(" and ", f);
    say_verdict(f, va, "ARM", true);
    const tb_verdict_t *tx = vfind(s, st->from, st->to, tlb, vb, "x86", "all");
    const tb_verdict_t *ta = vfind(s, st->from, st->to, tlb, vb, "ARM", "all");
    if (tx || ta) {
      fputs("; in DTLB misses ", f);
      say_verdict(f, tx, "x86", false);
      fputs(" and ", f);
      say_verdict(f, ta, "ARM", false);
    }
    fputs(". ", f);
  }
  if (!any) fputs("This run set has no simulated split of misses, so it gives no answer.", f);
  fputs("}\n", f);

  /* \tbAnswerShort: the abstract's form, L1D only, one clause a step. */
  fputs("\\newcommand\\tbAnswerShort{", f);
  any = false;
  for (int k = 0; vb && tb_summary_steps[k].from; k++) {
    const tb_sum_step_t *st = &tb_summary_steps[k];
    const tb_verdict_t *vx = vfind(s, st->from, st->to, l1, vb, "x86", "all");
    const tb_verdict_t *va = vfind(s, st->from, st->to, l1, vb, "ARM", "all");
    if (!vx && !va) continue;
    fputs(any ? "; " : "", f);
    any = true;
    tex_text(f, st->what);
    fputs(" (", f);
    say_step(f, st);
    fputs(") gives ", f);
    say_verdict(f, vx, "x86", false);
    fputs(" and ", f);
    say_verdict(f, va, "ARM", false);
  }
  fputs(any ? "." : "This run set has no simulated split of misses, so it gives no answer.", f);
  fputs("}\n", f);

  static const char *const mets[][2] = {{"allocator_l1d_misses_per_op", "the allocator's own L1D misses"},
                                        {"program_l1d_misses_per_op", "the program's L1D misses"},
                                        {"allocator_program_dtlb_misses_per_op", "DTLB misses (allocator + program)"}};
  fputs("\\newcommand\\tbStepText{\\begin{itemize}\n", f);
  any = false;
  for (int k = 0; vb && tb_summary_steps[k].from; k++) {
    const tb_sum_step_t *st = &tb_summary_steps[k];
    for (int c = 0; class_order[c]; c++) {
      bool have = false;
      for (int m = 0; m < 3 && !have; m++)
        have = vfind(s, st->from, st->to, mets[m][0], vb, "x86", class_order[c]) ||
               vfind(s, st->from, st->to, mets[m][0], vb, "ARM", class_order[c]);
      if (!have || !strcmp(class_order[c], "all")) continue;
      any = true;
      fputs("\\item ", f);
      say_step(f, st);
      fprintf(f, ", %s: ", class_name(class_order[c]));
      for (int m = 0; m < 3; m++) {
        fprintf(f, "%s%s: ", m ? "; " : "", mets[m][1]);
        say_verdict(f, vfind(s, st->from, st->to, mets[m][0], vb, "x86", class_order[c]), "x86", false);
        fputs(", ", f);
        say_verdict(f, vfind(s, st->from, st->to, mets[m][0], vb, "ARM", class_order[c]), "ARM", false);
      }
      fputs(".\n", f);
    }
  }
  if (!any) fputs("\\item (no simulated split in this run set)\n", f);
  fputs("\\end{itemize}}\n", f);
}

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
  fprintf(f, "\\newcommand\\tbSimTol{%g\\,\\%%}\n\\newcommand\\tbMissFloor{%g}\n", TB_SUM_SIM_TOL * 100,
          TB_SUM_MISS_FLOOR);
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
    const char *pl[64];
    int np = 0;
    for (size_t k = i; k < s->ngroups; k++) {
      const tb_sum_group_t *h = &s->groups[k];
      if (strcmp(h->backend, g->backend)) continue;
      bool pseen = false;
      for (int m = 0; m < np && !pseen; m++) pseen = !strcmp(pl[m], h->profile);
      if (pseen || np == 64) continue;
      pl[np++] = h->profile;
      fputs(np > 1 ? ", " : "", f);
      tex_text(f, h->profile);
    }
    fputs(")", f);
  }
  fputs("}\n", f);
  const char *vb = verdict_backend(s);
  const char *px = role_profile(s, vb, "x86"), *pa = role_profile(s, vb, "ARM");
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (!quoted(g, px, pa)) continue;
    if (i > 0 && strcmp(s->groups[0].experiment, g->experiment)) {
      bool clash = false; /* another experiment with this key: keep the first */
      for (size_t k = 0; k < i && !clash; k++) clash = same_key(&s->groups[k], g);
      if (clash) {
        fprintf(f, "%% key clash (experiment %s): ", g->experiment);
        tex_key(f, g, g->allocator);
        fputs(" kept from its first experiment\n", f);
        continue;
      }
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
    if (!isnan(g->ratio)) {
      snprintf(buf, sizeof buf, "%.2f", g->ratio);
      tex_def(f, "ratio", g, buf);
    }
  }
  /* Metrics NA in every group of a backend: what this run set could not
   * measure ("backend: m1, m2; ..."), for the paper's plain statement. */
  fputs("\\newcommand\\tbNAList{", f);
  int nna = 0;
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (g->n > 0) continue;
    bool seen = false, value = false;
    for (size_t k = 0; k < s->ngroups && !value && !seen; k++) {
      const tb_sum_group_t *h = &s->groups[k];
      if (strcmp(h->backend, g->backend) || strcmp(h->metric, g->metric)) continue;
      if (k < i && h->n == 0) seen = true;
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
  /* Roles the paper's text refers to, so it reads any run set. */
  const char *w1 = NULL, *w2 = NULL;
  const char *l1 = vb && !strcmp(vb, "papi") ? "l1d_misses_per_op" : "allocator_program_l1d_misses_per_op";
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (!vb || strcmp(g->metric, l1) || strcmp(g->backend, vb) || g->n == 0) continue;
    if (!w1) w1 = g->workload;
    else if (!w2 && strcmp(w1, g->workload)) w2 = g->workload;
  }
  const char *roles[][2] = {{"tbProfileX", px}, {"tbProfileArm", pa}, {"tbWorkloadA", w1},
                            {"tbWorkloadB", w2 ? w2 : w1}, {"tbCacheBackend", vb}};
  for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) {
    fprintf(f, "\\newcommand\\%s{", roles[k][0]);
    if (roles[k][1]) tex_key_part(f, roles[k][1]);
    else fputs("none", f);
    fputs("}\n", f);
  }
  /* Verdicts of the verdict backend and of the replay's time. */
  for (size_t i = 0; i < s->nverdicts; i++) {
    const tb_verdict_t *v = &s->verdicts[i];
    bool time = !strcmp(v->metric, "ns_per_op") && !strcmp(v->backend, "replay");
    if (!time && !(vb && !strcmp(v->backend, vb))) continue;
    /* per class only on the ISA scopes; a single profile over all workloads */
    bool isa = !strcmp(v->scope, "x86") || !strcmp(v->scope, "ARM");
    if (!isa && !time && strcmp(v->cls, "all")) continue;
    if (strstr(v->metric, "l3_") || strstr(v->metric, "l2tlb_")) continue;
    char wb[160];
    vdef(f, v, "word", vword_buf(v, wb, sizeof wb));
    vdef(f, v, "effect", veffect(v));
    ratio_str(v->gmean, buf, sizeof buf);
    vdef(f, v, "gm", buf);
    ratio_str(v->min, buf, sizeof buf);
    vdef(f, v, "min", buf);
    ratio_str(v->max, buf, sizeof buf);
    vdef(f, v, "max", buf);
    snprintf(buf, sizeof buf, "%zu", v->n);
    vdef(f, v, "n", buf);
    snprintf(buf, sizeof buf, "%zu", v->nlower);
    vdef(f, v, "nl", buf);
    snprintf(buf, sizeof buf, "%zu", v->nsame);
    vdef(f, v, "ns", buf);
    snprintf(buf, sizeof buf, "%zu", v->nhigher);
    vdef(f, v, "nh", buf);
  }
  write_answer(s, f, vb);
  table_steps(s, f, vb);
  table_pages(s, f, vb);
  table_work(s, f, "XLone", "allocator_program_l1d_misses_per_op", vb, px, TB_SUMMARY_BASELINE, true);
  table_work(s, f, "ArmLone", "allocator_program_l1d_misses_per_op", vb, pa, TB_SUMMARY_BASELINE, true);
  table_work(s, f, "XTlb", "allocator_program_dtlb_misses_per_op", vb, px, TB_SUMMARY_BASELINE, true);
  table_work(s, f, "ArmTlb", "allocator_program_dtlb_misses_per_op", vb, pa, TB_SUMMARY_BASELINE, true);
  table_work(s, f, "Time", "ns_per_op", "replay", "host", "glibc", true);
  table_work(s, f, "Meta", "metadata_per_live_byte", "replay", "host", TB_SUMMARY_BASELINE, true);
  table_regions(s, f, pa ? pa : px);
  return ferror(f) ? 1 : 0;
}

/* The exec run set (testbed exec, experiments/exec.exp): real programs.
 * For each comparison TAG (metric, backend, profile, baseline) and each
 * allocator but the baseline, over the programs with both:
 *   \tbExec{gm}{TAG}{ALLOC}  geometric mean of the ratios to the baseline
 *   \tbExec{n|nl|nh}{TAG}{ALLOC}  programs, how many measurably lower/higher
 *   \tbExec{max|maxat}{TAG}{ALLOC}  the greatest ratio and its program
 * and a table per TAG, \tbTableWorkExecTAG{caption}: the baseline's median
 * per program and every other allocator's ratio to it. The simulated tags
 * use the run set's first x86 and first ARM memsim profile (x86-64 code
 * on both: exec runs the host's programs), \tbExecProfileX and
 * \tbExecProfileArm. Tags: Time (wall_time / glibc), Rss (max_rss / glibc),
 * Faults (minor_faults / glibc), LoneX, LoneArm (l1d_misses / inline),
 * AllocLoneX, AllocLoneArm (allocator_l1d_misses / inline), TlbX, TlbArm
 * (dtlb_misses / inline); and ExecShareX, ExecShareArm: \tbExec{min|max}
 * of the allocator's share of the whole program's L1D misses (percent). */
static const char *exec_profile(const tb_summary_t *s, const char *family) {
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    const char *fam = tb_summary_profile_family(g->profile);
    if (!strcmp(g->backend, "memsim") && g->n > 0 && fam && !strcmp(fam, family)) return g->profile;
  }
  return NULL;
}

static void exec_def(FILE *f, const char *kind, const char *tag, const char *alloc, const char *value) {
  fprintf(f, "\\expandafter\\def\\csname tb@exec@%s@%s@", kind, tag);
  tex_key_part(f, alloc);
  fprintf(f, "\\endcsname{%s}\n", value);
}

static void exec_stats(const tb_summary_t *s, FILE *f, const char *tag, const char *metric, const char *backend,
                       const char *profile, const char *base) {
  const char *al[16], *wl[128];
  size_t nal = backend ? allocs_with(s, metric, backend, al, 16) : 0;
  size_t nwl = backend ? workloads_with(s, metric, backend, profile, wl, 128) : 0;
  for (size_t a = 0; a < nal; a++) {
    if (!strcmp(al[a], base)) continue;
    size_t n = 0, nl = 0, nh = 0;
    double lsum = 0, max = NAN;
    const char *maxat = NULL;
    for (size_t w = 0; w < nwl; w++) {
      const tb_sum_group_t *b = base_group(s, base, wl[w], metric, backend, profile);
      const tb_sum_group_t *d =
          b ? tb_summary_lookup(s, b->experiment, al[a], b->workload, b->backend, b->profile, b->threads, metric) : NULL;
      double r, lo, hi;
      tb_dir_t dir = tb_summary_compare(d, b, &r, &lo, &hi);
      if (!d || isnan(r) || r <= 0) continue;
      n++;
      lsum += log(r);
      nl += dir == TB_DIR_LOWER;
      nh += dir == TB_DIR_HIGHER;
      if (isnan(max) || r > max) max = r, maxat = wl[w];
    }
    char buf[64];
    ratio_str(n ? exp(lsum / (double)n) : NAN, buf, sizeof buf);
    exec_def(f, "gm", tag, al[a], buf);
    ratio_str(max, buf, sizeof buf);
    exec_def(f, "max", tag, al[a], buf);
    fprintf(f, "\\expandafter\\def\\csname tb@exec@maxat@%s@", tag);
    tex_key_part(f, al[a]);
    fputs("\\endcsname{", f);
    tex_text(f, maxat ? maxat : "--");
    fputs("}\n", f);
    snprintf(buf, sizeof buf, "%zu", n);
    exec_def(f, "n", tag, al[a], buf);
    snprintf(buf, sizeof buf, "%zu", nl);
    exec_def(f, "nl", tag, al[a], buf);
    snprintf(buf, sizeof buf, "%zu", nh);
    exec_def(f, "nh", tag, al[a], buf);
  }
  table_work(s, f, tag, metric, backend, profile, base, false);
}

/* \tbExec{min|max}{TAG}{ALLOC}: the least and greatest share, over the
 * programs, of metric num in metric den (the allocator's misses in the
 * whole program's), per allocator, as a percentage. */
static void exec_share(const tb_summary_t *s, FILE *f, const char *tag, const char *num, const char *den,
                       const char *profile) {
  const char *al[16];
  size_t nal = profile ? allocs_with(s, den, "memsim", al, 16) : 0;
  for (size_t a = 0; a < nal; a++) {
    double lo = NAN, hi = NAN;
    for (size_t i = 0; i < s->ngroups; i++) {
      const tb_sum_group_t *d = &s->groups[i];
      if (strcmp(d->allocator, al[a]) || strcmp(d->metric, den) || strcmp(d->backend, "memsim") ||
          strcmp(d->profile, profile) || !(d->median > 0))
        continue;
      const tb_sum_group_t *n = tb_summary_lookup(s, d->experiment, d->allocator, d->workload, d->backend, d->profile,
                                                  d->threads, num);
      if (!n || isnan(n->median)) continue;
      double v = 100 * n->median / d->median;
      if (isnan(lo) || v < lo) lo = v;
      if (isnan(hi) || v > hi) hi = v;
    }
    char buf[64];
    if (isnan(lo)) snprintf(buf, sizeof buf, "NA");
    else snprintf(buf, sizeof buf, "%.2g\\,\\%%", lo);
    exec_def(f, "min", tag, al[a], buf);
    if (isnan(hi)) snprintf(buf, sizeof buf, "NA");
    else snprintf(buf, sizeof buf, "%.2g\\,\\%%", hi);
    exec_def(f, "max", tag, al[a], buf);
  }
}

int tb_summary_write_exec_tex(const tb_summary_t *s, FILE *f, const char *cmdline) {
  fputs("% generated by: ", f);
  tex_text(f, cmdline);
  fputs("\n% Do not edit: every number here is derived from the exec run set below.\n", f);
  fputs("\\newcommand\\tbExecSource{", f);
  tex_text(f, s->source);
  fputs("}\n", f);
  /* timed runs per allocator and program: the largest n of a wall_time group */
  size_t runs = 0, progs = 0;
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (strcmp(g->metric, "wall_time")) continue;
    if (g->n > runs) runs = g->n;
    bool seen = false;
    for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(s->groups[k].metric, "wall_time") && !strcmp(s->groups[k].workload, g->workload);
    progs += !seen;
  }
  fprintf(f, "\\newcommand\\tbExecRuns{%zu}\n\\newcommand\\tbExecPrograms{%zu}\n", runs, progs);
  const char *px = exec_profile(s, "x86"), *pa = exec_profile(s, "ARM");
  fputs("\\newcommand\\tbExecProfileX{", f);
  tex_key_part(f, px ? px : "none");
  fputs("}\n\\newcommand\\tbExecProfileArm{", f);
  tex_key_part(f, pa ? pa : "none");
  fputs("}\n", f);
  exec_stats(s, f, "ExecTime", "wall_time", "timer", "host", "glibc");
  exec_stats(s, f, "ExecRss", "max_rss", "timer", "host", "glibc");
  exec_stats(s, f, "ExecFaults", "minor_faults", "timer", "host", "glibc");
  exec_stats(s, f, "ExecLoneX", "l1d_misses", px ? "memsim" : NULL, px, TB_SUMMARY_BASELINE);
  exec_stats(s, f, "ExecLoneArm", "l1d_misses", pa ? "memsim" : NULL, pa, TB_SUMMARY_BASELINE);
  exec_stats(s, f, "ExecAllocLoneX", "allocator_l1d_misses", px ? "memsim" : NULL, px, TB_SUMMARY_BASELINE);
  exec_stats(s, f, "ExecAllocLoneArm", "allocator_l1d_misses", pa ? "memsim" : NULL, pa, TB_SUMMARY_BASELINE);
  exec_stats(s, f, "ExecTlbX", "dtlb_misses", px ? "memsim" : NULL, px, TB_SUMMARY_BASELINE);
  exec_stats(s, f, "ExecTlbArm", "dtlb_misses", pa ? "memsim" : NULL, pa, TB_SUMMARY_BASELINE);
  exec_share(s, f, "ExecShareX", "allocator_l1d_misses", "l1d_misses", px);
  exec_share(s, f, "ExecShareArm", "allocator_l1d_misses", "l1d_misses", pa);
  return ferror(f) ? 1 : 0;
}
