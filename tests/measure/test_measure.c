/* test_measure.c: the measurement backends on this machine: registry and
 * default choice, PAPI probing (software events counted, missing hardware
 * events NA with one notice, custom lists with failing events, every
 * thread counted), the timer, topology, profile validation errors, the
 * callgrind reader on a hand-written file, and simulated runs of a known
 * strided walk (exact miss differences) and their determinism. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "cachegrind.h"
#include "profiles.h"
#include "tb_papi.h"
#include "topology.h"
#include "tb_testutil.h"

/* ---- collecting emitted metrics ---------------------------------------- */

typedef struct {
  char name[64];
  double v;
  bool na;
  char unit[8];
} row_t;

typedef struct {
  row_t r[128];
  int n;
} rows_t;

static void collect(void *ctx, const char *metric, double value, bool na, const char *unit) {
  rows_t *rs = ctx;
  if (rs->n == 128) return;
  row_t *r = &rs->r[rs->n++];
  snprintf(r->name, sizeof r->name, "%s", metric);
  snprintf(r->unit, sizeof r->unit, "%s", unit);
  r->v = value;
  r->na = na;
}

static const row_t *find(const rows_t *rs, const char *name) {
  for (int i = 0; i < rs->n; i++)
    if (strcmp(rs->r[i].name, name) == 0) return &rs->r[i];
  return NULL;
}

/* Touch n fresh pages (each a first-touch page fault). */
static void touch_pages(size_t n) {
  long pg = sysconf(_SC_PAGESIZE);
  char *p = mmap(NULL, n * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ck_assert_ptr_ne(p, MAP_FAILED);
  for (size_t i = 0; i < n; i++) ((volatile char *)p)[i * (size_t)pg] = 1;
  munmap(p, n * (size_t)pg);
}

/* ---- registry and default ---------------------------------------------- */

START_TEST(registry) {
  const char *prof = "x";
  ck_assert_ptr_nonnull(tb_backend_find("timer"));
  ck_assert_ptr_nonnull(tb_backend_find("papi"));
  ck_assert_ptr_nonnull(tb_backend_find("cachegrind"));
  ck_assert_ptr_nonnull(tb_backend_find("memsim"));
  ck_assert_ptr_null(tb_backend_find("nope"));
  const tb_backend_t *b = tb_backend_lookup("cachegrind:neoverse-n1", &prof);
  ck_assert_ptr_eq(b, tb_backend_find("cachegrind"));
  ck_assert_str_eq(prof, "neoverse-n1");
  ck_assert_ptr_eq(tb_backend_lookup("timer", &prof), tb_backend_find("timer"));
  ck_assert_ptr_null(prof);
  size_t n = 0;
  while (tb_backend_at(n)) n++;
  ck_assert_uint_eq(n, 4);
  char why[256];
  ck_assert(tb_backend_find("timer")->available(why, sizeof why));
}
END_TEST

START_TEST(default_choice) {
  char choice[128], reason[512], why[512];
  tb_backend_default(choice, sizeof choice, reason, sizeof reason);
  ck_assert_msg(reason[0], "no reason given");
  bool hw = tb_papi_hw_cache_countable(why, sizeof why);
  if (hw) {
    ck_assert_str_eq(choice, "papi");
  } else {
    char cgwhy[256];
    bool cg = tb_backend_find("cachegrind")->available(cgwhy, sizeof cgwhy);
    ck_assert_str_eq(choice, cg ? "timer,cachegrind:host" : "timer");
    ck_assert_msg(strstr(reason, "cannot count") || strstr(reason, "without PAPI") || strstr(reason, "PAPI"),
                  "reason does not say why papi was not chosen: %s", reason);
  }
  fprintf(stderr, "[default backends here: %s -- %s]\n", choice, reason);
}
END_TEST

/* ---- timer -------------------------------------------------------------- */

START_TEST(timer_counts) {
  const tb_backend_t *b = tb_backend_find("timer");
  char err[256];
  ck_assert_ptr_null(b->open("zen3", 1, err, sizeof err)); /* takes no profile */
  tb_backend_inst_t *i = b->open(NULL, 1, err, sizeof err);
  ck_assert_ptr_nonnull(i);
  b->thread_begin(i, 0);
  b->window_begin(i);
  touch_pages(300);
  b->window_end(i);
  b->thread_end(i, 0);
  rows_t rs = {0};
  b->report(i, 100, collect, &rs);
  b->close(i);
  const row_t *w = find(&rs, "wall_time"), *wp = find(&rs, "wall_time_per_op"), *mf = find(&rs, "minor_faults");
  ck_assert(w && wp && mf && find(&rs, "max_rss"));
  ck_assert(!w->na && w->v > 0 && !strcmp(w->unit, "s"));
  ck_assert(!wp->na && wp->v == w->v / 100);
  ck_assert_msg(!mf->na && mf->v >= 300, "minor faults %g < 300 pages touched", mf->v);
  /* ops == 0: per-op values are NA, not 0 */
  i = b->open(NULL, 1, err, sizeof err);
  b->window_begin(i);
  b->window_end(i);
  rows_t r0 = {0};
  b->report(i, 0, collect, &r0);
  b->close(i);
  ck_assert(find(&r0, "wall_time_per_op")->na);
}
END_TEST

/* ---- papi --------------------------------------------------------------- */

#ifdef TB_HAVE_PAPI
/* A machine where PAPI counts nothing (its perf_event component disabled:
 * a VM without a PMU) must still open the backend, report every metric
 * NA, say why once, and survive threads; these tests take that branch
 * there and the counting branch elsewhere. */
static bool papi_counts_nothing(void) {
  char why[256];
  bool any = tb_papi_counts_anything(why, sizeof why);
  if (!any) fprintf(stderr, "[PAPI counts nothing here (%s): checking the all-NA path]\n", why);
  return !any;
}

/* Every metric row of rs that comes from an event (not papi_*) is NA. */
static void assert_all_events_na(const rows_t *rs) {
  int events = 0;
  for (int k = 0; k < rs->n; k++) {
    if (!strncmp(rs->r[k].name, "papi_", 5)) continue;
    ck_assert_msg(rs->r[k].na, "%s is %g, not NA, where PAPI counts nothing", rs->r[k].name, rs->r[k].v);
    events++;
  }
  ck_assert_int_gt(events, 0);
  ck_assert_int_eq((int)find(rs, "papi_threads_counted")->v, 0);
}

/* One window of the default papi metrics around `pages` page touches,
 * reported for 50 ops into *rs. */
static void papi_one_window(const tb_backend_t *b, int pages, rows_t *rs) {
  char err[512];
  tb_backend_inst_t *i = b->open(NULL, 1, err, sizeof err);
  ck_assert_msg(i != NULL, "papi open: %s", err);
  b->thread_begin(i, 0);
  b->window_begin(i);
  touch_pages(pages);
  b->window_end(i);
  b->thread_end(i, 0);
  b->report(i, 50, collect, rs);
  b->close(i);
}

START_TEST(papi_this_machine) {
  const tb_backend_t *b = tb_backend_find("papi");
  char why[512];
  bool hw = tb_papi_hw_cache_countable(why, sizeof why);
  if (papi_counts_nothing()) {
    ck_assert(!hw);
    ck_assert_msg(strstr(why, "cannot count anything here"), "why: %s", why);
    int before = tb_papi_notices_printed();
    for (int run = 0; run < 2; run++) { /* two runs: still one notice */
      rows_t rs = {0};
      papi_one_window(b, 20, &rs);
      ck_assert(find(&rs, "page_faults") && find(&rs, "l1d_misses") && find(&rs, "task_clock_per_op"));
      assert_all_events_na(&rs);
    }
    ck_assert_int_eq(tb_papi_notices_printed(), before + 1);
    ck_assert_msg(strstr(tb_papi_last_notice(), "PAPI can count nothing here (perf_event"), "notice: %s",
                  tb_papi_last_notice());
    char av[512];
    ck_assert(b->available(av, sizeof av));
    ck_assert_msg(strstr(av, "counts nothing here"), "available: %s", av);
    return;
  }
  for (int run = 0; run < 2; run++) { /* two runs: still one notice */
    rows_t rs = {0};
    papi_one_window(b, 200, &rs);
    const row_t *pf = find(&rs, "page_faults"), *tc = find(&rs, "task_clock"), *l1 = find(&rs, "l1d_misses");
    ck_assert(pf && tc && l1 && find(&rs, "papi_multiplexed"));
    ck_assert_msg(!pf->na && pf->v >= 200, "page faults %g (NA %d) for 200 touched pages", pf->v, pf->na);
    ck_assert(!find(&rs, "page_faults_per_op")->na && find(&rs, "page_faults_per_op")->v == pf->v / 50);
    ck_assert(!tc->na && tc->v > 0 && !strcmp(tc->unit, "s"));
    ck_assert_int_eq(l1->na, !hw);
    if (!hw) ck_assert_msg(l1->v == 0 || l1->na, "NA row"); /* value ignored when NA */
  }
  if (!hw) {
    ck_assert_int_eq(tb_papi_notices_printed(), 1);
    ck_assert_msg(strstr(tb_papi_last_notice(), "l1d_misses (PAPI_L1_DCM"), "notice: %s", tb_papi_last_notice());
    ck_assert(strstr(tb_papi_last_notice(), "dtlb_misses"));
    ck_assert(!strstr(tb_papi_last_notice(), "page_faults"));
  }
}
END_TEST

START_TEST(papi_some_events_fail) {
  const tb_backend_t *b = tb_backend_find("papi");
  char err[512];
  bool nothing = papi_counts_nothing();
  tb_backend_inst_t *i = b->open("perf::PAGE-FAULTS+TB_NO_SUCH_EVENT+perf::TASK-CLOCK", 1, err, sizeof err);
  ck_assert_msg(i != NULL, "open: %s", err);
  b->thread_begin(i, 0);
  touch_pages(64);
  b->thread_end(i, 0);
  rows_t rs = {0};
  b->report(i, 8, collect, &rs);
  char meta[1024];
  b->meta(i, meta, sizeof meta);
  b->close(i);
  ck_assert(find(&rs, "perf::PAGE-FAULTS") && find(&rs, "TB_NO_SUCH_EVENT") && find(&rs, "perf::TASK-CLOCK_per_op"));
  if (nothing) {
    assert_all_events_na(&rs);
    ck_assert_msg(strstr(meta, "\"perf::PAGE-FAULTS\":\"NA\""), "meta: %s", meta);
  } else {
    ck_assert(!find(&rs, "perf::PAGE-FAULTS")->na && find(&rs, "perf::PAGE-FAULTS")->v >= 64);
    ck_assert(!find(&rs, "perf::TASK-CLOCK")->na);
    ck_assert(find(&rs, "TB_NO_SUCH_EVENT")->na && find(&rs, "TB_NO_SUCH_EVENT_per_op")->na);
    ck_assert_msg(strstr(tb_papi_last_notice(), "TB_NO_SUCH_EVENT: no event of that name here"), "notice: %s",
                  tb_papi_last_notice());
    ck_assert_msg(strstr(meta, "\"TB_NO_SUCH_EVENT\":\"NA\""), "meta: %s", meta);
    /* nothing countable while PAPI counts: the list is the mistake, open fails */
    ck_assert_ptr_null(b->open("TB_NO_SUCH_A+TB_NO_SUCH_B", 1, err, sizeof err));
    ck_assert_msg(strstr(err, "no event can be counted"), "err: %s", err);
  }
  /* a malformed list is the caller's error everywhere */
  ck_assert_ptr_null(b->open("perf::PAGE-FAULTS++x", 1, err, sizeof err));
  ck_assert(strstr(err, "bad event list"));
}
END_TEST

typedef struct {
  const tb_backend_t *b;
  tb_backend_inst_t *i;
  int tid;
  pthread_barrier_t *bar;
} thr_t;

static void *thr_main(void *arg) {
  thr_t *t = arg;
  t->b->thread_begin(t->i, t->tid);
  pthread_barrier_wait(t->bar);
  touch_pages(150);
  t->b->thread_end(t->i, t->tid);
  return NULL;
}

START_TEST(papi_every_thread) {
  const tb_backend_t *b = tb_backend_find("papi");
  char err[512];
  bool nothing = papi_counts_nothing();
  tb_backend_inst_t *i = b->open("perf::PAGE-FAULTS", 3, err, sizeof err);
  ck_assert_msg(i != NULL, "open: %s", err);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, 3);
  pthread_t th[3];
  thr_t a[3];
  for (int k = 0; k < 3; k++) {
    a[k] = (thr_t){b, i, k, &bar};
    pthread_create(&th[k], NULL, thr_main, &a[k]);
  }
  for (int k = 0; k < 3; k++) pthread_join(th[k], NULL);
  pthread_barrier_destroy(&bar);
  rows_t rs = {0};
  b->report(i, 1, collect, &rs);
  b->close(i);
  if (nothing) {
    assert_all_events_na(&rs);
    return;
  }
  ck_assert_int_eq((int)find(&rs, "papi_threads_counted")->v, 3);
  ck_assert_msg(find(&rs, "perf::PAGE-FAULTS")->v >= 450, "faults %g < 3 x 150", find(&rs, "perf::PAGE-FAULTS")->v);
}
END_TEST
#endif

/* ---- topology ------------------------------------------------------------ */

START_TEST(topology) {
  char buf[8192], err[256];
  ck_assert_int_eq(tb_topology_json(buf, sizeof buf), 0);
  ck_assert(strstr(buf, "\"cpu_model\":") && strstr(buf, "\"caches\":[") && strstr(buf, "\"page_sizes\":["));
  bool caches = strstr(buf, "\"caches\":[{") != NULL;
  ck_assert_int_ne(tb_topology_json(buf, 16), 0); /* too small: an error, not a cut fragment */
  tb_profile_t host;
#ifndef TB_HAVE_HWLOC
  /* Without hwloc the caches come from sysfs, which some kernels do not
   * fill (seen: a VM whose /sys/devices/system/cpu/cpu0 has no cache/;
   * hwloc reads CPUID there). Then the list is empty, not invented, and
   * the host profile fails with a message naming what is missing. */
  if (access("/sys/devices/system/cpu/cpu0/cache/index0", F_OK) != 0) {
    ck_assert_msg(!caches, "sysfs has no caches, yet the JSON lists some");
    ck_assert_int_ne(tb_topology_profile(&host, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "sysfs reports no") && strstr(err, "cache here"), "%s", err);
    ck_assert_int_eq(tb_topology_pin(0, err, sizeof err), 0);
    return;
  }
#endif
  ck_assert_msg(caches, "the topology JSON lists no cache");
  ck_assert_msg(tb_topology_profile(&host, err, sizeof err) == 0, "%s", err);
  ck_assert(host.l1d.size >= 1024 && host.l1d.line >= 16 && host.l2.size > host.l1d.size);
  ck_assert_int_eq(tb_topology_pin(0, err, sizeof err), 0);
  ck_assert_int_ne(tb_topology_pin(tb_topology_cores(), err, sizeof err), 0);
  ck_assert(strstr(err, "no core of its own") || strstr(err, "no CPU of its own"));
}
END_TEST

/* ---- profiles ------------------------------------------------------------ */

START_TEST(shipped_profiles) {
  tb_profile_t *v;
  size_t n;
  char err[512];
  ck_assert_msg(tb_profiles_load(TB_TEST_PROFILES, &v, &n, err, sizeof err) == 0, "%s", err);
  const char *want[] = {"zen3", "skylake", "neoverse-n1", "cortex-a72", "apple-m1-p"};
  for (size_t w = 0; w < 5; w++) {
    size_t i;
    for (i = 0; i < n && strcmp(v[i].name, want[w]); i++) {}
    ck_assert_msg(i < n, "profile %s missing", want[w]);
    ck_assert_msg(tb_profile_check_valgrind(&v[i], err, sizeof err) == 0, "%s", err);
    ck_assert(v[i].source[0] && v[i].ntlb >= 1);
    if (!strcmp(want[w], "apple-m1-p")) ck_assert(v[i].l1d.line == 128 && v[i].page == 16384 && v[i].tlb[0].page == 16384);
  }
  free(v);
}
END_TEST

/* Write text to a fresh file; returns its path (static buffer). */
static const char *write_tmp(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/tb-measure-test-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

#define GOOD "cpu = t\narch = x86_64\npage = 4K\nl1i = size=32K ways=8 line=64\nl1d = size=32K ways=8 line=64\nl2 = size=256K ways=4 line=64\nsource = s\n"

/* Load text; expect failure with "PATH:LINE: ...needle...". */
static void expect_error(const char *text, int line, const char *needle) {
  const char *p = write_tmp(text);
  tb_profile_t *v;
  size_t n;
  char err[512], prefix[128];
  int rc = tb_profiles_load(p, &v, &n, err, sizeof err);
  unlink(p);
  ck_assert_msg(rc != 0, "accepted a bad file (expected '%s')", needle);
  snprintf(prefix, sizeof prefix, "%s:%d: ", p, line);
  ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, needle), "got '%s', want '%s...%s'", err, prefix,
                needle);
}

START_TEST(profile_errors) {
  expect_error("[a]\n" GOOD "colour = blue\n", 9, "unknown key 'colour'");
  expect_error("[a]\n" GOOD "[b]\ncpu = x\n", 9, "profile 'b' has no 'arch'");
  expect_error("[a]\n" GOOD "[a]\n" GOOD, 9, "already defined at line 1");
  expect_error("[host]\n" GOOD, 1, "'host' is reserved");
  expect_error("[Bad Name]\n" GOOD, 1, "bad profile name");
  expect_error("cpu = x\n", 1, "before any [profile] header");
  expect_error("[a]\n" GOOD "l3 = size=8M ways=16 line=48\n", 9, "not a power of two");
  expect_error("[a]\n" GOOD "l3 = size=8M ways=zero line=64\n", 9, "bad ways 'zero'");
  expect_error("[a]\n" GOOD "l3 = size=8M ways=16\n", 9, "missing field 'line'");
  expect_error("[a]\n" GOOD "l3 = size=6M ways=7 line=64\n", 9, "do not divide into 7 ways");
  expect_error("[a]\n" GOOD "l1d = size=64K ways=4 line=64\n", 9, "'l1d' given twice");
  expect_error("[a]\n" GOOD "tlb.l1 = entries=64 ways=4 page=3K\n", 9, "page size '3K'");
  expect_error("[a]\n" GOOD "page = 4k\n", 9, "given twice"); /* duplicate before value check */
  expect_error("[a]\n" GOOD "arch = sparc\n", 9, "given twice");
  expect_error("[a]\ncpu = t\narch = mips\n", 3, "arch 'mips'");
  expect_error("# nothing\n", 1, "no profiles defined");
}
END_TEST

START_TEST(profile_valgrind_constraints) {
  /* valid hardware geometry that valgrind cannot simulate: 48K / 4 ways /
   * 64 B = 192 sets (not a power of two), and a level with unknown ways */
  const char *p = write_tmp("[odd]\ncpu = t\narch = aarch64\npage = 4K\nl1i = size=32K ways=8 line=64\n"
                            "l1d = size=48K ways=4 line=64\nl2 = size=1M ways=unknown line=64\nsource = s\n");
  tb_profile_t *v;
  size_t n;
  char err[512], want[128];
  ck_assert_msg(tb_profiles_load(p, &v, &n, err, sizeof err) == 0, "%s", err);
  ck_assert_int_ne(tb_profile_check_valgrind(&v[0], err, sizeof err), 0);
  snprintf(want, sizeof want, "%s:6: profile 'odd': l1d (D1)", p);
  ck_assert_msg(strstr(err, want) && strstr(err, "192 sets") && strstr(err, "power-of-two"), "got '%s'", err);
  v[0].l1d.size = 32768; /* fix D1: LL (l2, unknown ways) is next */
  ck_assert_int_ne(tb_profile_check_valgrind(&v[0], err, sizeof err), 0);
  ck_assert_msg(strstr(err, ":7: profile 'odd': l2 (LL) has unknown ways"), "got '%s'", err);
  free(v);
  /* unknown profile name through the backend */
  setenv("TB_PROFILES", p, 1);
  char e2[512];
  tb_backend_inst_t *i = tb_backend_find("cachegrind")->open("odd", 1, e2, sizeof e2);
  ck_assert_ptr_null(i);
  i = tb_backend_find("cachegrind")->open("nope", 1, e2, sizeof e2);
  ck_assert_ptr_null(i);
  char why[256];
  if (tb_backend_find("cachegrind")->available(why, sizeof why))
    ck_assert_msg(strstr(e2, "unknown profile 'nope' (known: host, odd)"), "%s", e2);
  else /* this build or machine cannot simulate: open says why */
    ck_assert_msg(strstr(e2, why), "'%s' does not say '%s'", e2, why);
  /* the profile lookup itself, independent of valgrind */
  tb_profile_t q;
  ck_assert_int_ne(tb_profile_get("nope", &q, e2, sizeof e2), 0);
  ck_assert_msg(strstr(e2, "unknown profile 'nope' (known: host, odd)"), "%s", e2);
  unsetenv("TB_PROFILES");
  unlink(p);
}
END_TEST

/* ---- callgrind reader on a hand-written file -------------------------------- */

START_TEST(callgrind_reader) {
  /* main (harness) calls xmalloc (allocators/) which calls memset (libc),
   * and tb_touch_write (harness/touch.h, not inlined here: program) which
   * calls memset too;
   * positions: line; events as --cache-sim=yes writes them. */
  const char *p = write_tmp("# callgrind format\nversion: 1\npositions: line\n"
                            "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nsummary: 0\n\n"
                            "fl=(1) /src/harness/replay.c\nfn=(1) main\n10 100 40 20 1 5 2 1 3 1\n"
                            "cfi=(2) /src/allocators/x/x.c\ncfn=(2) xmalloc\ncalls=4 20\n10 90 30 30 0 6 6 0 2 1\n\n"
                            "fl=(2)\nfn=(2)\n20 50 10 10 0 2 1 0 1 0\n"
                            "cfi=(3) ???\ncfn=(3) memset\ncalls=4 0\n21 40 0 20 0 0 5 0 0 1\n"
                            "fl=(3)\nfn=(3)\n0 40 0 20 0 0 5 0 0 1\n"
                            "fl=(1)\nfn=(4) other\nfi=(2)\n30 7 1 0 0 1 0 0 0 0\nfe=(1)\n31 3 1 1\n"
                            "cfi=(4) /src/harness/touch.h\ncfn=(5) tb_touch_write\ncalls=1 5\n32 26 0 12 0 0 4 0 0 2\n\n"
                            "fl=(4)\nfn=(5)\n5 6 0 2 0 0 1 0 0 1\n"
                            "cfi=(3)\ncfn=(3)\ncalls=1 0\n6 20 0 10 0 0 3 0 0 1\n"
                            "fl=(3)\nfn=(3)\n0 20 0 10 0 0 3 0 0 1\n\n"
                            "totals: 226 52 63 1 8 12 1 4 4\n");
  tb_cg_result_t r;
  char err[512];
  int rc = tb_callgrind_parse(p, "/allocators/", "/touch.h", &r, err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  /* total = self costs: 100 + 50 + 40 + 7 + 3 + 6 + 20 */
  ck_assert_uint_eq(r.total.ir, 226);
  ck_assert_uint_eq(r.total.d1mr, 8);
  /* allocator: xmalloc self (50) + its call to memset (40) + the inlined
   * allocator line in other (7); main's call to xmalloc is not added twice */
  ck_assert_uint_eq(r.alloc.ir, 97);
  ck_assert_uint_eq(r.alloc.dr, 11);
  ck_assert_uint_eq(r.alloc.dw, 30);
  ck_assert_uint_eq(r.alloc.d1mr, 3);
  ck_assert_uint_eq(r.alloc.d1mw, 6);
  ck_assert_uint_eq(r.alloc.dlmr, 1);
  ck_assert_uint_eq(r.alloc.dlmw, 1);
  /* program: tb_touch_write's self (6) and its call to memset (20); the
   * harness's call into it is not added again */
  ck_assert_uint_eq(r.program.ir, 26);
  ck_assert_uint_eq(r.program.dw, 12);
  ck_assert_uint_eq(r.program.d1mw, 4);
  ck_assert_uint_eq(r.program.dlmw, 2);
  ck_assert_uint_eq(r.program.d1mr, 0);
  /* harness: the rest (main's 100, other's 3), the parts add up */
  ck_assert_uint_eq(r.harness.ir, 103);
  ck_assert_uint_eq(r.harness.d1mr, 5);
  ck_assert_uint_eq(r.alloc.dw + r.harness.dw + r.program.dw, r.total.dw);
  ck_assert_uint_eq(r.alloc.d1mw + r.harness.d1mw + r.program.d1mw, r.total.d1mw);
  unlink(p);
  /* as the build has it: touch.h's code inlined into the loop (fi=), with
   * a call to memset from the inlined lines, charged to the program */
  p = write_tmp("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=(1) /src/harness/replay.c\nfn=(1) loop\n"
                "10 10 5\nfi=(2) /src/harness/touch.h\n4 4 2 0 0 1\ncfi=(3) ???\ncfn=(3) memset\ncalls=1 0\n"
                "5 6 0 3 0 0 2\nfe=(1)\n11 2 1\nfl=(3)\nfn=(3)\n0 6 0 3 0 0 2\ntotals: 22 8 3 0 1 2\n");
  ck_assert_msg(tb_callgrind_parse(p, "/allocators/", "/touch.h", &r, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(r.program.ir, 10);
  ck_assert_uint_eq(r.program.dr, 2);
  ck_assert_uint_eq(r.program.dw, 3);
  ck_assert_uint_eq(r.program.d1mr, 1);
  ck_assert_uint_eq(r.program.d1mw, 2);
  ck_assert_uint_eq(r.harness.ir, 12);
  ck_assert_uint_eq(r.harness.dr, 6);
  ck_assert_uint_eq(r.alloc.ir, 0);
  unlink(p);
  /* without a program marker touch.h is harness code */
  p = write_tmp("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=(1) /src/harness/touch.h\nfn=(1) f\n1 5 1 1\n");
  ck_assert_msg(tb_callgrind_parse(p, "/allocators/", NULL, &r, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(r.program.ir, 0);
  ck_assert_uint_eq(r.harness.ir, 5);
  unlink(p);
  /* parts above the total (an inclusive call cost larger than everything
   * the file holds) are refused, not reported */
  p = write_tmp("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=(1) /a/allocators/x.c\nfn=(1) f\n1 10\n"
                "cfi=(2) ???\ncfn=(2) g\ncalls=1 0\n1 500\nfl=(2)\nfn=(2)\n1 5\n");
  ck_assert_int_ne(tb_callgrind_parse(p, "/allocators/", "/touch.h", &r, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "exceed the total"), "%s", err);
  unlink(p);
  /* a name that starts with '(' is a name, not a compressed id */
  p = write_tmp("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=(1) a.c\nfn=(below main)\n1 5 1 1\n"
                "cfn=(below main)\ncalls=1 0\n1 2\ntotals: 5 1 1\n");
  rc = tb_callgrind_parse(p, "/allocators/", "/touch.h", &r, err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_uint_eq(r.total.ir, 5);
  unlink(p);
  /* errors name the file and line */
  p = write_tmp("version: 1\nevents: Ir Dr Dw\n1 2 3\n");
  ck_assert_int_ne(tb_callgrind_parse(p, "/allocators/", "/touch.h", &r, err, sizeof err), 0);
  ck_assert_msg(strstr(err, ":2: no D1mr event"), "%s", err);
  unlink(p);
  p = write_tmp("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=(1) a.c\nfn=(1) f\n1 5 x\n");
  ck_assert_int_ne(tb_callgrind_parse(p, "/allocators/", "/touch.h", &r, err, sizeof err), 0);
  ck_assert_msg(strstr(err, ":4: bad cost line"), "%s", err);
  unlink(p);
  p = write_tmp("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=(1) a.c\nfn=(1) f\n1 5\ntotals: 6\n");
  ck_assert_int_ne(tb_callgrind_parse(p, "/allocators/", "/touch.h", &r, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "add up to 5 Ir but totals: says 6"), "%s", err);
  unlink(p);
}
END_TEST

/* ---- simulated runs ------------------------------------------------------------ */

#ifdef TB_CG_STRIDE
static const char *sim_profiles(void) {
  static char path[64];
  if (!path[0]) {
    const char *p = write_tmp("# D1 32 KiB: a 64 KiB array never stays; LL 1 MiB: it does\n"
                              "[small-d1]\ncpu = test\narch = x86_64\npage = 4K\n"
                              "l1i = size=32K ways=8 line=64\nl1d = size=32K ways=8 line=64\n"
                              "l2 = size=1M ways=16 line=64\nsource = test\n"
                              "# D1 128 KiB: the array stays after the first pass\n"
                              "[big-d1]\ncpu = test\narch = x86_64\npage = 4K\n"
                              "l1i = size=32K ways=8 line=64\nl1d = size=128K ways=8 line=64\n"
                              "l2 = size=1M ways=16 line=64\nsource = test\n");
    snprintf(path, sizeof path, "%s", p);
  }
  return path;
}

static tb_cg_result_t walk(const char *profile, int passes) {
  char pass[16], err[2048];
  snprintf(pass, sizeof pass, "%d", passes);
  char *const argv[] = {TB_CG_STRIDE, "walk", "65536", pass, NULL};
  setenv("TB_PROFILES", sim_profiles(), 1);
  tb_cg_result_t r;
  int rc = tb_callgrind_run(profile, argv, "cg_stride_walk.c", NULL, &r, err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  return r;
}

START_TEST(stride_walk_misses) {
  /* 65536 B / 64 B = 1024 lines per pass, all written before the window.
   * The simulation runs from the program's start, so the caches are warm:
   * D1 32 KiB LRU holds the array's second half when the window opens and
   * the walk from the start evicts it before it gets there, so every read
   * misses on every pass; LL 1 MiB holds the whole array, so no read
   * misses LL at all (with cold caches, as before the simulation ran from
   * the start, the first pass missed LL 1024 times). The walk's file makes
   * no other data accesses that could miss, so the counts are exact. */
  tb_cg_result_t r1 = walk("small-d1", 1), r2 = walk("small-d1", 2), r3 = walk("small-d1", 3);
  ck_assert_uint_eq(r2.alloc.d1mr - r1.alloc.d1mr, 1024);
  ck_assert_uint_eq(r3.alloc.d1mr - r2.alloc.d1mr, 1024);
  ck_assert_msg(r1.alloc.d1mr >= 1024 && r1.alloc.d1mr < 1024 + 8, "first pass D1 misses %llu",
                (unsigned long long)r1.alloc.d1mr);
  ck_assert_msg(r1.alloc.dlmr == 0 && r3.alloc.dlmr == 0, "LL misses %llu and %llu: the array was in LL",
                (unsigned long long)r1.alloc.dlmr, (unsigned long long)r3.alloc.dlmr);
  ck_assert_uint_eq(r2.alloc.dr - r1.alloc.dr, 1024);
  /* the split: the walk's reads are in the marked file, not in "other" */
  ck_assert(r1.total.d1mr - r1.alloc.d1mr < 16);
  /* D1 128 KiB: the array is in D1 when the window opens: no misses */
  tb_cg_result_t b1 = walk("big-d1", 1), b3 = walk("big-d1", 3);
  ck_assert_msg(b1.alloc.d1mr == 0 && b3.alloc.d1mr == 0, "D1 misses %llu and %llu: the array was in D1",
                (unsigned long long)b1.alloc.d1mr, (unsigned long long)b3.alloc.d1mr);
  ck_assert_uint_eq(b3.alloc.dr - b1.alloc.dr, 2048);
  fprintf(stderr, "[stride walk, D1 32K: %llu/%llu/%llu D1 misses for 1/2/3 passes, %llu LL misses; D1 128K: %llu]\n",
          (unsigned long long)r1.alloc.d1mr, (unsigned long long)r2.alloc.d1mr, (unsigned long long)r3.alloc.d1mr,
          (unsigned long long)r1.alloc.dlmr, (unsigned long long)b3.alloc.d1mr);
}
END_TEST

START_TEST(simulation_deterministic) {
  char err[2048];
  char *const argv[] = {TB_CG_STRIDE, "mix", "3000", NULL};
  tb_cg_result_t a, b;
  unsetenv("TB_PROFILES"); /* the shipped profiles */
  ck_assert_msg(tb_callgrind_run("neoverse-n1", argv, "cg_stride_main.c", NULL, &a, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(tb_callgrind_run("neoverse-n1", argv, "cg_stride_main.c", NULL, &b, err, sizeof err) == 0, "%s", err);
  ck_assert(a.total.ir > 3000 && a.total.d1mr > 0);
  ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "runs differ: D1 misses %llu vs %llu, LL %llu vs %llu",
                (unsigned long long)a.total.d1mr, (unsigned long long)b.total.d1mr, (unsigned long long)a.total.dlmr,
                (unsigned long long)b.total.dlmr);
  fprintf(stderr, "[determinism, neoverse-n1: D1 misses %llu and %llu, LL misses %llu and %llu]\n",
          (unsigned long long)a.total.d1mr + a.total.d1mw, (unsigned long long)b.total.d1mr + b.total.d1mw,
          (unsigned long long)a.total.dlmr + a.total.dlmw, (unsigned long long)b.total.dlmr + b.total.dlmw);
}
END_TEST
#endif

int main(void) {
  Suite *s = suite_create("measure");
  TCase *tc = tcase_create("backends");
  tcase_add_test(tc, registry);
  tcase_add_test(tc, default_choice);
  tcase_add_test(tc, timer_counts);
#ifdef TB_HAVE_PAPI
  tcase_add_test(tc, papi_this_machine);
  tcase_add_test(tc, papi_some_events_fail);
  tcase_add_test(tc, papi_every_thread);
#endif
  tcase_add_test(tc, topology);
  suite_add_tcase(s, tc);
  tc = tcase_create("profiles");
  tcase_add_test(tc, shipped_profiles);
  tcase_add_test(tc, profile_errors);
  tcase_add_test(tc, profile_valgrind_constraints);
  tcase_add_test(tc, callgrind_reader);
  suite_add_tcase(s, tc);
#ifdef TB_CG_STRIDE
  char why[256];
  if (tb_backend_find("cachegrind")->available(why, sizeof why)) {
    tc = tcase_create("simulated");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, stride_walk_misses);
    tcase_add_test(tc, simulation_deterministic);
    suite_add_tcase(s, tc);
  } else {
    fprintf(stderr, "test_measure: simulated tests skipped: %s\n", why);
  }
#endif
  return tb_test_run(s, NULL);
}
