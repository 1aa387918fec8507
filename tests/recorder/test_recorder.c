/* test_recorder.c: the recorder end to end. `testbed record` runs
 * rec_subject (a program whose allocator calls are known) and the traces
 * it writes are loaded with tb_trace_load and compared with what the
 * subject did: the exact single-thread sequence, the streams of four
 * threads, a cross-thread free (with the loader's sync), a fork child's
 * own trace, an exec (both images), an exit() from a thread. Then real
 * programs (/bin/true, python3) and bad usage. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace.h"
#include "tb_testutil.h"

static char dir[256];

static void setup(void) {
  snprintf(dir, sizeof dir, "%s/tbrec-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  setenv("TB_RECORD_LIB", TB_RECORD_LIB, 1);
}

static void teardown(void) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    char p[512];
    while ((de = readdir(d)) != NULL) {
      if (de->d_name[0] == '.') continue;
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* Run `testbed record -o dir/name ARGS...`; its exit status (stderr kept
 * for the log, stdout of the program discarded). */
static int record(const char *name, const char *const *args) {
  char out[512];
  snprintf(out, sizeof out, "%s/%s", dir, name);
  const char *argv[32] = {TB_TESTBED, "record", "-o", out, "--"};
  int n = 5;
  for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  pid_t c = fork();
  if (c == 0) {
    if (!freopen("/dev/null", "w", stdout)) _exit(126);
    execv(TB_TESTBED, (char *const *)argv);
    _exit(127);
  }
  int st = -1;
  waitpid(c, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void load(const char *name, tb_trace_t *t) {
  char p[512], err[512] = "";
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int rc = tb_trace_load(p, t, err, sizeof err);
  ck_assert_msg(rc == 0, "loading %s: %s", p, err);
}

static bool exists(const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return access(p, F_OK) == 0;
}

/* Names of files in dir starting with prefix (other than prefix itself). */
static int others(const char *prefix, char names[][256], int max) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  size_t pl = strlen(prefix);
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (!strncmp(de->d_name, prefix, pl) && de->d_name[pl] == '.' && n < max)
      snprintf(names[n++], 256, "%s", de->d_name);
  closedir(d);
  return n;
}

/* Count allocations (malloc/calloc/aligned) of exactly `size` in stream th. */
static size_t count_size(const tb_trace_t *t, uint32_t th, uint64_t size) {
  size_t n = 0;
  for (size_t i = 0; i < t->nops[th]; i++) {
    const tb_op_t *o = &t->ops[th][i];
    if ((o->code == TB_OP_MALLOC || o->code == TB_OP_CALLOC || o->code == TB_OP_ALIGNED) && o->arg == size) n++;
  }
  return n;
}

START_TEST(single_thread_sequence_is_exact) {
  const char *args[] = {TB_SUBJECT, "basic", NULL};
  ck_assert_int_eq(record("s.txt", args), 0);
  tb_trace_t t;
  load("s.txt", &t);
  /* What rec_subject's basic() does before its first thread, as trace ops
   * (ids: new ones in order, freed ids reused last-in first-out). */
  static const struct {
    uint8_t code;
    uint32_t id;
    uint64_t arg;
    uint8_t align;
  } want[] = {
      {TB_OP_MALLOC, 0, 100, 0},   {TB_OP_CALLOC, 1, 300, 0},   {TB_OP_REALLOC, 0, 1000, 0},
      {TB_OP_ALIGNED, 2, 200, 6},  {TB_OP_ALIGNED, 3, 512, 8},  {TB_OP_FREE, 1, 0, 0},
      {TB_OP_MALLOC, 1, 50, 0},    {TB_OP_FREE, 1, 0, 0},       {TB_OP_ALIGNED, 1, 10, 12},
      {TB_OP_FREE, 0, 0, 0},       {TB_OP_FREE, 2, 0, 0},       {TB_OP_FREE, 3, 0, 0},
      {TB_OP_FREE, 1, 0, 0},       {TB_OP_MALLOC, 1, 4242, 0},
  };
  size_t nw = sizeof want / sizeof want[0];
  ck_assert_uint_ge(t.nthreads, 5);
  ck_assert_uint_ge(t.nops[0], nw);
  size_t bad = nw;
  for (size_t i = 0; i < nw && bad == nw; i++) {
    const tb_op_t *o = &t.ops[0][i];
    if (o->code != want[i].code || o->id != want[i].id || o->arg != want[i].arg ||
        (o->code == TB_OP_ALIGNED && o->align != want[i].align))
      bad = i;
  }
  ck_assert_msg(bad == nw, "op %zu of thread 0 differs (code %u id %u arg %llu)", bad,
                bad < nw ? t.ops[0][bad].code : 0, bad < nw ? t.ops[0][bad].id : 0,
                bad < nw ? (unsigned long long)t.ops[0][bad].arg : 0ull);
  tb_trace_free(&t);
}
END_TEST

START_TEST(threads_and_cross_thread_free) {
  const char *args[] = {TB_SUBJECT, "basic", NULL};
  ck_assert_int_eq(record("s.txt", args), 0);
  tb_trace_t t;
  load("s.txt", &t);
  /* The shared object: the 4242-byte malloc of thread 0. */
  uint32_t shared = UINT32_MAX;
  for (size_t i = 0; i < t.nops[0] && shared == UINT32_MAX; i++)
    if (t.ops[0][i].code == TB_OP_MALLOC && t.ops[0][i].arg == 4242) shared = t.ops[0][i].id;
  ck_assert_uint_ne(shared, UINT32_MAX);
  /* Each worker w (sizes 10000*(w+1) + i%100, in order) in its own stream. */
  int found[4] = {0};
  uint32_t worker0 = UINT32_MAX;
  for (uint32_t th = 1; th < t.nthreads; th++) {
    size_t k = 0, frees = 0;
    int w = -1;
    bool in_order = true;
    for (size_t i = 0; i < t.nops[th]; i++) {
      const tb_op_t *o = &t.ops[th][i];
      if (o->code == TB_OP_MALLOC && o->arg >= 10000 && o->arg < 50000) {
        if (w < 0) w = (int)(o->arg / 10000) - 1;
        if (o->arg != 10000u * (unsigned)(w + 1) + k % 100) in_order = false;
        k++;
      } else if (o->code == TB_OP_FREE) {
        frees++;
      }
    }
    if (w < 0) continue;
    ck_assert_msg(in_order && k == 1000, "worker %d: %zu mallocs, in order %d", w, k, in_order);
    ck_assert_uint_ge(frees, 1000);
    found[w]++;
    if (w == 0) worker0 = th;
  }
  for (int w = 0; w < 4; w++) ck_assert_msg(found[w] == 1, "worker %d found in %d streams", w, found[w]);
  /* The shared object is freed by worker 0, after a sync on thread 0. */
  bool synced = false, freed = false;
  for (size_t i = 0; i < t.nops[worker0] && !freed; i++) {
    const tb_op_t *o = &t.ops[worker0][i];
    if (o->code == TB_OP_SYNC && o->id == 0) synced = true;
    if (o->code == TB_OP_FREE && o->id == shared) freed = true;
  }
  ck_assert_msg(freed, "the 4242-byte object is not freed by worker 0");
  ck_assert_msg(synced, "no sync on thread 0 before the cross-thread free");
  tb_trace_free(&t);
}
END_TEST

START_TEST(fork_child_gets_its_own_trace) {
  const char *args[] = {TB_SUBJECT, "basic", NULL};
  ck_assert_int_eq(record("s.txt", args), 0);
  char names[8][256];
  int n = others("s.txt", names, 8);
  ck_assert_int_eq(n, 1);
  tb_trace_t t;
  load(names[0], &t);
  ck_assert_uint_eq(t.total_ops, 2);
  ck_assert_uint_eq(t.ops[0][0].code, TB_OP_MALLOC);
  ck_assert_uint_eq(t.ops[0][0].arg, 777);
  ck_assert_uint_eq(t.ops[0][1].code, TB_OP_FREE);
  ck_assert_uint_eq(t.ops[0][1].id, t.ops[0][0].id);
  tb_trace_free(&t);
  /* The parent's trace does not contain the child's calls. */
  load("s.txt", &t);
  size_t c = 0;
  for (uint32_t th = 0; th < t.nthreads; th++) c += count_size(&t, th, 777);
  ck_assert_uint_eq(c, 0);
  tb_trace_free(&t);
}
END_TEST

START_TEST(exit_from_a_thread_loses_nothing) {
  const char *args[] = {TB_SUBJECT, "texit", NULL};
  ck_assert_int_eq(record("x.tbt", args), 0);
  tb_trace_t t;
  load("x.tbt", &t);
  ck_assert_uint_ge(t.nthreads, 2);
  size_t a = 0, b = 0;
  for (uint32_t th = 0; th < t.nthreads; th++) {
    a += count_size(&t, th, 3333);
    b += count_size(&t, th, 5555);
  }
  ck_assert_uint_eq(count_size(&t, 0, 3333), 500);
  ck_assert_uint_eq(a, 500);
  ck_assert_uint_eq(b, 100);
  tb_trace_free(&t);
}
END_TEST

START_TEST(exec_starts_a_new_log) {
  const char *args[] = {TB_SUBJECT, "exec", NULL};
  ck_assert_int_eq(record("e.tbt", args), 0);
  tb_trace_t t;
  load("e.tbt", &t); /* the main trace: the last image */
  ck_assert_uint_eq(count_size(&t, 0, 1111), 300);
  ck_assert_uint_eq(count_size(&t, 0, 2222), 0);
  tb_trace_free(&t);
  char names[8][256];
  int n = others("e.tbt", names, 8);
  ck_assert_int_eq(n, 1);
  ck_assert_msg(strlen(names[0]) > 2 && !strcmp(names[0] + strlen(names[0]) - 2, ".0"), "image 0 is %s", names[0]);
  load(names[0], &t);
  ck_assert_uint_eq(count_size(&t, 0, 2222), 200);
  tb_trace_free(&t);
}
END_TEST

START_TEST(children_drop_and_main_by_name) {
  const char *args[] = {"--children", "drop", "--main", "rec_subject", TB_SUBJECT, "basic", NULL};
  /* options before the program: record() puts "--" first, so call directly */
  char out[512];
  snprintf(out, sizeof out, "%s/d.tbt", dir);
  const char *argv[] = {TB_TESTBED, "record", "-o", out, args[0], args[1], args[2], args[3], "--", args[4], args[5],
                        NULL};
  pid_t c = fork();
  if (c == 0) {
    execv(TB_TESTBED, (char *const *)argv);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  char names[8][256];
  ck_assert_int_eq(others("d.tbt", names, 8), 0);
  tb_trace_t t;
  load("d.tbt", &t); /* the largest rec_subject image: the parent */
  ck_assert_uint_gt(t.total_ops, 8000);
  tb_trace_free(&t);
}
END_TEST

START_TEST(bad_usage_leaves_nothing) {
  const char *nothing[] = {"/nonexistent/program", NULL};
  ck_assert_int_ne(record("n.tbt", nothing), 0);
  ck_assert(!exists("n.tbt"));
  /* an output directory that does not exist */
  const char *args[] = {TB_SUBJECT, "after", NULL};
  ck_assert_int_ne(record("no/such/dir.tbt", args), 0);
  ck_assert(!exists("no"));
}
END_TEST

START_TEST(bin_true) {
  /* /bin/true alone makes no allocator call: no trace (the loader rejects
   * an empty one), an error, no file. With --version it does allocate. */
  const char *plain[] = {"/bin/true", NULL};
  ck_assert_int_ne(record("t.tbt", plain), 0);
  ck_assert(!exists("t.tbt"));
  const char *ver[] = {"/bin/true", "--version", NULL};
  ck_assert_int_eq(record("t.tbt", ver), 0);
  tb_trace_t t;
  load("t.tbt", &t);
  ck_assert_uint_gt(t.total_ops, 0);
  ck_assert_ptr_nonnull(t.provenance);
  ck_assert_ptr_nonnull(strstr(t.provenance, "true"));
  tb_trace_free(&t);
}
END_TEST

START_TEST(python_pass) {
  const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  const char *args[] = {py, "-c", "pass", NULL};
  ck_assert_int_eq(record("p.tbt.gz", args), 0);
  tb_trace_t t;
  load("p.tbt.gz", &t);
  ck_assert_uint_gt(t.total_ops, 100);
  ck_assert_ptr_nonnull(strstr(t.provenance, "python"));
  tb_trace_free(&t);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("recorder");
  TCase *tc = tcase_create("record");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, single_thread_sequence_is_exact);
  tcase_add_test(tc, threads_and_cross_thread_free);
  tcase_add_test(tc, fork_child_gets_its_own_trace);
  tcase_add_test(tc, exit_from_a_thread_loses_nothing);
  tcase_add_test(tc, exec_starts_a_new_log);
  tcase_add_test(tc, children_drop_and_main_by_name);
  tcase_add_test(tc, bad_usage_leaves_nothing);
  tcase_add_test(tc, bin_true);
  tcase_add_test(tc, python_pass);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tb_test_run(suite(), NULL);
}
