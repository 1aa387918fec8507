/* cmd_compare.c: `testbed compare DIR [--baseline A] [--metric M ...]`: the
 * ratio of every allocator to a baseline, per workload and machine profile,
 * from a run set's summary statistics (harness/summary.h), printed as one
 * table per metric. By default the metrics are a design's misses with the
 * harness excluded (allocator_program_*, which summarize derives from the
 * simulators' three-way split), the quantity the paper's headline figure
 * draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"
#include "tb_cli.h"

static const char usage[] =
    "usage: testbed compare DIR [--baseline ALLOCATOR] [--metric M[,M...]]... [--steps]\n"
    "\n"
    "Prints, for each metric, the ratio of every allocator to the baseline\n"
    "(default inline) per workload and machine profile: the ratio of the two\n"
    "medians, and in brackets an interval from the two 95% CIs of the median,\n"
    "[design low / baseline high, design high / baseline low], which covers the\n"
    "ratio whenever both CIs cover their medians (so its coverage is at least\n"
    "about 90%, not 95%). No bracket when a group has one run (a simulation\n"
    "runs once: deterministic) or its CI is not defined; NA when a median is NA\n"
    "or the baseline's is 0; -- when the run set lacks the group. Below 1: fewer\n"
    "than the baseline.\n"
    "\n"
    "  --baseline A   the allocator every ratio divides by (default inline)\n"
    "  --metric M     a metric to compare (repeatable, or a comma list). Default:\n"
    "                 every allocator_program_* metric of the run set (a design's\n"
    "                 own and its program's counts, the harness's excluded: they\n"
    "                 are the same for every allocator): misses by level, L1D\n"
    "                 first, then data references and instructions.\n"
    "  --steps        instead, the verdicts of the design steps (testbed summarize's\n"
    "                 verdicts.csv) over all workloads on the native x86 and ARM\n"
    "                 profiles: geometric mean ratio after/before the step, and how\n"
    "                 many workloads were lower / the same / higher.\n"
    "Exit status 2 on a bad run set (FILE:LINE) or a baseline or metric the run\n"
    "set does not have.\n";

enum { MAXMET = 32 };

static bool has_name(const char *const *v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i], s)) return true;
  return false;
}

/* Level order for the default metrics: l1d, l2, l3, llc, then TLBs. */
static int level_rank(const char *m) {
  static const char *const lv[] = {"_l1d_", "_l2_", "_l3_", "_llc_", "_dtlb_", "_l2tlb_", NULL};
  for (int i = 0; lv[i]; i++)
    if (strstr(m, lv[i])) return i;
  return 100;
}

static int cmp_metric(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  int d = level_rank(x) - level_rank(y);
  return d ? d : strcmp(x, y);
}

static void ratio_cell(const tb_sum_group_t *d, const tb_sum_group_t *b, char *out, size_t len) {
  if (!d || !b) {
    snprintf(out, len, "--");
    return;
  }
  if (isnan(d->median) || isnan(b->median) || b->median == 0) {
    snprintf(out, len, "NA");
    return;
  }
  int k = snprintf(out, len, "%.3g", d->median / b->median);
  if (k < 0 || (size_t)k >= len) return;
  bool ci = !isnan(d->ci_low) && !isnan(d->ci_high) && !isnan(b->ci_low) && !isnan(b->ci_high) && b->ci_low > 0 &&
            (d->ci_low != d->ci_high || b->ci_low != b->ci_high);
  if (ci) snprintf(out + k, len - (size_t)k, " [%.3g, %.3g]", d->ci_low / b->ci_high, d->ci_high / b->ci_low);
}

/* One table: rows (experiment, workload, threads, profile, backend) of the
 * metric's groups, columns the allocators other than the baseline. */
static void print_table(const tb_summary_t *s, const char *metric, const char *base, bool show_exp) {
  const char *al[64];
  size_t nal = 0;
  for (int pass = 0; pass < 2; pass++) /* ranked allocators first, then the rest */
    for (size_t i = 0; i < s->ngroups; i++) {
      const tb_sum_group_t *g = &s->groups[i];
      if (strcmp(g->metric, metric) || !strcmp(g->allocator, base) || has_name(al, nal, g->allocator) || nal == 64)
        continue;
      if ((tb_summary_rank(tb_summary_alloc_order, g->allocator) < 1000) != (pass == 0)) continue;
      al[nal++] = g->allocator;
    }
  for (size_t i = 1; i < nal; i++) /* ranked ones by rank (the pass kept the rest in summary order) */
    for (size_t j = i; j > 0; j--) {
      int r0 = tb_summary_rank(tb_summary_alloc_order, al[j - 1]), r1 = tb_summary_rank(tb_summary_alloc_order, al[j]);
      if (r1 >= 1000 || r0 <= r1) break;
      const char *t = al[j];
      al[j] = al[j - 1];
      al[j - 1] = t;
    }
  printf("%s: ratio to %s, median [interval]\n", metric, base);
  printf("%-24s %-30s %-10s", "workload", "profile", "backend");
  for (size_t a = 0; a < nal; a++) printf(" %-22s", al[a]);
  printf("\n");
  /* rows in summary order (sorted by experiment, workload, ...), profiles in display order */
  size_t nrows = 0;
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (strcmp(g->metric, metric) || strcmp(g->allocator, base)) continue;
    nrows++;
  }
  const tb_sum_group_t **rows = calloc(nrows ? nrows : 1, sizeof *rows);
  if (!rows) return;
  size_t n = 0;
  for (size_t i = 0; i < s->ngroups; i++) {
    const tb_sum_group_t *g = &s->groups[i];
    if (!strcmp(g->metric, metric) && !strcmp(g->allocator, base)) rows[n++] = g;
  }
  for (size_t i = 1; i < n; i++) /* stable insertion sort: workload, threads, then profile rank */
    for (size_t j = i; j > 0; j--) {
      const tb_sum_group_t *x = rows[j - 1], *y = rows[j];
      int c = strcmp(x->experiment, y->experiment);
      if (!c) c = strcmp(x->workload, y->workload);
      if (!c) c = strcmp(x->threads, y->threads);
      if (!c) c = tb_summary_rank(tb_summary_profile_order, x->profile) - tb_summary_rank(tb_summary_profile_order, y->profile);
      if (c <= 0) break;
      rows[j - 1] = y;
      rows[j] = x;
    }
  for (size_t r = 0; r < n; r++) {
    const tb_sum_group_t *b = rows[r];
    char wl[160];
    int k = snprintf(wl, sizeof wl, "%s%s%s", show_exp ? b->experiment : "", show_exp ? " " : "", b->workload);
    if (strcmp(b->threads, "1") && k > 0 && (size_t)k < sizeof wl)
      snprintf(wl + k, sizeof wl - (size_t)k, " (%s thr.)", b->threads);
    printf("%-24s %-30s %-10s", wl, b->profile, b->backend);
    for (size_t a = 0; a < nal; a++) {
      const tb_sum_group_t *d =
          tb_summary_find(s, al[a], b->workload, b->backend, b->profile, b->threads, metric);
      if (d && strcmp(d->experiment, b->experiment)) { /* find gives the first; look for this experiment's */
        d = NULL;
        for (size_t i = 0; i < s->ngroups && !d; i++) {
          const tb_sum_group_t *h = &s->groups[i];
          if (!strcmp(h->experiment, b->experiment) && !strcmp(h->allocator, al[a]) && !strcmp(h->workload, b->workload) &&
              !strcmp(h->backend, b->backend) && !strcmp(h->profile, b->profile) && !strcmp(h->threads, b->threads) &&
              !strcmp(h->metric, metric))
            d = h;
        }
      }
      char cell[96];
      ratio_cell(d, b, cell, sizeof cell);
      printf(" %-22s", cell);
    }
    printf("\n");
  }
  free(rows);
}

/* --steps: one line per (step, metric, backend) with the x86 and ARM
 * verdicts over all workloads. */
static void print_steps(const tb_summary_t *s) {
  static const char *const mets[] = {"allocator_program_l1d_misses_per_op", "allocator_program_l2_misses_per_op",
                                     "allocator_program_dtlb_misses_per_op", "ns_per_op", NULL};
  printf("design steps: geometric mean ratio after/before over all workloads (lower/same/higher workloads)\n");
  printf("%-22s %-38s %-10s %-24s %-24s\n", "step", "metric", "backend", "x86", "ARM");
  size_t lines = 0;
  for (int st = 0; tb_summary_steps[st].from; st++)
    for (int m = 0; mets[m]; m++)
      for (size_t i = 0; i < s->nverdicts; i++) {
        const tb_verdict_t *v = &s->verdicts[i];
        if (strcmp(v->from, tb_summary_steps[st].from) || strcmp(v->to, tb_summary_steps[st].to) ||
            strcmp(v->metric, mets[m]) || strcmp(v->cls, "all"))
          continue;
        bool time = !strcmp(v->scope, "host");
        if (!time && strcmp(v->scope, "x86")) continue; /* one line per backend, from its x86 verdict */
        const tb_verdict_t *a = NULL;
        for (size_t k = 0; k < s->nverdicts && !a; k++) {
          const tb_verdict_t *w = &s->verdicts[k];
          if (!strcmp(w->from, v->from) && !strcmp(w->to, v->to) && !strcmp(w->metric, v->metric) &&
              !strcmp(w->backend, v->backend) && !strcmp(w->scope, "ARM") && !strcmp(w->cls, "all"))
            a = w;
        }
        char step[64], cx[64], ca[64];
        snprintf(step, sizeof step, "%s->%s", v->from, v->to);
        snprintf(cx, sizeof cx, "%.3g (%zu/%zu/%zu)", v->gmean, v->nlower, v->nsame, v->nhigher);
        if (a) snprintf(ca, sizeof ca, "%.3g (%zu/%zu/%zu)", a->gmean, a->nlower, a->nsame, a->nhigher);
        else snprintf(ca, sizeof ca, "%s", time ? "(host)" : "--");
        printf("%-22s %-38s %-10s %-24s %-24s\n", step, v->metric, v->backend, cx, ca);
        lines++;
      }
  if (!lines) printf("(no step has a ratio in this run set)\n");
}

static int compare_main(int argc, char **argv) {
  const char *dir = NULL, *base = "inline";
  bool steps = false;
  char *mlist[MAXMET];
  size_t nm = 0;
  int rc = 0;
  for (int i = 1; i < argc && !rc; i++) {
    if (tb_cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--baseline")) {
      if (++i == argc) return tb_cli_usage_error("compare", "--baseline needs an allocator");
      base = argv[i];
    } else if (!strcmp(argv[i], "--steps")) {
      steps = true;
    } else if (!strcmp(argv[i], "--metric")) {
      if (++i == argc) return tb_cli_usage_error("compare", "--metric needs a metric name");
      char *copy = strdup(argv[i]), *save = NULL;
      if (!copy) return 1;
      for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (nm == MAXMET) {
          free(copy);
          for (size_t k = 0; k < nm; k++) free(mlist[k]);
          return tb_cli_usage_error("compare", "at most %d metrics", MAXMET);
        }
        mlist[nm++] = strdup(t);
      }
      free(copy);
    } else if (argv[i][0] == '-' && argv[i][1]) {
      rc = tb_cli_usage_error("compare", "unknown option '%s'", argv[i]);
    } else if (dir) {
      rc = tb_cli_usage_error("compare", "one run set at a time ('%s' and '%s')", dir, argv[i]);
    } else {
      dir = argv[i];
    }
  }
  if (!rc && !dir) rc = tb_cli_usage_error("compare", "which run set? give its folder");
  if (rc) {
    for (size_t k = 0; k < nm; k++) free(mlist[k]);
    return rc;
  }

  tb_summary_t s;
  char err[1024];
  rc = tb_summary_load(dir, &s, err, sizeof err);
  if (rc) {
    fprintf(stderr, "testbed compare: %s\n", err);
    tb_summary_free(&s);
    for (size_t k = 0; k < nm; k++) free(mlist[k]);
    return rc;
  }
  if (steps) {
    print_steps(&s);
    tb_summary_free(&s);
    for (size_t k = 0; k < nm; k++) free(mlist[k]);
    return 0;
  }
  const char *mets[MAXMET];
  size_t nmet = 0;
  bool base_seen = false, several_exp = false;
  for (size_t i = 0; i < s.ngroups; i++) {
    base_seen |= !strcmp(s.groups[i].allocator, base);
    several_exp |= strcmp(s.groups[i].experiment, s.groups[0].experiment) != 0;
  }
  if (!base_seen) {
    fprintf(stderr, "testbed compare: %s: the baseline '%s' is not in this run set\n", s.source, base);
    rc = 2;
  }
  for (size_t k = 0; k < nm && !rc; k++) {
    bool found = false;
    for (size_t i = 0; i < s.ngroups && !found; i++) found = !strcmp(s.groups[i].metric, mlist[k]);
    if (!found) {
      fprintf(stderr, "testbed compare: %s: no metric '%s' in this run set\n", s.source, mlist[k]);
      rc = 2;
    } else if (!has_name(mets, nmet, mlist[k])) {
      mets[nmet++] = mlist[k];
    }
  }
  if (!rc && nm == 0) {
    for (size_t i = 0; i < s.ngroups && nmet < MAXMET; i++)
      if (!strncmp(s.groups[i].metric, "allocator_program_", 18) && !has_name(mets, nmet, s.groups[i].metric))
        mets[nmet++] = s.groups[i].metric;
    qsort(mets, nmet, sizeof *mets, cmp_metric);
    if (!nmet) {
      fprintf(stderr,
              "testbed compare: %s: no allocator_program_* metric (no simulated three-way split in this run set); "
              "name the metrics with --metric\n",
              s.source);
      rc = 2;
    }
  }
  for (size_t k = 0; k < nmet && !rc; k++) {
    if (k) printf("\n");
    print_table(&s, mets[k], base, several_exp);
  }
  tb_summary_free(&s);
  for (size_t k = 0; k < nm; k++) free(mlist[k]);
  return rc;
}

const tb_command_t tb_cmd_compare = {"compare", "ratio of each allocator to a baseline per workload and profile",
                                     compare_main};
