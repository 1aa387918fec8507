/* test_summary.c: the summary statistics (median, 95% CI of the median from
 * order statistics, NA handling, derived metrics) on known inputs. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "summary.h"
#include "tb_testutil.h"

START_TEST(ci_ten_values) {
  double v[10];
  for (int i = 0; i < 10; i++) v[i] = i + 1;
  double med, lo, hi, lvl;
  tb_summary_median_ci(v, 10, &med, &lo, &hi, &lvl);
  ck_assert_double_eq(med, 5.5);
  /* j = 2: coverage 1 - 2 P(B <= 1) = 1 - 2 * 11/1024 >= 0.95; j = 3 is 0.89 */
  ck_assert_double_eq(lo, 2);
  ck_assert_double_eq(hi, 9);
  ck_assert_double_eq_tol(lvl, 1.0 - 22.0 / 1024.0, 1e-12);
}
END_TEST

START_TEST(ci_small_n) {
  double v[5] = {1, 2, 3, 4, 50}, med, lo, hi, lvl;
  tb_summary_median_ci(v, 5, &med, &lo, &hi, &lvl);
  ck_assert_double_eq(med, 3);
  ck_assert_double_eq(lo, 1);
  ck_assert_double_eq(hi, 50);
  ck_assert_double_eq_tol(lvl, 1.0 - 2.0 / 32.0, 1e-12); /* below 0.95: said */
  tb_summary_median_ci(v, 1, &med, &lo, &hi, &lvl);
  ck_assert_double_eq(med, 1);
  ck_assert(isnan(lo) && isnan(hi) && isnan(lvl));
  tb_summary_median_ci(v, 0, &med, &lo, &hi, &lvl);
  ck_assert(isnan(med));
}
END_TEST

START_TEST(ci_large_n) {
  enum { N = 100 };
  double v[N], med, lo, hi, lvl;
  for (int i = 0; i < N; i++) v[i] = i;
  tb_summary_median_ci(v, N, &med, &lo, &hi, &lvl);
  /* n = 100: the classic ranks 40 and 61 (1-based), coverage 0.9648 */
  ck_assert_double_eq(lo, 39);
  ck_assert_double_eq(hi, 60);
  ck_assert(lvl >= 0.95 && lvl < 0.97);
}
END_TEST

static char dir[64];

static void write_set(const char *text) {
  snprintf(dir, sizeof dir, "/tmp/tb_summary_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/results.csv", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void remove_set(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/results.csv", dir);
  unlink(path);
  rmdir(dir);
}

START_TEST(load_na_and_derived) {
  write_set("# command: test\n"
            "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit\n"
            "e,inline,w,replay,host,1,0,x,3,1\n"
            "e,inline,w,replay,host,1,1,x,NA,1\n"
            "e,inline,w,replay,host,1,2,x,1,1\n"
            "e,inline,w,replay,host,1,0,y,NA,1\n"
            "e,inline,w,replay,host,1,1,y,NA,1\n"
            "e,inline,w,replay,host,1,0,metadata_bytes,100,B\n"
            "e,inline,w,replay,host,1,0,peak_live_bytes,400,B\n"
            "# a comment line between rows is allowed\n"
            "e,inline,w,replay,host,1,1,metadata_bytes,NA,B\n"
            "e,inline,w,replay,host,1,1,peak_live_bytes,400,B\n");
  tb_summary_t s;
  char err[256];
  int rc = tb_summary_load(dir, &s, err, sizeof err);
  remove_set();
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_str_eq(s.command, "test");
  const tb_sum_group_t *x = tb_summary_find(&s, "inline", "w", "replay", "host", "1", "x");
  const tb_sum_group_t *y = tb_summary_find(&s, "inline", "w", "replay", "host", "1", "y");
  const tb_sum_group_t *d = tb_summary_find(&s, "inline", "w", "replay", "host", "1", "metadata_per_live_byte");
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  ck_assert_ptr_nonnull(d);
  ck_assert_uint_eq(x->n, 2);
  ck_assert_uint_eq(x->n_na, 1);
  ck_assert_double_eq(x->median, 2); /* NA excluded: median of {1, 3} */
  ck_assert_uint_eq(y->n, 0);        /* all NA stays NA, never 0 */
  ck_assert(isnan(y->median) && isnan(y->mean));
  ck_assert_uint_eq(d->n, 1); /* run 1's metadata is NA: its ratio too */
  ck_assert_uint_eq(d->n_na, 1);
  ck_assert_double_eq(d->median, 0.25);
  ck_assert_uint_eq(s.nderived, 2);
  tb_summary_free(&s);
}
END_TEST

/* metadata_per_live_byte takes the metadata at the peak when the run has
 * it (the end of the window may have freed everything), per run. */
START_TEST(derived_uses_metadata_at_peak) {
  write_set("# command: test\n"
            "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit\n"
            "e,oob,w,replay,host,1,1,metadata_bytes,10,B\n"
            "e,oob,w,replay,host,1,1,metadata_bytes_at_peak,300,B\n"
            "e,oob,w,replay,host,1,1,peak_live_bytes,600,B\n"
            "e,oob,w,replay,host,1,2,metadata_bytes,10,B\n"
            "e,oob,w,replay,host,1,2,metadata_bytes_at_peak,NA,B\n"
            "e,oob,w,replay,host,1,2,peak_live_bytes,600,B\n");
  tb_summary_t s;
  char err[256];
  int rc = tb_summary_load(dir, &s, err, sizeof err);
  remove_set();
  ck_assert_msg(rc == 0, "%s", err);
  const tb_sum_group_t *d = tb_summary_find(&s, "oob", "w", "replay", "host", "1", "metadata_per_live_byte");
  ck_assert_ptr_nonnull(d);
  ck_assert_uint_eq(d->n, 1);    /* run 2: NA at the peak stays NA (not the end value) */
  ck_assert_uint_eq(d->n_na, 1);
  ck_assert_double_eq(d->median, 0.5);
  tb_summary_free(&s);
}
END_TEST

/* Ratios to inline, directions and the verdicts of a step. Simulated
 * (one run each): w1 +5% (higher), w2 +0.5% (same: within the 1%
 * tolerance), w3 -50% but both below 0.001 misses per op (same: not
 * material), w4 -20% (lower). Timed (three runs each): t1's intervals
 * overlap (same), t2's do not (higher). */
START_TEST(ratios_and_verdicts) {
  write_set("# command: test\n"
            "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit\n"
            "e,inline,gen:w1,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,2.0,1\n"
            "e,oob-m32,gen:w1,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,2.1,1\n"
            "e,inline,gen:w2,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,2.0,1\n"
            "e,oob-m32,gen:w2,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,2.01,1\n"
            "e,inline,gen:w3,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,0.0008,1\n"
            "e,oob-m32,gen:w3,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,0.0004,1\n"
            "e,inline,gen:w4,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,1.0,1\n"
            "e,oob-m32,gen:w4,memsim,zen3@x86_64,1,1,allocator_program_l1d_misses_per_op,0.8,1\n"
            "e,inline,gen:w1,memsim,zen3@aarch64,1,1,allocator_program_l1d_misses_per_op,1.0,1\n"
            "e,oob-m32,gen:w1,memsim,zen3@aarch64,1,1,allocator_program_l1d_misses_per_op,0.5,1\n"
            "e,inline,t1.tbt,replay,host,1,1,ns_per_op,10,ns\n"
            "e,inline,t1.tbt,replay,host,1,2,ns_per_op,11,ns\n"
            "e,inline,t1.tbt,replay,host,1,3,ns_per_op,12,ns\n"
            "e,oob-m32,t1.tbt,replay,host,1,1,ns_per_op,11.5,ns\n"
            "e,oob-m32,t1.tbt,replay,host,1,2,ns_per_op,12.5,ns\n"
            "e,oob-m32,t1.tbt,replay,host,1,3,ns_per_op,13,ns\n"
            "e,inline,t2.tbt,replay,host,1,1,ns_per_op,10,ns\n"
            "e,inline,t2.tbt,replay,host,1,2,ns_per_op,11,ns\n"
            "e,inline,t2.tbt,replay,host,1,3,ns_per_op,12,ns\n"
            "e,oob-m32,t2.tbt,replay,host,1,1,ns_per_op,20,ns\n"
            "e,oob-m32,t2.tbt,replay,host,1,2,ns_per_op,21,ns\n"
            "e,oob-m32,t2.tbt,replay,host,1,3,ns_per_op,22,ns\n");
  tb_summary_t s;
  char err[256];
  int rc = tb_summary_load(dir, &s, err, sizeof err);
  remove_set();
  ck_assert_msg(rc == 0, "%s", err);
  static const struct { const char *w, *p, *m; tb_dir_t d; double r; } want[] = {
      {"gen:w1", "zen3@x86_64", "allocator_program_l1d_misses_per_op", TB_DIR_HIGHER, 1.05},
      {"gen:w2", "zen3@x86_64", "allocator_program_l1d_misses_per_op", TB_DIR_SAME, 1.005},
      {"gen:w3", "zen3@x86_64", "allocator_program_l1d_misses_per_op", TB_DIR_SAME, 0.5},
      {"gen:w4", "zen3@x86_64", "allocator_program_l1d_misses_per_op", TB_DIR_LOWER, 0.8},
      {"t1.tbt", "host", "ns_per_op", TB_DIR_SAME, 12.5 / 11},
      {"t2.tbt", "host", "ns_per_op", TB_DIR_HIGHER, 21.0 / 11}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const tb_sum_group_t *g = tb_summary_find(&s, "oob-m32", want[i].w, NULL, want[i].p, "1", want[i].m);
    ck_assert_ptr_nonnull(g);
    ck_assert_msg(g->dir == want[i].d, "%s: direction %d, not %d", want[i].w, g->dir, want[i].d);
    ck_assert_double_eq_tol(g->ratio, want[i].r, 1e-9);
  }
  const tb_sum_group_t *b = tb_summary_find(&s, "inline", "gen:w1", NULL, "zen3@x86_64", "1", NULL);
  ck_assert(b && b->dir == TB_DIR_NA && isnan(b->ratio)); /* the baseline has no ratio to itself */
  /* the step inline -> oob-m32 over x86 (native profiles only: zen3@aarch64 is not counted) */
  const tb_verdict_t *v = NULL;
  for (size_t i = 0; i < s.nverdicts; i++)
    if (!strcmp(s.verdicts[i].to, "oob-m32") && !strcmp(s.verdicts[i].scope, "x86") && !strcmp(s.verdicts[i].cls, "all") &&
        !strcmp(s.verdicts[i].metric, "allocator_program_l1d_misses_per_op"))
      v = &s.verdicts[i];
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(v->n, 4);
  ck_assert_uint_eq(v->nlower, 1);
  ck_assert_uint_eq(v->nsame, 2);
  ck_assert_uint_eq(v->nhigher, 1);
  ck_assert(v->mixed);
  ck_assert_double_eq_tol(v->gmean, pow(1.05 * 1.005 * 0.5 * 0.8, 0.25), 1e-9);
  ck_assert(v->dir == TB_DIR_LOWER); /* mixed, geometric mean below 1 */
  ck_assert_str_eq(tb_summary_workload_class("gen:mix:dist=pareto"), "mixes");
  ck_assert_str_eq(tb_summary_workload_class("python3.tbt.zst"), "programs");
  ck_assert_str_eq(tb_summary_workload_class("list"), "linked");
  ck_assert_ptr_null(tb_summary_profile_isa("zen3@aarch64"));
  ck_assert_ptr_null(tb_summary_profile_isa("neoverse-n1/page=64K@aarch64"));
  ck_assert_str_eq(tb_summary_profile_isa("neoverse-n1@aarch64"), "ARM");
  ck_assert_str_eq(tb_summary_profile_isa("zen3"), "x86");
  tb_summary_free(&s);
}
END_TEST

START_TEST(load_reports_line) {
  write_set("# command: test\n"
            "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit\n"
            "e,inline,w,replay,host,1,0,x,3,1\n"
            "e,inline,w,replay,host,1,1,x,3e,1\n");
  tb_summary_t s;
  char err[256];
  int rc = tb_summary_load(dir, &s, err, sizeof err);
  remove_set();
  ck_assert_int_eq(rc, 2);
  ck_assert_msg(strstr(err, "results.csv:4: value '3e'") != NULL, "%s", err);
  tb_summary_free(&s);
}
END_TEST

int main(void) {
  Suite *su = suite_create("summary");
  TCase *tc = tcase_create("stats");
  tcase_add_test(tc, ci_ten_values);
  tcase_add_test(tc, ci_small_n);
  tcase_add_test(tc, ci_large_n);
  tcase_add_test(tc, load_na_and_derived);
  tcase_add_test(tc, derived_uses_metadata_at_peak);
  tcase_add_test(tc, load_reports_line);
  tcase_add_test(tc, ratios_and_verdicts);
  suite_add_tcase(su, tc);
  return tb_test_run(su, NULL);
}
