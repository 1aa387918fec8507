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
  suite_add_tcase(su, tc);
  return tb_test_run(su, NULL);
}
