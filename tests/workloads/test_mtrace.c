/* test_mtrace.c: the mtrace importer on a real log: the test compiles a
 * small C program, runs it under glibc's tracer (LD_PRELOAD of
 * libc_malloc_debug.so.0, needed since glibc 2.34, and MALLOC_TRACE), and
 * imports what glibc wrote; then repairs and malformed logs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import.h"
#include "trace.h"
#include "tb_testutil.h"

static char dir[256];
static const char *cc = "cc";
static char emu[512]; /* cross builds: the emulator command line, or "" */

static const char *tmp(const char *name) {
  static char buf[8][512];
  static int k;
  char *b = buf[k++ % 8];
  snprintf(b, 512, "%s/%s", dir, name);
  return b;
}

static void put_file(const char *path, const char *s) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(s, f);
  fclose(f);
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static const char program[] =
    "#include <mcheck.h>\n#include <stdlib.h>\n#include <string.h>\n"
    "int main(void) {\n"
    "  void *a[40];\n"
    "  mtrace();\n"
    "  for (int i = 0; i < 40; i++) a[i] = malloc(16 + 8 * i);\n"
    "  for (int i = 0; i < 40; i += 2) free(a[i]);\n"
    "  for (int i = 1; i < 40; i += 2) a[i] = realloc(a[i], 2000 + i);\n"
    "  void *c = calloc(10, 10), *al = aligned_alloc(64, 128);\n"
    "  memset(c, 1, 100);\n"
    "  free(c); free(al);\n"
    "  for (int i = 1; i < 40; i += 2) free(a[i]);\n"
    "  muntrace();\n"
    "  return 0;\n"
    "}\n";

START_TEST(real_mtrace_log) {
  char cmd[2048], err[512];
  put_file(tmp("p.c"), program);
  snprintf(cmd, sizeof cmd, "%s -O0 -o %s %s", cc, tmp("p"), tmp("p.c"));
  ck_assert_msg(system(cmd) == 0, "cannot compile the traced program: %s", cmd);
  if (emu[0]) /* the variables must reach the emulated program, not the emulator */
    snprintf(cmd, sizeof cmd, "%s -E MALLOC_TRACE=%s -E LD_PRELOAD=libc_malloc_debug.so.0 %s", emu, tmp("log"), tmp("p"));
  else
    snprintf(cmd, sizeof cmd, "MALLOC_TRACE=%s LD_PRELOAD=libc_malloc_debug.so.0 %s", tmp("log"), tmp("p"));
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_msg(exists(tmp("log")), "glibc wrote no mtrace log (libc_malloc_debug.so.0 missing?)");
  tb_import_stats_t st;
  ck_assert_msg(tb_import_mtrace(tmp("log"), tmp("t.txt"), TB_TRACE_TEXT, TB_COMPRESS_NONE, &st, err, sizeof err) == 0,
                "%s", err);
  /* 40 mallocs, 20 frees, 20 reallocs, calloc + aligned + 2 frees, 20 frees:
   * at least those (stdio may add its own buffers). */
  ck_assert_uint_ge(st.ops, 104);
  tb_trace_t t;
  ck_assert_msg(tb_trace_load(tmp("t.txt"), &t, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(t.nthreads, 1);
  uint64_t reallocs = 0, frees = 0, mallocs = 0;
  bool big_realloc = false;
  for (size_t i = 0; i < t.nops[0]; i++) {
    const tb_op_t *op = &t.ops[0][i];
    reallocs += op->code == TB_OP_REALLOC;
    frees += op->code == TB_OP_FREE;
    mallocs += op->code == TB_OP_MALLOC;
    big_realloc = big_realloc || (op->code == TB_OP_REALLOC && op->arg == 2001);
  }
  ck_assert_uint_eq(reallocs, 20);
  ck_assert(big_realloc);
  ck_assert_uint_ge(mallocs, 42);
  ck_assert_uint_ge(frees, 42);
  /* Freed ids are reused: fewer ids than allocations. */
  ck_assert_uint_lt(t.nobjects, mallocs);
  tb_trace_free(&t);
}
END_TEST

START_TEST(repairs) {
  char err[512];
  put_file(tmp("r.log"),
           "= Start\n"
           "@ ./x:[0x1] + 0x1000 0x10\n"
           "- 0x5000\n"            /* allocated before tracing: dropped */
           "+ 0x1000 0x20\n"       /* reuse of a live address: free inserted */
           "@ ./x:[0x2] < 0x1000\n"
           "@ ./x:[0x2] > 0x2000 0x40\n"
           "! 0x2000 0x99999999\n" /* failed realloc: nothing */
           "- 0x2000\n"
           "- (nil)\n"
           "= End\n");
  tb_import_stats_t st;
  ck_assert_msg(tb_import_mtrace(tmp("r.log"), tmp("r.txt"), TB_TRACE_TEXT, TB_COMPRESS_NONE, &st, err, sizeof err) == 0,
                "%s", err);
  ck_assert_uint_eq(st.dropped_frees, 1);
  ck_assert_uint_eq(st.reused_live, 1);
  ck_assert_uint_eq(st.failed_reallocs, 1);
  FILE *f = fopen(tmp("r.txt"), "r");
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  const char *body = strstr(buf, "0 malloc");
  ck_assert_ptr_nonnull(body);
  ck_assert_str_eq(body, "0 malloc 0 16\n0 free 0\n0 malloc 0 32\n0 realloc 0 64\n0 free 0\n");
}
END_TEST

static const struct {
  const char *log;
  int line;
} bad[] = {
    {"", 1},
    {"+ 0x10 0x10\n", 1},
    {"= Start\n+ 0x10\n= End\n", 2},
    {"= Start\n? 0x10 0x10\n", 2},
    {"= Start\n+ zz 0x10\n", 2},
    {"= Start\n+ 0x10 0x10 junk\n", 2},
    {"= Start\n+ 0x10 0x10\n< 0x10\n- 0x10\n", 4},
    {"= Start\n> 0x10 0x10\n", 2},
    {"= Start\n+ 0x10 0x10\n< 0x10\n", 3},
    {"= Bogus\n", 1},
};

START_TEST(bad_logs) {
  char err[512], want[600];
  put_file(tmp("bad.log"), bad[_i].log);
  unlink(tmp("bad.tbt"));
  tb_import_stats_t st;
  ck_assert_int_ne(tb_import_mtrace(tmp("bad.log"), tmp("bad.tbt"), TB_TRACE_BINARY, TB_COMPRESS_NONE, &st, err, sizeof err),
                   0);
  snprintf(want, sizeof want, "%s:%d: ", tmp("bad.log"), bad[_i].line);
  ck_assert_msg(!strncmp(err, want, strlen(want)), "case %d: '%s' should start with '%s'", _i, err, want);
  ck_assert(!exists(tmp("bad.tbt")));
}
END_TEST

int main(int argc, char **argv) {
  if (argc > 1) cc = argv[1];
  for (int i = 2; i < argc; i++) {
    size_t l = strlen(emu);
    snprintf(emu + l, sizeof emu - l, "%s%s", i > 2 ? " " : "", argv[i]);
  }
  if (!tb_test_tmpdir(dir, sizeof dir, "mtrace")) return 1;
  Suite *s = suite_create("mtrace");
  TCase *tc = tcase_create("import");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, real_mtrace_log);
  tcase_add_test(tc, repairs);
  tcase_add_loop_test(tc, bad_logs, 0, (int)(sizeof bad / sizeof bad[0]));
  suite_add_tcase(s, tc);
  return tb_test_run(s, dir);
}
