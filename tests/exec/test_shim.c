/* test_shim.c: the drop-in libraries libtb-<design>.so. Runs shim_subject
 * with a library preloaded: the whole malloc family, C++ operator
 * new/delete, threads, fork from a multi-threaded parent, allocation after
 * main, pointers the library never handed out (abort naming the pointer),
 * double free at level 1, the statistics file at exit.
 * Usage: test_shim SUBJECT LIB_DEFAULT LIB_L1 LIB_L3 DESIGN [EMULATOR ARGS...]
 * (a cross build passes its emulator, which sets LD_PRELOAD for the guest). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb_testutil.h"

static const char *subject, *lib_def, *lib_l1, *lib_l3, *design;
static char **emu; /* a cross build's emulator command (NULL-terminated), or NULL */
static char dir[512];

/* Run the subject with lib preloaded (and env "K=V" or NULL); its wait
 * status; its stdout and stderr in out/err. */
static int run(const char *lib, const char *mode, const char *env, char *out, size_t olen, char *err, size_t elen) {
  char of[600], ef[600];
  snprintf(of, sizeof of, "%s/out", dir);
  snprintf(ef, sizeof ef, "%s/err", dir);
  pid_t c = fork();
  if (c == 0) {
    int o = open(of, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(ef, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0) _exit(126);
    dup2(o, 1);
    dup2(e, 2);
    if (emu) { /* the emulator sets the guest's environment (-E) */
      char pre[700], *av[64];
      int n = 0;
      snprintf(pre, sizeof pre, "LD_PRELOAD=%s", lib);
      for (int k = 0; emu[k] && n < 56; k++) av[n++] = emu[k];
      av[n++] = "-E", av[n++] = pre;
      if (env) av[n++] = "-E", av[n++] = (char *)env;
      av[n++] = (char *)subject, av[n++] = (char *)mode, av[n] = NULL;
      execvp(av[0], av);
      _exit(127);
    }
    setenv("LD_PRELOAD", lib, 1);
    if (env) putenv((char *)env);
    execl(subject, subject, mode, (char *)NULL);
    _exit(127);
  }
  int st = -1;
  waitpid(c, &st, 0);
  const char *files[2] = {of, ef};
  char *bufs[2] = {out, err};
  size_t lens[2] = {olen, elen};
  for (int k = 0; k < 2; k++) {
    bufs[k][0] = 0;
    FILE *f = fopen(files[k], "r");
    if (f) {
      size_t n = fread(bufs[k], 1, lens[k] - 1, f);
      bufs[k][n] = 0;
      fclose(f);
    }
  }
  return st;
}

static void expect_ok(const char *lib, const char *mode, const char *env) {
  char out[4096], err[4096];
  int st = run(lib, mode, env, out, sizeof out, err, sizeof err);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s with %s: status %d, stderr: %s", design, mode, lib, st,
                err);
  ck_assert_msg(strstr(err, "libtb") == NULL, "%s %s: library complained: %s", design, mode, err);
}

static void setup(void) { ck_assert(tb_test_tmpdir(dir, sizeof dir, "shim")); }
static void teardown(void) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(family_every_level) {
  const char *libs[3] = {lib_def, lib_l1, lib_l3};
  for (int i = 0; i < 3; i++) expect_ok(libs[i], "family", NULL);
}
END_TEST

START_TEST(cxx_new_delete) { expect_ok(lib_l1, "cxx", NULL); }
END_TEST

START_TEST(threads_locked) {
  expect_ok(lib_l1, "threads", NULL);
  expect_ok(lib_def, "threads", "TB_SHIM_LOCK=always");
}
END_TEST

START_TEST(fork_from_threads) {
  expect_ok(lib_l1, "fork", NULL);
  expect_ok(lib_def, "fork", NULL);
}
END_TEST

START_TEST(after_main) {
  char out[4096], err[4096];
  int st = run(lib_l1, "atexit", NULL, out, sizeof out, err, sizeof err);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, err);
  ck_assert_msg(strstr(out, "after main") != NULL, "stdout: %s", out);
}
END_TEST

/* The abort names the very pointer the subject printed. */
static void expect_abort(const char *lib, const char *mode, const char *what) {
  char out[4096], err[4096];
  int st = run(lib, mode, NULL, out, sizeof out, err, sizeof err);
  ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "%s %s with %s: status %d, stderr: %s", design, mode, lib,
                st, err);
  out[strcspn(out, "\n")] = 0;
  ck_assert_msg(out[0] && strstr(err, out) != NULL, "%s %s: pointer %s not named in: %s", design, mode, out, err);
  ck_assert_msg(strstr(err, what) != NULL, "%s %s: '%s' not in: %s", design, mode, what, err);
}

START_TEST(foreign_pointers_abort) {
  expect_abort(lib_def, "foreign", "not allocated by this library");
  expect_abort(lib_l1, "foreign", "free(");
  expect_abort(lib_def, "foreign-realloc", "realloc(");
}
END_TEST

START_TEST(double_free_level1) { expect_abort(lib_l1, "double-free", "double free"); }
END_TEST

START_TEST(stats_at_exit) {
  char env[700], out[4096], err[4096];
  snprintf(env, sizeof env, "TB_SHIM_STATS=%s", dir);
  int st = run(lib_def, "stats", env, out, sizeof out, err, sizeof err);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, err);
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *de;
  int files = 0;
  char text[8192] = "";
  while ((de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, "stats.", 6)) continue;
    files++;
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
  }
  closedir(d);
  ck_assert_int_eq(files, 1);
  char want[128];
  snprintf(want, sizeof want, "allocator %s\n", design);
  ck_assert_msg(strstr(text, want) != NULL, "%s", text);
  unsigned long long mallocs = 0, frees = 0;
  const char *m = strstr(text, "\nmallocs "), *f = strstr(text, "\nfrees ");
  ck_assert(m && f);
  ck_assert_int_eq(sscanf(m, "\nmallocs %llu", &mallocs), 1);
  ck_assert_int_eq(sscanf(f, "\nfrees %llu", &frees), 1);
  ck_assert_msg(mallocs >= 1000 && frees >= 1000 && mallocs < 100000, "mallocs %llu frees %llu", mallocs, frees);
}
END_TEST

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: test_shim SUBJECT LIB_DEFAULT LIB_L1 LIB_L3 DESIGN [EMULATOR ARGS...]\n");
    return 2;
  }
  subject = argv[1], lib_def = argv[2], lib_l1 = argv[3], lib_l3 = argv[4], design = argv[5];
  emu = argc > 6 ? argv + 6 : NULL;
  Suite *s = suite_create("shim");
  TCase *tc = tcase_create("shim");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, family_every_level);
  tcase_add_test(tc, cxx_new_delete);
  tcase_add_test(tc, threads_locked);
  tcase_add_test(tc, fork_from_threads);
  tcase_add_test(tc, after_main);
  tcase_add_test(tc, foreign_pointers_abort);
  tcase_add_test(tc, double_free_level1);
  tcase_add_test(tc, stats_at_exit);
  suite_add_tcase(s, tc);
  return tb_test_run(s, NULL);
}
