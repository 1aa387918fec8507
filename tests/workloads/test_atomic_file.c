/* test_atomic_file.c: the all-or-nothing writer of result files
 * (workloads/atomic_file.h): a commit puts the whole file in place and
 * leaves no temporary; abort, a write that fails (the file size limit)
 * and a rename that fails leave neither the file nor a temporary, and an
 * old file of the same name stays as it was. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "tb_testutil.h"

static char dir[256];

static const char *in_dir(const char *name) {
  static char buf[4][512];
  static int k;
  char *b = buf[k++ % 4];
  snprintf(b, 512, "%s/%s", dir, name);
  return b;
}

static void setup(void) { ck_assert(tb_test_tmpdir(dir, sizeof dir, "atomic")); }

static void teardown(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      unlink(in_dir(e->d_name));
      rmdir(in_dir(e->d_name));
    }
  if (d) closedir(d);
  rmdir(dir);
}

/* The names in dir, sorted, joined by spaces ("" when empty). */
static const char *listing(void) {
  static char out[1024];
  char names[16][256];
  int n = 0;
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  while ((e = readdir(d)) && n < 16)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) snprintf(names[n++], 256, "%s", e->d_name);
  closedir(d);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[j], names[i]) < 0) {
        char t[256];
        memcpy(t, names[i], 256);
        memcpy(names[i], names[j], 256);
        memcpy(names[j], t, 256);
      }
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    if (i) strcat(out, " ");
    strcat(out, names[i]);
  }
  return out;
}

/* The first bytes of path as a string; NULL when it cannot be read. */
static const char *content(const char *path) {
  static char buf[256];
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  return f ? buf : NULL;
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(commit_puts_whole_file) {
  tb_atomic_t a;
  FILE *f = tb_atomic_open(in_dir("out.csv"), &a);
  ck_assert_ptr_nonnull(f);
  fputs("a,b\n1,2\n", f);
  const char *l = listing(); /* only the temporary, in the same directory */
  ck_assert_msg(!strncmp(l, ".out.csv.", 9) && !strchr(l, ' '), "listing: %s", l);
  ck_assert_ptr_null(content(in_dir("out.csv"))); /* not in place yet */
  ck_assert_int_eq(tb_atomic_commit(&a), 0);
  ck_assert_str_eq(listing(), "out.csv");
  ck_assert_str_eq(content(in_dir("out.csv")), "a,b\n1,2\n");
  struct stat st;
  ck_assert_int_eq(stat(in_dir("out.csv"), &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0644);
}
END_TEST

START_TEST(commit_replaces_old_file) {
  put(in_dir("out.csv"), "old\n");
  tb_atomic_t a;
  FILE *f = tb_atomic_open(in_dir("out.csv"), &a);
  ck_assert_ptr_nonnull(f);
  fputs("new\n", f);
  ck_assert_str_eq(content(in_dir("out.csv")), "old\n");
  ck_assert_int_eq(tb_atomic_commit(&a), 0);
  ck_assert_str_eq(content(in_dir("out.csv")), "new\n");
  ck_assert_str_eq(listing(), "out.csv");
}
END_TEST

START_TEST(abort_leaves_nothing) {
  put(in_dir("keep.csv"), "old\n");
  tb_atomic_t a, b;
  FILE *f = tb_atomic_open(in_dir("new.csv"), &a), *g = tb_atomic_open(in_dir("keep.csv"), &b);
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(g);
  fputs("partial", f);
  fputs("partial", g);
  ck_assert_int_eq(tb_atomic_finish(&b), 0); /* finished but not committed */
  tb_atomic_abort(&a);
  tb_atomic_abort(&b);
  tb_atomic_abort(&b); /* twice: nothing */
  ck_assert_str_eq(listing(), "keep.csv");
  ck_assert_str_eq(content(in_dir("keep.csv")), "old\n");
  ck_assert_int_ne(tb_atomic_commit(&a), 0); /* after abort: refused */
}
END_TEST

/* A write that fails part way (the file size limit: EFBIG) leaves neither
 * the file nor a temporary, and the old file as it was. */
START_TEST(failed_write_leaves_nothing) {
  put(in_dir("out.csv"), "old\n");
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {4096, 4096};
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
  tb_atomic_t a;
  FILE *f = tb_atomic_open(in_dir("out.csv"), &a);
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < 10000; i++) fputs("0123456789abcdef\n", f);
  errno = 0;
  ck_assert_int_eq(tb_atomic_commit(&a), -1);
  ck_assert_int_eq(errno, EFBIG);
  ck_assert_str_eq(listing(), "out.csv");
  ck_assert_str_eq(content(in_dir("out.csv")), "old\n");
}
END_TEST

/* A rename that fails (the final name is a directory that is not empty)
 * leaves no temporary and the directory as it was. */
START_TEST(failed_rename_leaves_nothing) {
  ck_assert_int_eq(mkdir(in_dir("out.csv"), 0755), 0);
  put(in_dir("out.csv/inside"), "x");
  tb_atomic_t a;
  FILE *f = tb_atomic_open(in_dir("out.csv"), &a);
  ck_assert_ptr_nonnull(f);
  fputs("data\n", f);
  ck_assert_int_eq(tb_atomic_commit(&a), -1);
  ck_assert_str_eq(listing(), "out.csv");
  ck_assert_str_eq(content(in_dir("out.csv/inside")), "x");
  unlink(in_dir("out.csv/inside"));
}
END_TEST

START_TEST(open_fails_cleanly) {
  tb_atomic_t a;
  errno = 0;
  ck_assert_ptr_null(tb_atomic_open(in_dir("missing/out.csv"), &a));
  ck_assert_int_eq(errno, ENOENT);
  ck_assert_ptr_null(tb_atomic_open(in_dir(""), &a));
  ck_assert_int_eq(errno, EISDIR);
  tb_atomic_abort(&a);
  ck_assert_str_eq(listing(), "");
}
END_TEST

int main(void) {
  Suite *s = suite_create("atomic_file");
  TCase *tc = tcase_create("writes");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, commit_puts_whole_file);
  tcase_add_test(tc, commit_replaces_old_file);
  tcase_add_test(tc, abort_leaves_nothing);
  tcase_add_test(tc, failed_write_leaves_nothing);
  tcase_add_test(tc, failed_rename_leaves_nothing);
  tcase_add_test(tc, open_fails_cleanly);
  suite_add_tcase(s, tc);
  return tb_test_run(s, NULL); /* each test's directory goes in its teardown */
}
