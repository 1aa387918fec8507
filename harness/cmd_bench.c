/* cmd_bench.c: `testbed bench seed`: the six microbenchmarks of the
 * original article (one_alloc, one_alloc_fast, hundred_fifo, hundred_lifo,
 * realloc_inplace, realloc_copy), run side by side with glibc.
 *
 * Fairness: every allocator, glibc included, is called through its
 * tb_allocator_t table (the same indirect call for all); the designs are
 * the check level 0 copies; within each round every benchmark runs for
 * every allocator in turn (glibc first), so drift of the machine hits all
 * alike; the ratio to glibc is taken per round and its median over rounds
 * is reported, with the median ns per operation. Time is the thread's CPU
 * time (see now_ns).
 *
 * Peers (jemalloc, mimalloc, tcmalloc: allocators/peers/tb_peers.h) run
 * only as a process's own malloc, so each gets a server process: this
 * command again as `bench seed --serve NAME`, started with the peer's
 * library preloaded (its exec_env), which creates the peer's heap (and
 * fails loudly when the preload did not take effect) and runs each
 * measurement the parent asks for over a pipe, in the same turn of the
 * same round as the others, timing itself the same way. While one
 * process measures the others wait in read(), taking no CPU.
 *
 * --adapter-check measures what the adapter costs: for glibc (in this
 * process) and each peer (in its server) every benchmark three ways, the
 * order rotating from round to round: through the allocator's own ops
 * table (the adapter: what bench and run measure), through glibc's ops
 * table in the same process (the system allocator adapter: how the
 * testbed measures the process's malloc, which in a peer's server is the
 * preloaded peer), and as a plain loop calling malloc/free/realloc
 * directly (bench_seed.inc, compiled both ways). It prints the median
 * per-round ratios adapter / system (what a peer's path adds to its
 * library preloaded and measured as glibc is; for glibc itself the same
 * table twice, so its ratio shows the method's noise) and adapter /
 * plain (the cost of calling through an ops table at all, which every
 * allocator pays, the designs included).
 *
 * Operations (what ns_per_op divides by):
 *   one_alloc, one_alloc_fast   one malloc(1) + its free
 *   hundred_fifo, hundred_lifo  one malloc(1..99) + its free
 *   realloc_inplace             one realloc step (+8 bytes)
 *   realloc_copy                one realloc step plus the 1-byte malloc
 *                               between steps (and its free at the end)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plan.h"
#include "tb_alloc.h"
#include "tb_cli.h"

#define BENCH_MAX_ENTRIES 32
#define BENCH_DEFAULT_ROUNDS 31
#define BENCH_MAX_ROUNDS 100000

typedef struct bench_entry_s {
  const tb_allocator_t *a;
  tb_heap_t *h;     /* NULL for a peer: its heap is in its server */
  const char *mode; /* single, locked, system, preload (a peer in its server) */
  pid_t pid;        /* a peer's server, else 0 */
  FILE *to, *from;  /* its pipes */
} bench_entry_t;

/* A benchmark: runs `reps` repetitions on heap h; returns operations done,
 * or -1 if the allocator failed. */
typedef long (*bench_fn_t)(const tb_allocator_t *a, tb_heap_t *h, long reps);

/* BK: the pointer goes through an empty asm, so the compiler can neither
 * drop a malloc/free pair of the plain loop nor see through it. */
#define BK(p) __asm__ volatile("" : "+r"(p))
#define BN(x) x
#define BM(n) a->malloc(h, n)
#define BF(p) a->free(h, p)
#define BR(p, n) a->realloc(h, p, n)
#define BUNUSED (void)0
#include "bench_seed.inc"
#undef BN
#undef BM
#undef BF
#undef BR
#undef BUNUSED
#define BN(x) x##_plain
#define BM(n) malloc(n)
#define BF(p) free(p)
#define BR(p, n) realloc(p, n)
#define BUNUSED (void)a, (void)h
#include "bench_seed.inc"

static const struct {
  const char *name;
  bench_fn_t fn, plain; /* through the ops table; the plain loop */
  long reps; /* per measurement: about 100k-200k operations */
} benches[] = {
    {"one_alloc", b_one_alloc, b_one_alloc_plain, 200000},
    {"one_alloc_fast", b_one_alloc_fast, b_one_alloc_fast_plain, 200000},
    {"hundred_fifo", b_hundred_fifo, b_hundred_fifo_plain, 2000},
    {"hundred_lifo", b_hundred_lifo, b_hundred_lifo_plain, 2000},
    {"realloc_inplace", b_realloc_inplace, b_realloc_inplace_plain, 1000},
    {"realloc_copy", b_realloc_copy, b_realloc_copy_plain, 1000},
};
#define NBENCH (sizeof benches / sizeof benches[0])

/* The CPU time of this thread, not wall time: on a shared machine another
 * process that takes the CPU during a measurement would otherwise be
 * counted, and because every round runs the same sequence of measurements
 * with the same durations, the interruptions can lock into phase with it
 * and hit the same allocator in every round (seen: one allocator 3x slower
 * in all 31 rounds of one run and not in the next), which no median
 * removes. The clock is read twice per measurement of 100k+ operations. */
static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Per round num[r] / den[r] (measured in the same round): the median, and
 * the least and greatest in *lo, *hi. tmp holds nr doubles (scratch). */
static double round_ratios(const double *num, const double *den, size_t nr, double *tmp, double *lo, double *hi) {
  for (size_t r = 0; r < nr; r++) tmp[r] = num[r] / den[r];
  *lo = *hi = tmp[0];
  for (size_t r = 1; r < nr; r++) {
    if (tmp[r] < *lo) *lo = tmp[r];
    if (tmp[r] > *hi) *hi = tmp[r];
  }
  return median(tmp, nr);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed bench seed [--allocators LIST] [--rounds N] [--lock-always] [--csv]\n"
          "                          [--adapter-check]\n\n"
          "Runs the six microbenchmarks (one_alloc, one_alloc_fast, hundred_fifo,\n"
          "hundred_lifo, realloc_inplace, realloc_copy) for glibc and each allocator,\n"
          "interleaved within each round, and prints the median ns per operation and\n"
          "the median over rounds of the per-round ratio to glibc. Designs run at check\n"
          "level 0 in modes single and locked; glibc's mode is system; a peer's is\n"
          "preload (a process of its own with the peer's library preloaded, driven\n"
          "through the same ops table over a pipe, in the same round).\n\n"
          "  --allocators LIST  comma-separated names (default: every design and every\n"
          "                     installed peer); glibc is always measured, as the baseline\n"
          "  --rounds N         rounds (default %d)\n"
          "  --lock-always      locked mode takes its lock even while the process is\n"
          "                     single-threaded (default: skipped then, as glibc does)\n"
          "  --csv              print benchmark,allocator,mode,ns_per_op,ratio_vs_glibc\n"
          "  --adapter-check    instead: glibc and each peer (of --allocators, default all\n"
          "                     installed) three ways in its own process, alternating:\n"
          "                     its ops table (adapter), glibc's ops table (system:\n"
          "                     the process's malloc, a peer's preloaded library,\n"
          "                     measured as glibc is) and a plain loop calling malloc\n"
          "                     directly; prints the median per-round ratios\n"
          "                     adapter/system and adapter/plain (csv: benchmark,\n"
          "                     allocator,adapter_ns,system_ns,plain_ns,\n"
          "                     ratio_system,ratio_plain)\n",          BENCH_DEFAULT_ROUNDS);
}

static int add_entries(bench_entry_t *e, size_t *n, const tb_allocator_t *a, bool adapter) {
  for (size_t i = 0; i < *n; i++)
    if (e[i].a == a) return 0; /* named twice */
  if (!(a->caps & TB_CAP_FREE)) return tb_cli_usage_error("bench", "allocator '%s' never frees; it cannot run these benchmarks", a->name);
  if (adapter && a->check_level >= 0)
    return tb_cli_usage_error("bench", "--adapter-check is for glibc and the peers, not the design '%s'", a->name);
  int modes = a->check_level >= 0 ? 2 : 1;
  if (*n + (size_t)modes > BENCH_MAX_ENTRIES) return tb_cli_usage_error("bench", "too many allocators");
  for (int m = 0; m < modes; m++) {
    memset(&e[*n], 0, sizeof e[*n]);
    e[*n].a = a;
    e[*n].mode = a->exec_env ? "preload" : a->check_level < 0 ? "system" : m == 0 ? "single" : "locked";
    (*n)++;
  }
  return 0;
}

/* A peer's server: this command again, `bench seed --serve NAME`, with the
 * peer's environment (LD_PRELOAD), talking over two pipes. It answers
 * "ready" once its heap exists. 0, or -1 after a message. */
static int start_server(bench_entry_t *e, bool lock_always) {
  const char *env[8];
  char why[512], exe[4096];
  int n = e->a->exec_env(NULL, env, 8, why, sizeof why);
  if (n < 0) {
    fprintf(stderr, "testbed bench: allocator %s cannot run here: %s\n", e->a->name, why);
    return -1;
  }
  tb_plan_self_exe(exe, sizeof exe);
  int down[2], up[2];
  if (pipe2(down, O_CLOEXEC)) return fprintf(stderr, "testbed bench: pipe: %s\n", strerror(errno)), -1;
  if (pipe2(up, O_CLOEXEC)) {
    close(down[0]), close(down[1]);
    return fprintf(stderr, "testbed bench: pipe: %s\n", strerror(errno)), -1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "testbed bench: fork: %s\n", strerror(errno));
    close(down[0]), close(down[1]), close(up[0]), close(up[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(down[0], 0);
    dup2(up[1], 1);
    close(down[0]), close(down[1]), close(up[0]), close(up[1]);
    for (int j = 0; j < n; j++) putenv((char *)env[j]);
    char *argv[] = {exe, "bench", "seed", "--serve", (char *)e->a->name, lock_always ? "--lock-always" : NULL, NULL};
    execv(exe, argv);
    fprintf(stderr, "testbed bench: cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  close(down[0]);
  close(up[1]);
  e->pid = pid;
  e->to = fdopen(down[1], "w");
  e->from = fdopen(up[0], "r");
  char line[64];
  if (!e->to || !e->from || !fgets(line, sizeof line, e->from) || strcmp(line, "ready\n")) {
    fprintf(stderr, "testbed bench: the %s server (LD_PRELOAD) did not start\n", e->a->name);
    return -1;
  }
  return 0;
}

static void stop_server(bench_entry_t *e) {
  if (e->to) fclose(e->to); /* EOF: the server exits */
  if (e->from) fclose(e->from);
  e->to = e->from = NULL;
  if (e->pid > 0) {
    int st;
    while (waitpid(e->pid, &st, 0) < 0 && errno == EINTR) {}
  }
  e->pid = 0;
}

/* What a measurement calls: the allocator's ops table (A), glibc's ops
 * table in the same process (S: the process's malloc, which in a peer's
 * server is the peer), the plain loop (P). */
static const char kind_char[3] = {'A', 'S', 'P'};

/* One measurement: benchmark b, reps repetitions, called as kind says;
 * ns per op, or -1 when the allocator failed. */
static double measure(bench_entry_t *e, size_t b, long reps, char kind) {
  if (e->pid) {
    double ns;
    long ops;
    if (fprintf(e->to, "%c %zu %ld\n", kind, b, reps) < 0 || fflush(e->to) ||
        fscanf(e->from, "%lf %ld", &ns, &ops) != 2 || ops < 0)
      return -1;
    return ns / (double)ops;
  }
  /* in this process the system adapter is glibc's table: e is glibc */
  double t0 = now_ns();
  long ops = (kind == 'P' ? benches[b].plain : benches[b].fn)(e->a, e->h, reps);
  double t1 = now_ns();
  return ops < 0 ? -1 : (t1 - t0) / (double)ops;
}

/* The server side of a peer: its heap (refused when the preload did not
 * take effect: peers.c says why), then one measurement per request line. */
static int serve(const char *name) {
  const tb_allocator_t *a = tb_allocator_find(name, 0);
  if (!a || !a->exec_env) return tb_cli_usage_error("bench", "--serve wants a peer allocator, not '%s'", name);
  tb_heap_opts_t o = {.mode = TB_MODE_SINGLE};
  tb_heap_t *h = a->create(&o);
  if (!h) {
    fprintf(stderr, "testbed bench: --serve %s: no %s heap in this process: %s\n", name, name, strerror(errno));
    return 1;
  }
  /* glibc's table: the system allocator adapter, here calling the peer */
  const tb_allocator_t *sys = tb_allocator_find("glibc", 0);
  tb_heap_t *sh = sys ? sys->create(&o) : NULL;
  if (!sh) {
    fprintf(stderr, "testbed bench: --serve %s: no glibc adapter heap\n", name);
    a->destroy(h);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  char kind;
  size_t b;
  long reps;
  while (scanf(" %c %zu %ld", &kind, &b, &reps) == 3 && b < NBENCH) {
    double t0 = now_ns();
    long ops = kind == 'P' ? benches[b].plain(a, h, reps) : kind == 'S' ? benches[b].fn(sys, sh, reps) : benches[b].fn(a, h, reps);
    double t1 = now_ns();
    printf("%.17g %ld\n", t1 - t0, ops);
    fflush(stdout);
  }
  sys->destroy(sh);
  a->destroy(h);
  return 0;
}

static int bench_main(int argc, char **argv) {
  const char *list = NULL, *serve_name = NULL;
  unsigned long long rounds = BENCH_DEFAULT_ROUNDS;
  bool csv = false, lock_always = false, adapter = false;
  if (argc < 2) return tb_cli_usage_error("bench", "missing benchmark set (only 'seed' exists)");
  if (tb_cli_is_help(argv[1])) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "seed")) return tb_cli_usage_error("bench", "unknown benchmark set '%s' (only 'seed' exists)", argv[1]);
  for (int i = 2; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--csv")) {
      csv = true;
    } else if (!strcmp(argv[i], "--lock-always")) {
      lock_always = true;
    } else if (!strcmp(argv[i], "--adapter-check")) {
      adapter = true;
    } else if (!strcmp(argv[i], "--serve")) { /* internal: a peer's server (start_server) */
      if (++i >= argc) return tb_cli_usage_error("bench", "--serve needs an allocator");
      serve_name = argv[i];
    } else if (!strcmp(argv[i], "--allocators")) {
      if (++i >= argc) return tb_cli_usage_error("bench", "--allocators needs a list");
      list = argv[i];
    } else if (!strcmp(argv[i], "--rounds")) {
      if (++i >= argc) return tb_cli_usage_error("bench", "--rounds needs a number");
      if (!tb_cli_parse_u64(argv[i], &rounds) || rounds < 1 || rounds > BENCH_MAX_ROUNDS)
        return tb_cli_usage_error("bench", "--rounds must be a whole number from 1 to %d, got '%s'", BENCH_MAX_ROUNDS, argv[i]);
    } else {
      return tb_cli_usage_error("bench", "unknown option '%s'", argv[i]);
    }
  }

  if (lock_always) tb_lock_force_always(true);
  if (serve_name) return serve(serve_name);
  bench_entry_t e[BENCH_MAX_ENTRIES];
  size_t ne = 0;
  const tb_allocator_t *glibc = tb_allocator_find("glibc", 0);
  if (!glibc) {
    fprintf(stderr, "testbed bench: glibc is not registered in this build\n");
    return 1;
  }
  int rc = add_entries(e, &ne, glibc, adapter);
  if (rc) return rc;
  if (list) {
    char buf[512];
    if (strlen(list) >= sizeof buf) return tb_cli_usage_error("bench", "--allocators list too long");
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      const tb_allocator_t *a = tb_allocator_find(tok, 0);
      if (!a) return tb_cli_usage_error("bench", "unknown allocator '%s' (see testbed list)", tok);
      if ((rc = add_entries(e, &ne, a, adapter))) return rc;
    }
  } else {
    const tb_allocator_t *a;
    for (size_t i = 0; (a = tb_allocator_at(i, 0)) != NULL; i++)
      if ((adapter ? a->exec_env != NULL : a->check_level >= 0 || a->exec_env) && (rc = add_entries(e, &ne, a, adapter)))
        return rc;
  }

  /* SIGPIPE would kill us if a server died: its failure is reported instead. */
  signal(SIGPIPE, SIG_IGN);
  int status = 0;
  size_t nr = (size_t)rounds;
  double *ns = NULL, *tmp = NULL;
  for (size_t i = 0; i < ne; i++) {
    if (e[i].a->exec_env) {
      if (start_server(&e[i], lock_always)) {
        status = 1;
        goto out;
      }
      continue;
    }
    tb_heap_opts_t o = {.mode = strcmp(e[i].mode, "locked") ? TB_MODE_SINGLE : TB_MODE_LOCKED};
    e[i].h = e[i].a->create(&o);
    if (!e[i].h) {
      fprintf(stderr, "testbed bench: cannot create a %s heap: %s\n", e[i].a->name, strerror(errno));
      status = 1;
      goto out;
    }
  }
  /* [bench][entry][round]; with --adapter-check, [bench][entry][3][round]:
   * adapter, system, plain (kind_char) */
  size_t kinds = adapter ? 3 : 1;
  ns = calloc(NBENCH * ne * kinds * nr, sizeof *ns);
  tmp = calloc(nr, sizeof *tmp);
  if (!ns || !tmp) {
    fprintf(stderr, "testbed bench: out of memory\n");
    status = 1;
    goto out;
  }
  /* One warm-up round (not recorded), then the measured rounds. With
   * --adapter-check the three kinds rotate which goes first from round to
   * round. */
  for (size_t r = 0; r <= nr && !status; r++)
    for (size_t b = 0; b < NBENCH && !status; b++)
      for (size_t i = 0; i < ne && !status; i++)
        for (size_t k0 = 0; k0 < kinds; k0++) {
          size_t k = (k0 + r) % kinds;
          long reps = r == 0 ? benches[b].reps / 10 : benches[b].reps;
          double v = measure(&e[i], b, reps, kind_char[k]);
          if (v < 0) {
            fprintf(stderr, "testbed bench: %s (%s) failed in %s%s\n", e[i].a->name, e[i].mode, benches[b].name,
                    e[i].pid ? " (its server process)" : "");
            status = 1;
            break;
          }
          if (r > 0) ns[((b * ne + i) * kinds + k) * nr + (r - 1)] = v;
        }
  if (status) goto out;

  if (adapter) {
    if (csv)
      printf("benchmark,allocator,adapter_ns,system_ns,plain_ns,ratio_system,ratio_plain\n");
    else
      printf("testbed bench seed --adapter-check: %zu rounds; in each allocator's process (a peer's: its library "
             "preloaded) every benchmark through the allocator's ops table (adapter), through glibc's ops table "
             "(system: the process's malloc measured as glibc is) and as a plain loop calling malloc directly "
             "(plain), rotating; ratios = medians over rounds of the per-round ratios\n\n"
             "%-16s %-8s %8s %8s %8s %9s %-13s %9s %s\n",
             nr, "benchmark", "allocator", "adapter", "system", "plain", "/system", "  min..max", "/plain",
             "  min..max");
    for (size_t b = 0; b < NBENCH; b++)
      for (size_t i = 0; i < ne; i++) {
        const double *ad = &ns[((b * ne + i) * 3 + 0) * nr], *sy = &ns[((b * ne + i) * 3 + 1) * nr],
                     *pl = &ns[((b * ne + i) * 3 + 2) * nr];
        double smin, smax, rs = round_ratios(ad, sy, nr, tmp, &smin, &smax);
        double pmin, pmax, rp = round_ratios(ad, pl, nr, tmp, &pmin, &pmax);
        double med[3];
        for (int k = 0; k < 3; k++) {
          memcpy(tmp, &ns[((b * ne + i) * 3 + (size_t)k) * nr], nr * sizeof *tmp);
          med[k] = median(tmp, nr);
        }
        if (csv)
          printf("%s,%s,%.3f,%.3f,%.3f,%.4f,%.4f\n", benches[b].name, e[i].a->name, med[0], med[1], med[2], rs, rp);
        else
          printf("%-16s %-8s %8.2f %8.2f %8.2f %9.3f %5.3f..%5.3f %9.3f %5.3f..%5.3f\n", benches[b].name,
                 e[i].a->name, med[0], med[1], med[2], rs, smin, smax, rp, pmin, pmax);
      }
    goto out;
  }
  if (csv)
    printf("benchmark,allocator,mode,ns_per_op,ratio_vs_glibc\n");
  else
    printf("testbed bench seed: %zu rounds, designs at check level 0, statistics %s, locked mode %s; "
           "ratio = median over rounds of (ns / glibc ns in the same round)\n\n"
           "%-16s %-8s %-7s %9s %8s  %s\n",
           nr, tb_stats_enabled() ? "on" : "off", lock_always ? "always locks" : "skips the lock while single-threaded",
           "benchmark", "allocator", "mode", "ns/op", "ratio", "ratio min..max");
  for (size_t b = 0; b < NBENCH; b++)
    for (size_t i = 0; i < ne; i++) {
      const double *v = &ns[(b * ne + i) * nr], *g = &ns[(b * ne + 0) * nr];
      double rmin, rmax, ratio = round_ratios(v, g, nr, tmp, &rmin, &rmax);
      memcpy(tmp, v, nr * sizeof *tmp);
      double med = median(tmp, nr);
      if (csv)
        printf("%s,%s,%s,%.3f,%.4f\n", benches[b].name, e[i].a->name, e[i].mode, med, ratio);
      else
        printf("%-16s %-8s %-7s %9.2f %8.3f  %.3f..%.3f\n", benches[b].name, e[i].a->name, e[i].mode, med, ratio, rmin, rmax);
    }
out:
  free(ns);
  free(tmp);
  for (size_t i = 0; i < ne; i++) {
    if (e[i].h) e[i].a->destroy(e[i].h);
    stop_server(&e[i]);
  }
  return status;
}

const tb_command_t tb_cmd_bench = {"bench", "microbenchmarks side by side with glibc (bench seed)", bench_main};
