/* memsim.c: the `memsim:PROFILE[,page=SIZE][,arch=ISA]` backend. Like
 * cachegrind it re-runs the harness's command for one run, here under
 * qemu-user with the memsim TCG plugin (memsim/plugin.c) simulating the
 * profile's whole data-cache hierarchy and data TLBs. The ISA is the
 * profile's (x86_64 build under qemu-x86_64, the aarch64 cross build under
 * qemu-aarch64) unless arch= overrides it. The child (TB_BACKEND_INNER set)
 * maps the marker page and announces it, marks the window (and the replay
 * marks allocator calls and touches, memsim.h); the parent reads the
 * plugin's counts and reports them per op, split into allocator, harness
 * and program, and by data region.
 *
 * A single-threaded simulation is deterministic (ASLR off, and qemu's
 * guest layout follows): the first run of a configuration is simulated,
 * later runs of the same command in the same process reuse it and emit no
 * rows of their own. Multi-threaded replays are simulated every run and
 * marked memsim_deterministic = 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#ifdef __linux__
#include <sys/personality.h>
#endif

#include "backend.h"
#include "memsim.h"
#include "profiles.h"
#include "space.h"

/* Set by memsim/CMakeLists.txt; empty when memsim is unavailable. */
#ifndef TB_MEMSIM_PLUGIN
#define TB_MEMSIM_PLUGIN ""
#endif
#ifndef TB_MEMSIM_QEMU_VERSION
#define TB_MEMSIM_QEMU_VERSION ""
#endif
#ifndef TB_MEMSIM_HEADER_SHA256
#define TB_MEMSIM_HEADER_SHA256 ""
#endif
#ifndef TB_MEMSIM_QEMU_X86_64
#define TB_MEMSIM_QEMU_X86_64 ""
#endif
#ifndef TB_MEMSIM_QEMU_AARCH64
#define TB_MEMSIM_QEMU_AARCH64 ""
#endif
#ifndef TB_MEMSIM_BIN_X86_64
#define TB_MEMSIM_BIN_X86_64 ""
#endif
#ifndef TB_MEMSIM_BIN_AARCH64
#define TB_MEMSIM_BIN_AARCH64 ""
#endif
#ifndef TB_MEMSIM_AARCH64_WHY
#define TB_MEMSIM_AARCH64_WHY ""
#endif

/* ---- the child's side: markers -------------------------------------------------- */

volatile uint64_t *tb_memsim_marker;

static void mk_syscall(long op, long a, long b, long c) {
  long r = syscall(TB_MK_SYSCALL, op, a, b, c);
  (void)r; /* -ENOSYS: qemu has no such syscall; the plugin saw it first */
}

void tb_memsim_region(const void *p, size_t len, int kind) {
  if (!tb_memsim_marker || !len) return;
  mk_syscall(TB_MK_REGION, (long)(uintptr_t)p, (long)((uintptr_t)p + len), kind);
}

void tb_memsim_stack(void) {
  if (!tb_memsim_marker) return;
  pthread_attr_t at;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &at)) return;
  if (pthread_attr_getstack(&at, &addr, &size) == 0) tb_memsim_region(addr, size, TB_RG_STACK);
  pthread_attr_destroy(&at);
}

/* The space layer's region hook in the child: every space and large block
 * the allocator makes is told to the plugin as metadata or blocks. */
static void ms_space_region(const void *base, size_t len, space_tag_t tag) {
  tb_memsim_region(base, len, tag == SPACE_TAG_META ? TB_RG_META : tag == SPACE_TAG_DESC ? TB_RG_DESC : TB_RG_BLOCKS);
}

/* ---- the configuration ----------------------------------------------------------- */

typedef enum { EV_ACC, EV_L1, EV_L2, EV_L3, EV_T1, EV_T2, NEV } ev_t;
static const char *const ev_file[NEV] = {"accesses", "l1d_misses", "l2_misses", "l3_misses", "dtlb_misses",
                                         "l2tlb_misses"};
static const char *const mode_file[TB_NMODES] = {"harness", "allocator", "program"};
static const char *const region_file[TB_NREGIONS] = {"other", "blocks", "harness", "stack", "meta", "desc"};

typedef struct {
  unsigned vcpus, windows_begun, windows_ended;
  bool markers, overflow;
  char target[16];
  uint64_t simulated;
  uint64_t n[TB_NMODES][NEV];
  uint64_t rg[TB_NMODES][TB_NREGIONS][NEV];
  double seconds; /* the child's wall time under qemu */
} ms_result_t;

struct tb_backend_inst_s {
  bool inner;
  tb_profile_t prof;
  char spec[160];   /* as given after memsim: */
  char arch[16];    /* the ISA that runs */
  uint64_t page;    /* the TLB page (and the allocator's commit granularity) */
  bool page_override;
  bool arch_given; /* arch= in the spec */
  int nthreads;
  const tb_tlb_level_t *tlb[2]; /* the data TLBs simulated (L1 DTLB, L2 TLB) */
  bool have, reused;
  ms_result_t r;
  char bin[1024], qemu[1024];
};

static bool ms_available(char *why, size_t whylen) {
  if (tb_backend_inner()) { /* the child under qemu only marks; the aarch64 build has no plugin of its own */
    snprintf(why, whylen, "running under the simulator");
    return true;
  }
#ifdef TB_MEMSIM_UNAVAILABLE
  snprintf(why, whylen, "%s", TB_MEMSIM_UNAVAILABLE);
  return false;
#else
  if (access(TB_MEMSIM_PLUGIN, R_OK)) {
    snprintf(why, whylen, "the plugin %s is not built", TB_MEMSIM_PLUGIN);
    return false;
  }
  snprintf(why, whylen, "qemu-user %s with %s (x86_64 %s; aarch64 %s)", TB_MEMSIM_QEMU_VERSION, TB_MEMSIM_PLUGIN,
           access(TB_MEMSIM_BIN_X86_64, X_OK) ? "build missing" : "build here",
           TB_MEMSIM_BIN_AARCH64[0] ? (access(TB_MEMSIM_BIN_AARCH64, X_OK) ? "build missing" : TB_MEMSIM_BIN_AARCH64)
                                    : TB_MEMSIM_AARCH64_WHY);
  return true;
#endif
}

static bool parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return false;
  if (*end == 'K') v <<= 10, end++;
  else if (*end == 'M') v <<= 20, end++;
  if (*end) return false;
  *out = v;
  return true;
}

static void fmt_size(char *b, size_t n, uint64_t v) { /* 16M, 64K, 4096 */
  if (v >= (1ull << 20) && !(v & ((1ull << 20) - 1))) snprintf(b, n, "%lluM", (unsigned long long)(v >> 20));
  else if (v >= 1024 && !(v & 1023)) snprintf(b, n, "%lluK", (unsigned long long)(v >> 10));
  else snprintf(b, n, "%llu", (unsigned long long)v);
}

/* "NAME[,page=SIZE][,arch=x86_64|aarch64]" */
static int parse_spec(tb_backend_inst_t *b, const char *spec, char *err, size_t errlen) {
  char buf[160], *save = NULL;
  snprintf(b->spec, sizeof b->spec, "%s", spec ? spec : "");
  snprintf(buf, sizeof buf, "%s", b->spec);
  char *name = strtok_r(buf, ",", &save);
  if (!name || !*name) {
    snprintf(err, errlen, "memsim needs a profile (memsim:NAME, testbed list names them); host has no TLB figures");
    return 1;
  }
  if (tb_profile_get(name, &b->prof, err, errlen)) return 1;
  snprintf(b->arch, sizeof b->arch, "%s", b->prof.arch);
  b->page = b->prof.page;
  for (char *o = strtok_r(NULL, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (!strncmp(o, "page=", 5)) {
      uint64_t pg;
      if (!parse_size(o + 5, &pg) || pg < 4096 || (pg & (pg - 1)) || pg > (1u << 20)) {
        snprintf(err, errlen, "memsim:%s: page '%s' is not a power of two from 4K to 1M", b->spec, o + 5);
        return 1;
      }
      b->page = pg;
      b->page_override = true;
    } else if (!strncmp(o, "arch=", 5)) {
      if (strcmp(o + 5, "x86_64") && strcmp(o + 5, "aarch64")) {
        snprintf(err, errlen, "memsim:%s: arch '%s' is not x86_64 or aarch64", b->spec, o + 5);
        return 1;
      }
      snprintf(b->arch, sizeof b->arch, "%s", o + 5);
      b->arch_given = true;
    } else {
      snprintf(err, errlen, "memsim:%s: unknown option '%s' (page=SIZE, arch=x86_64|aarch64)", b->spec, o);
      return 1;
    }
  }
  /* The data TLBs: the profile's TLB levels other than instruction ones, in order. */
  int k = 0;
  for (int i = 0; i < b->prof.ntlb && k < 2; i++)
    if (strcmp(b->prof.tlb[i].name, "l1i")) b->tlb[k++] = &b->prof.tlb[i];
  const tb_cache_level_t *lv[3] = {&b->prof.l1d, &b->prof.l2, &b->prof.l3};
  for (int i = 0; i < 3; i++) {
    if (!lv[i]->size) continue;
    if (lv[i]->ways == TB_WAYS_UNKNOWN) {
      snprintf(err, errlen, "%s:%d: profile '%s': a cache level has unknown ways; memsim needs them", b->prof.file,
               lv[i]->src_line, b->prof.name);
      return 1;
    }
    if (lv[i]->line != b->prof.l1d.line) {
      snprintf(err, errlen, "%s:%d: profile '%s': memsim needs one line size for every data cache level",
               b->prof.file, lv[i]->src_line, b->prof.name);
      return 1;
    }
  }
  return 0;
}

/* TLB ways for the plugin: unknown is simulated fully associative (0). */
static unsigned long long tlb_ways(const tb_tlb_level_t *t) {
  return t->ways == TB_WAYS_FULL || t->ways == TB_WAYS_UNKNOWN ? 0 : t->ways;
}
static unsigned long long cache_ways(const tb_cache_level_t *c) { return c->ways == TB_WAYS_FULL ? 0 : c->ways; }

/* "PLUGIN,l1d=...,l2=...[,l3=...][,tlb1=...][,tlb2=...],page=N": the plugin
 * and the profile's geometry, without out=. */
static void plugin_geometry(const tb_backend_inst_t *b, char *opt, size_t len) {
  const tb_profile_t *p = &b->prof;
  size_t o = (size_t)snprintf(opt, len, "%s,l1d=%llu:%llu:%u,l2=%llu:%llu:%u", TB_MEMSIM_PLUGIN,
                              (unsigned long long)p->l1d.size, cache_ways(&p->l1d), p->l1d.line,
                              (unsigned long long)p->l2.size, cache_ways(&p->l2), p->l2.line);
  if (p->l3.size && o < len)
    o += (size_t)snprintf(opt + o, len - o, ",l3=%llu:%llu:%u", (unsigned long long)p->l3.size, cache_ways(&p->l3),
                          p->l3.line);
  for (int i = 0; i < 2 && b->tlb[i] && o < len; i++)
    o += (size_t)snprintf(opt + o, len - o, ",tlb%d=%u:%llu", i + 1, b->tlb[i]->entries, tlb_ways(b->tlb[i]));
  if (o < len) snprintf(opt + o, len - o, ",page=%llu", (unsigned long long)b->page);
}

static tb_backend_inst_t *ms_open(const char *profile, int nthreads, char *err, size_t errlen) {
  tb_backend_inst_t *b = calloc(1, sizeof *b);
  if (!b) {
    snprintf(err, errlen, "memsim: out of memory");
    return NULL;
  }
  b->inner = tb_backend_inner();
  b->nthreads = nthreads;
  if (b->inner) {
    /* The child under qemu: the marker page, announced to the plugin. */
    if (!tb_memsim_marker) {
      void *p = mmap(NULL, TB_MK_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        snprintf(err, errlen, "memsim: cannot map the marker page: %s", strerror(errno));
        free(b);
        return NULL;
      }
      mk_syscall(TB_MK_HELLO, (long)(uintptr_t)p, 0, 0);
      tb_memsim_marker = p;
      space_set_region_hook(ms_space_region); /* before any heap is made */
    }
    return b;
  }
  char why[512];
  if (!ms_available(why, sizeof why)) {
    snprintf(err, errlen, "memsim: %s", why);
    free(b);
    return NULL;
  }
  if (parse_spec(b, profile, err, errlen)) {
    free(b);
    return NULL;
  }
  bool arm = !strcmp(b->arch, "aarch64");
  snprintf(b->bin, sizeof b->bin, "%s", arm ? TB_MEMSIM_BIN_AARCH64 : TB_MEMSIM_BIN_X86_64);
  snprintf(b->qemu, sizeof b->qemu, "%s", arm ? TB_MEMSIM_QEMU_AARCH64 : TB_MEMSIM_QEMU_X86_64);
  if (!b->bin[0] || access(b->bin, X_OK)) {
    if (arm && !TB_MEMSIM_BIN_AARCH64[0])
      snprintf(err, errlen, "memsim:%s: no aarch64 testbed: %s", b->spec, TB_MEMSIM_AARCH64_WHY);
    else
      snprintf(err, errlen, "memsim:%s: the %s testbed %s is not built (cmake --build build%s)", b->spec, b->arch,
               b->bin, arm ? " --target memsim-aarch64" : "");
    free(b);
    return NULL;
  }
  return b;
}

static void ms_thread(tb_backend_inst_t *b, int tid) {}

static void ms_window_begin(tb_backend_inst_t *b) {
  if (b->inner) mk_syscall(TB_MK_WINDOW_BEGIN, 0, 0, 0);
}

static void ms_window_end(tb_backend_inst_t *b) {
  if (b->inner) mk_syscall(TB_MK_WINDOW_END, 0, 0, 0);
}

/* ---- the parent's side: the run under qemu ------------------------------------------- */

static int parse_result(const char *path, ms_result_t *r, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "memsim: the plugin wrote no output (%s: %s)", path, strerror(errno));
    return 1;
  }
  char line[256];
  int ln = 0, rc = 0;
  bool head = false, end = false;
  while (fgets(line, sizeof line, f)) {
    ln++;
    char a[32], m[32], e[32], g[32];
    unsigned long long v;
    unsigned x, y;
    int d;
    if (!strcmp(line, "memsim 1\n")) head = true;
    else if (sscanf(line, "target %15s", r->target) == 1) {}
    else if (sscanf(line, "vcpus %u", &x) == 1) r->vcpus = x;
    else if (sscanf(line, "vcpu_overflow %d", &d) == 1) r->overflow = d;
    else if (sscanf(line, "windows %u %u", &x, &y) == 2) r->windows_begun = x, r->windows_ended = y;
    else if (sscanf(line, "markers %d", &d) == 1) r->markers = d;
    else if (sscanf(line, "simulated %llu", &v) == 1) r->simulated = v;
    else if (sscanf(line, "count %31s %31s %llu", m, e, &v) == 3) {
      int mi = -1, ei = -1;
      for (int i = 0; i < TB_NMODES; i++) if (!strcmp(m, mode_file[i])) mi = i;
      for (int i = 0; i < NEV; i++) if (!strcmp(e, ev_file[i])) ei = i;
      if (mi < 0 || ei < 0) { rc = 1; break; }
      r->n[mi][ei] = v;
    } else if (sscanf(line, "region %31s %31s %31s %llu", m, g, e, &v) == 4) {
      int mi = -1, gi = -1, ei = -1;
      for (int i = 0; i < TB_NMODES; i++) if (!strcmp(m, mode_file[i])) mi = i;
      for (int i = 0; i < TB_NREGIONS; i++) if (!strcmp(g, region_file[i])) gi = i;
      for (int i = 0; i < NEV; i++) if (!strcmp(e, ev_file[i])) ei = i;
      if (mi < 0 || gi < 0 || ei < 0) { rc = 1; break; }
      r->rg[mi][gi][ei] = v;
    } else if (!strcmp(line, "end\n")) end = true;
    else { (void)a; rc = 1; break; }
  }
  fclose(f);
  if (rc || !head || !end) {
    snprintf(err, errlen, "%s:%d: %s", path, ln, rc ? "unexpected line in the plugin's output" : "truncated plugin output");
    return 1;
  }
  return 0;
}

static int read_result(const char *path, ms_result_t *r, char *err, size_t errlen) {
  if (parse_result(path, r, err, errlen)) return 1;
  if (r->windows_begun != 1 || r->windows_ended != 1 || !r->markers) {
    snprintf(err, errlen, "memsim: the child marked %u window begin(s), %u end(s)%s: cannot count", r->windows_begun,
             r->windows_ended, r->markers ? "" : ", no marker page");
    return 1;
  }
  if (r->overflow) {
    snprintf(err, errlen, "memsim: more guest threads than the plugin keeps caches for");
    return 1;
  }
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The configurations simulated in this process (single-threaded only):
 * later runs of the same command reuse them. */
#define MS_CACHE 32
static char *done_cmd[MS_CACHE];
static ms_result_t done_res[MS_CACHE];
static int ndone;

static int ms_reexec(tb_backend_inst_t *b, char *const argv[], char *err, size_t errlen) {
  if (b->inner) {
    snprintf(err, errlen, "memsim: already running under the simulator (%s is set)", TB_BACKEND_INNER_ENV);
    return 1;
  }
  size_t nargs = 0, clen = strlen(b->spec) + strlen(b->arch) + 2;
  while (argv[nargs]) clen += strlen(argv[nargs++]) + 1;
  char *cmd = malloc(clen + 1);
  if (!cmd) {
    snprintf(err, errlen, "memsim: out of memory");
    return 1;
  }
  size_t o = (size_t)sprintf(cmd, "%s %s", b->spec, b->arch);
  for (size_t i = 1; i < nargs; i++) {
    if (!strcmp(argv[i], "--child") && i + 1 < nargs) { /* the run number: the same configuration */
      i++;
      continue;
    }
    o += (size_t)sprintf(cmd + o, " %s", argv[i]);
  }
  for (int i = 0; i < ndone && b->nthreads <= 1; i++)
    if (!strcmp(done_cmd[i], cmd)) {
      free(cmd);
      b->r = done_res[i];
      b->have = b->reused = true;
      return 0;
    }
  const char *tmp = getenv("TMPDIR");
  char dir[512], out[600], opt[2048];
  snprintf(dir, sizeof dir, "%s/tb-memsim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    snprintf(err, errlen, "memsim: cannot make a directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
    free(cmd);
    return 1;
  }
  snprintf(out, sizeof out, "%s/counts", dir);
  char geo[800];
  plugin_geometry(b, geo, sizeof geo);
  snprintf(opt, sizeof opt, "%s,out=%s", geo, out);
  char **v = calloc(nargs + 8, sizeof *v);
  if (!v) {
    snprintf(err, errlen, "memsim: out of memory");
    free(cmd);
    rmdir(dir);
    return 1;
  }
  size_t k = 0;
  v[k++] = b->qemu;
  if (!strcmp(b->arch, "aarch64")) v[k++] = "-L", v[k++] = "/"; /* Debian's multiarch arm64 libc */
  v[k++] = "-plugin";
  v[k++] = opt;
  v[k++] = b->bin;
  for (size_t i = 1; i < nargs; i++) v[k++] = argv[i];
  v[k] = NULL;
  char pg[32];
  snprintf(pg, sizeof pg, "%llu", (unsigned long long)b->page);
  fflush(NULL);
  double t0 = now_s();
  pid_t pid = fork();
  int rc = 1;
  if (pid < 0) {
    snprintf(err, errlen, "memsim: fork: %s", strerror(errno));
  } else if (pid == 0) {
#ifdef __linux__
    personality(ADDR_NO_RANDOMIZE); /* the same addresses, so the same sets, every run */
#endif
    setenv(TB_BACKEND_INNER_ENV, "memsim", 1);
    setenv("TB_SPACE_PAGE_SIZE", pg, 1); /* the allocator commits in the simulated page */
    execv(v[0], v);
    fprintf(stderr, "testbed: memsim: cannot run %s: %s\n", v[0], strerror(errno));
    _exit(127);
  } else {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    double t1 = now_s();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (WIFEXITED(status))
        snprintf(err, errlen, "memsim: the run under %s exited with status %d", b->qemu, WEXITSTATUS(status));
      else
        snprintf(err, errlen, "memsim: the run under %s died of signal %d", b->qemu, WTERMSIG(status));
    } else {
      memset(&b->r, 0, sizeof b->r);
      rc = read_result(out, &b->r, err, errlen);
      b->r.seconds = t1 - t0;
    }
  }
  unlink(out);
  rmdir(dir);
  free(v);
  b->have = rc == 0;
  if (b->have && b->r.vcpus <= 1 && ndone < MS_CACHE) {
    done_cmd[ndone] = cmd;
    done_res[ndone++] = b->r;
  } else {
    free(cmd);
  }
  return rc;
}

/* ---- report ----------------------------------------------------------------------------- */

static const char *const mode_prefix[TB_NMODES] = {"harness_", "allocator_", "program_"};

/* The metrics and the plugin event each is; NA where the profile has no
 * such level. */
typedef struct {
  const char *name;
  int ev;
  bool absent;
} ms_metric_t;
#define NMETRICS 7
static void metrics(ms_metric_t m[NMETRICS], bool l3, bool tlb1, bool tlb2) {
  const ms_metric_t t[NMETRICS] = {
      {"data_refs", EV_ACC, false},        {"l1d_misses", EV_L1, false},
      {"l2_misses", EV_L2, false},         {"l3_misses", EV_L3, !l3},
      {"llc_misses", l3 ? EV_L3 : EV_L2, false}, {"dtlb_misses", EV_T1, !tlb1},
      {"l2tlb_misses", EV_T2, !tlb2},
  };
  memcpy(m, t, sizeof t);
}

static void ms_report(tb_backend_inst_t *b, uint64_t ops, tb_emit_fn emit, void *ctx) {
  if (b->inner || b->reused) return; /* reused: the first run's rows stand for it */
  const ms_result_t *r = &b->r;
  bool na = !b->have, pna = na || ops == 0;
  double d = ops ? (double)ops : 1;
  ms_metric_t m[NMETRICS];
  metrics(m, b->prof.l3.size != 0, b->tlb[0] != NULL, b->tlb[1] != NULL);
  for (size_t i = 0; i < NMETRICS; i++) {
    char name[128];
    int e = m[i].ev;
    uint64_t tot = 0;
    for (int k = 0; k < TB_NMODES; k++) tot += r->n[k][e];
    bool mna = na || m[i].absent;
    emit(ctx, m[i].name, (double)tot, mna, "1");
    snprintf(name, sizeof name, "%s_per_op", m[i].name);
    emit(ctx, name, (double)tot / d, mna || pna, "1");
    for (int k = 0; k < TB_NMODES; k++) {
      snprintf(name, sizeof name, "%s%s_per_op", mode_prefix[k], m[i].name);
      emit(ctx, name, (double)r->n[k][e] / d, mna || pna, "1");
    }
    for (int g = 0; g < TB_NREGIONS; g++) {
      uint64_t s = 0;
      for (int k = 0; k < TB_NMODES; k++) s += r->rg[k][g][e];
      snprintf(name, sizeof name, "in_%s_%s_per_op", region_file[g], m[i].name);
      emit(ctx, name, (double)s / d, mna || pna, "1");
      for (int k = 0; k < TB_NMODES; k++) {
        snprintf(name, sizeof name, "%sin_%s_%s_per_op", mode_prefix[k], region_file[g], m[i].name);
        emit(ctx, name, (double)r->rg[k][g][e] / d, mna || pna, "1");
      }
    }
  }
  emit(ctx, "memsim_simulated_accesses", (double)r->simulated, na, "1");
  emit(ctx, "memsim_seconds", r->seconds, na, "s");
  emit(ctx, "memsim_accesses_per_second", r->seconds > 0 ? (double)r->simulated / r->seconds : 0,
       na || r->seconds <= 0, "1/s");
  emit(ctx, "memsim_guest_threads", (double)r->vcpus, na, "1");
  emit(ctx, "memsim_deterministic", r->vcpus <= 1 ? 1 : 0, na, "1");
  emit(ctx, "memsim_page_bytes", (double)b->page, false, "B");
}

static void ms_close(tb_backend_inst_t *b) { free(b); }

static void ms_label(tb_backend_inst_t *b, char *buf, size_t len) {
  char pg[32];
  fmt_size(pg, sizeof pg, b->page);
  if (b->page_override)
    snprintf(buf, len, "%s/page=%s@%s", b->prof.name, pg, b->arch);
  else
    snprintf(buf, len, "%s@%s", b->prof.name, b->arch);
}

static void ms_meta(tb_backend_inst_t *b, char *buf, size_t len) {
  if (b->inner) {
    snprintf(buf, len, "{}");
    return;
  }
  const tb_profile_t *p = &b->prof;
  char tl[256] = "";
  size_t o = 0;
  for (int i = 0; i < 2 && b->tlb[i]; i++)
    o += (size_t)snprintf(tl + o, sizeof tl - o, "%s{\"name\":\"%s\",\"entries\":%u,\"ways\":%llu%s}", i ? "," : "",
                          b->tlb[i]->name, b->tlb[i]->entries, tlb_ways(b->tlb[i]),
                          b->tlb[i]->ways == TB_WAYS_UNKNOWN ? ",\"ways_note\":\"unknown, simulated fully associative\"" : "");
  snprintf(buf, len,
           "{\"simulator\":\"qemu-user %s + memsim plugin\",\"plugin\":\"%s\",\"plugin_header_sha256\":\"%s\","
           "\"qemu\":\"%s\",\"isa\":\"%s\",\"binary\":\"%s\",\"binary_x86_64\":\"%s\",\"binary_aarch64\":\"%s\","
           "\"profile\":\"%s\",\"profile_file\":\"%s\",\"L1D\":[%llu,%llu,%u],\"L2\":[%llu,%llu,%u],"
           "\"L3\":[%llu,%llu,%u],\"LL\":\"%s\",\"tlbs\":[%s],\"page\":%llu,\"page_override\":%s,"
           "\"replacement\":\"LRU\",\"inclusion\":\"non-inclusive non-exclusive, fill on miss\","
           "\"window\":\"warm caches, counted between markers\",\"deterministic\":%s,\"reused_run\":%s,"
           "\"aslr\":\"off\"}",
           TB_MEMSIM_QEMU_VERSION, TB_MEMSIM_PLUGIN, TB_MEMSIM_HEADER_SHA256, b->qemu, b->arch, b->bin,
           TB_MEMSIM_BIN_X86_64, TB_MEMSIM_BIN_AARCH64, p->name, p->file, (unsigned long long)p->l1d.size,
           cache_ways(&p->l1d), p->l1d.line, (unsigned long long)p->l2.size, cache_ways(&p->l2), p->l2.line,
           (unsigned long long)p->l3.size, cache_ways(&p->l3), p->l3.line, p->l3.size ? "l3" : "l2", tl,
           (unsigned long long)b->page, b->page_override ? "true" : "false",
           b->have && b->r.vcpus <= 1 ? "true" : "false", b->reused ? "true" : "false");
}

/* ---- testbed exec: a real program under qemu-user, allocator by code address ---------- */

int tb_memsim_exec_setup(const char *spec, const char *isa, tb_memsim_exec_t *x, char *err, size_t errlen) {
  memset(x, 0, sizeof *x);
  char why[512];
  if (!ms_available(why, sizeof why)) {
    snprintf(err, errlen, "memsim: %s", why);
    return 1;
  }
  tb_backend_inst_t *b = calloc(1, sizeof *b);
  if (!b) {
    snprintf(err, errlen, "memsim: out of memory");
    return 1;
  }
  int rc = 1;
  if (parse_spec(b, spec, err, errlen)) goto out;
  if (b->arch_given && strcmp(b->arch, isa)) {
    snprintf(err, errlen, "memsim:%s: arch=%s, but the program is an %s binary (exec runs the program's own ISA)",
             b->spec, b->arch, isa);
    goto out;
  }
  snprintf(b->arch, sizeof b->arch, "%s", isa);
  bool arm = !strcmp(isa, "aarch64");
  snprintf(x->qemu, sizeof x->qemu, "%s", arm ? TB_MEMSIM_QEMU_AARCH64 : TB_MEMSIM_QEMU_X86_64);
  if (!x->qemu[0] || access(x->qemu, X_OK)) {
    snprintf(err, errlen, "memsim:%s: no qemu-user for %s here", b->spec, isa);
    goto out;
  }
  snprintf(x->arch, sizeof x->arch, "%s", isa);
  ms_label(b, x->label, sizeof x->label);
  plugin_geometry(b, x->plugin, sizeof x->plugin);
  x->page = b->page;
  x->has_l3 = b->prof.l3.size != 0;
  x->has_tlb1 = b->tlb[0] != NULL;
  x->has_tlb2 = b->tlb[1] != NULL;
  rc = 0;
out:
  free(b);
  return rc;
}

_Static_assert(NEV == sizeof ((tb_memsim_counts_t *)0)->total / sizeof(uint64_t), "one count per event");

int tb_memsim_exec_add(const char *path, tb_memsim_counts_t *c, char *err, size_t errlen) {
  ms_result_t r;
  memset(&r, 0, sizeof r);
  if (parse_result(path, &r, err, errlen)) return 1;
  if (r.overflow) {
    snprintf(err, errlen, "%s: more guest threads than the plugin keeps caches for", path);
    return 1;
  }
  c->processes++;
  c->simulated += r.simulated;
  if (r.vcpus > c->max_threads) c->max_threads = r.vcpus;
  for (int e = 0; e < NEV; e++) {
    for (int k = 0; k < TB_NMODES; k++) c->total[e] += r.n[k][e];
    c->alloc[e] += r.n[TB_MODE_ALLOC][e];
  }
  return 0;
}

void tb_memsim_exec_rows(const tb_memsim_exec_t *x, const tb_memsim_counts_t *c, double seconds, tb_emit_fn emit,
                         void *ctx) {
  ms_metric_t m[NMETRICS];
  metrics(m, x->has_l3, x->has_tlb1, x->has_tlb2);
  for (size_t i = 0; i < NMETRICS; i++) {
    char name[128];
    uint64_t t = c->total[m[i].ev], a = c->alloc[m[i].ev];
    emit(ctx, m[i].name, (double)t, m[i].absent, "1");
    snprintf(name, sizeof name, "allocator_%s", m[i].name);
    emit(ctx, name, (double)a, m[i].absent, "1");
    snprintf(name, sizeof name, "program_%s", m[i].name);
    emit(ctx, name, (double)(t - a), m[i].absent, "1");
  }
  emit(ctx, "memsim_simulated_accesses", (double)c->simulated, false, "1");
  emit(ctx, "memsim_seconds", seconds, false, "s");
  emit(ctx, "memsim_accesses_per_second", seconds > 0 ? (double)c->simulated / seconds : 0, seconds <= 0, "1/s");
  emit(ctx, "memsim_guest_threads", (double)c->max_threads, false, "1");
  emit(ctx, "memsim_deterministic", c->max_threads <= 1 && c->processes == 1 ? 1 : 0, false, "1");
  emit(ctx, "memsim_page_bytes", (double)x->page, false, "B");
  emit(ctx, "simulated_processes", (double)c->processes, false, "1");
}

const tb_backend_t tb_backend_memsim = {
    .name = "memsim",
    .summary = "simulated L1D/L2/L3 and data TLBs of a machine profile (memsim:PROFILE[,page=SIZE][,arch=ISA]) "
               "under qemu-user with a TCG plugin; allocator/harness/program split",
    .open = ms_open,
    .thread_begin = ms_thread,
    .thread_end = ms_thread,
    .window_begin = ms_window_begin,
    .window_end = ms_window_end,
    .reexec = ms_reexec,
    .report = ms_report,
    .close = ms_close,
    .available = ms_available,
    .meta = ms_meta,
    .label = ms_label,
};
