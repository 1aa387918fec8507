/* test_plan.c: the run plan of `testbed run` (harness/plan.h): every bad
 * option is refused with a message naming it (missing options, duplicate
 * allocators, empty backend lists), a child's command line made from a
 * plan parses back into the same plan for that child, and a generator
 * spec is generated once into a file that the child is handed (and that
 * tb_plan_free removes). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plan.h"
#include "tb_testutil.h"

static char dir[256];

static int parse(tb_plan_t *p, char *err, size_t errlen, const char *const *args) {
  char *argv[64];
  int n = 0;
  argv[n++] = "run";
  for (int i = 0; args[i]; i++) argv[n++] = (char *)args[i];
  argv[n] = NULL;
  return tb_plan_parse(p, n, argv, err, errlen);
}

static const struct {
  const char *args[20];
  const char *expect;
} bad_plans[] = {
    {{"--workload", "w", "--out", "o", "--allocator", "inline", NULL}, "needs --runs"},
    {{"--workload", "w", NULL}, "needs --allocator, --runs and --out"},
    {{"--allocator", "inline", "--runs", "1", "--out", "o", NULL}, "needs --workload"},
    {{"--allocator", "inline,inline", "--workload", "w", "--runs", "1", "--out", "o", NULL},
     "allocator 'inline' is named twice in --allocator"},
    {{"--allocator", "inline,glibc,inline", "--workload", "w", "--runs", "1", "--out", "o", NULL},
     "allocator 'inline' is named twice"},
    {{"--allocator", "inline,", "--workload", "w", "--runs", "1", "--out", "o", NULL}, "has an empty name"},
    {{"--allocator", "nosuch", "--workload", "w", "--runs", "1", "--out", "o", NULL}, "unknown allocator 'nosuch'"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--backend", "", NULL},
     "--backend wants a list of backends, 'default' or 'none', not ''"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--backend", "timer,,timer", NULL},
     "--backend 'timer,,timer' has an empty name"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--backend", "timer,", NULL},
     "has an empty name"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--backend", "timer,timer", NULL},
     "backend 'timer' is named twice"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--backend", "frob", NULL},
     "unknown backend 'frob'"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "0", "--out", "o", NULL}, "--runs wants a number 1..100000, not '0'"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--touch", "some", NULL},
     "--touch wants none, trace or full, not 'some'"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--check-level", "4", NULL},
     "--check-level wants a number 0..3"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--threads", NULL}, "--threads needs a value"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--frob", NULL}, "unknown option '--frob'"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--child", "1", NULL}, "drop --out"},
    {{"--allocator", "inline", "--workload", "w", "--runs", "1", "--out", "o", "--experiment", "a,b", NULL},
     "--experiment wants a name without commas"},
};

START_TEST(bad_plans_name_the_option) {
  tb_plan_t p;
  char err[512] = "";
  ck_assert_int_eq(parse(&p, err, sizeof err, bad_plans[_i].args), TB_PLAN_BAD);
  ck_assert_msg(strstr(err, bad_plans[_i].expect), "case %d: '%s' lacks '%s'", _i, err, bad_plans[_i].expect);
}
END_TEST

START_TEST(help_is_help) {
  tb_plan_t p;
  char err[64];
  const char *args[] = {"--allocator", "inline", "--help", NULL};
  ck_assert_int_eq(parse(&p, err, sizeof err, args), TB_PLAN_HELP);
}
END_TEST

/* A plan with every option, its child for one allocator, and the child's
 * command line parsed back. */
START_TEST(child_argv_parses_back) {
  tb_plan_t p;
  char err[512];
  const char *args[] = {"--allocator", "glibc,bump", "--workload", "gen:larson:threads=2:ops=50:rounds=1", "--runs", "7",
                        "--out", "o", "--threads", "2", "--touch", "full", "--check-level", "2", "--experiment", "x",
                        "--backend", "timer", "--pin", "--overhead", NULL};
  ck_assert_int_eq(parse(&p, err, sizeof err, args), TB_PLAN_OK);
  ck_assert_uint_eq(p.nallocs, 2);
  ck_assert_uint_eq(p.runs, 7);
  ck_assert_uint_eq(p.nbk, 1);
  ck_assert_str_eq(p.workload_name, "larson:threads=2:ops=50:rounds=1");
  ck_assert_msg(tb_plan_workload(&p, err, sizeof err) == 0, "%s", err);
  char gen[4096];
  snprintf(gen, sizeof gen, "%s", p.trace_file);
  ck_assert(strncmp(gen, "gen:", 4) != 0);
  struct stat st;
  ck_assert_int_eq(stat(gen, &st), 0);
  ck_assert_int_gt(st.st_size, 0);

  tb_plan_child_t ch = {.alloc = p.alloc[1], .run = 5, .backends = "timer"};
  char **cv = tb_plan_child_argv(&p, &ch, "/x/testbed");
  ck_assert_ptr_nonnull(cv);
  ck_assert_str_eq(cv[0], "/x/testbed");
  int n = 0;
  while (cv[n]) n++;
  tb_plan_t q;
  ck_assert_msg(tb_plan_parse(&q, n - 1, cv + 1, err, sizeof err) == TB_PLAN_OK, "%s", err);
  ck_assert_uint_eq(q.nallocs, 1);
  ck_assert_ptr_eq(q.alloc[0], p.alloc[1]);
  ck_assert_str_eq(q.workload, gen); /* the generated file, not the spec */
  ck_assert_str_eq(q.workload_name, p.workload_name);
  ck_assert_uint_eq(q.runs, 1);
  ck_assert_uint_eq(q.child_run, 5);
  ck_assert_ptr_null(q.out);
  ck_assert_uint_eq(q.threads, 2);
  ck_assert_int_eq(q.touch, TB_TOUCH_FULL);
  ck_assert_int_eq(q.level, 2);
  ck_assert_str_eq(q.experiment, "x");
  ck_assert(q.pin && !q.overhead);
  ck_assert_uint_eq(q.nbk, 1);
  ck_assert_ptr_eq(q.bk[0].b, p.bk[0].b);
  ck_assert_str_eq(q.backends, "timer");
  ck_assert_msg(tb_plan_workload(&q, err, sizeof err) == 0, "%s", err); /* a file: nothing generated */
  ck_assert_str_eq(q.trace_file, gen);
  tb_plan_free(&q);
  ck_assert_int_eq(stat(gen, &st), 0); /* the child does not remove the parent's file */
  free(cv);

  /* No backends: the child is told none, never the default set. */
  ch.backends = "";
  cv = tb_plan_child_argv(&p, &ch, "t");
  n = 0;
  while (cv[n]) n++;
  ck_assert_msg(tb_plan_parse(&q, n - 1, cv + 1, err, sizeof err) == TB_PLAN_OK, "%s", err);
  ck_assert_uint_eq(q.nbk, 0);
  ck_assert_str_eq(q.backend_arg, "none");
  free(cv);
  tb_plan_free(&p);
  ck_assert_int_ne(stat(gen, &st), 0); /* removed with the plan */
}
END_TEST

int main(void) {
  if (!tb_test_tmpdir(dir, sizeof dir, "plan")) return 1;
  setenv("TMPDIR", dir, 1);
  Suite *s = suite_create("plan");
  TCase *tc = tcase_create("plan");
  tcase_add_loop_test(tc, bad_plans_name_the_option, 0, (int)(sizeof bad_plans / sizeof bad_plans[0]));
  tcase_add_test(tc, help_is_help);
  tcase_add_test(tc, child_argv_parses_back);
  suite_add_tcase(s, tc);
  return tb_test_run(s, dir);
}
