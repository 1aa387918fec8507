/* cmd_exec.c: `testbed exec`: runs a real, dynamically linked program once
 * per allocator and run with that allocator preloaded, and writes the same
 * tidy results as `testbed run` (harness/results.h).
 *
 * How an allocator takes over the program (the process's malloc family):
 *   design (inline, oob, ...)  LD_PRELOAD=<dir of testbed>/libtb-<design>[-l<L>].so
 *                               (allocators/shim), with TB_SHIM_STATS naming
 *                               a directory where every process of the
 *                               program writes the heap's statistics at exit
 *   glibc                      nothing preloaded
 *   peer (jemalloc, ...)       LD_PRELOAD=<the peer's library> (allocators/peers)
 *
 * Protocol: first one unmeasured reference run on glibc: the program must
 * succeed there (else an error, no results) and its standard output is the
 * reference. Then runs 1..N, and within each run every allocator in the
 * order given (interleaved, so drift of the machine hits all alike); each
 * run's standard output must equal the reference and its exit status be 0,
 * or exec stops with the reason and writes no results (--keep-going:
 * records exit_status and same_output rows instead and goes on).
 * --setup CMD (sh -c, on glibc, unmeasured) runs before every run, e.g. to
 * make a fresh copy of a repository that the program changes.
 *
 * Backends:
 *   timer (default)  wall time (fork to exit), CPU user/system time, peak
 *                    RSS (the largest of the process tree: wait4 rusage),
 *                    minor/major page faults (the tree), per run
 *   cachegrind:P     one run per allocator (simulation is deterministic)
 *                    under valgrind --tool=callgrind --cache-sim=yes with
 *                    profile P's geometry, every child process traced,
 *                    simulated from the program's start; misses split
 *                    allocator / program: the allocator's part is the
 *                    inclusive cost of every call into a malloc-family
 *                    function (or C++ operator new/delete) from outside
 *                    the family: everything between entering and leaving
 *                    it. There is no harness in the process: no harness_*.
 *   memsim:P[,page=S][,arch=ISA]
 *                    one run per allocator under qemu-user (the program's
 *                    own ISA: x86_64 here) with the memsim plugin simulating
 *                    profile P's caches and data TLBs over the whole
 *                    process, the allocator's library given to the guest
 *                    as LD_PRELOAD (-E: qemu itself runs without it);
 *                    accesses are split by the address of the instruction
 *                    that makes them: inside the preloaded library's
 *                    executable segment (for glibc: its malloc code, the
 *                    stretch of libc's text between the functions before
 *                    and after the malloc family) the allocator's, the rest
 *                    the program's (libc routines the library calls, such
 *                    as memcpy in realloc, are the program's). Forked
 *                    children are simulated and summed; a child that execs
 *                    runs natively, unsimulated. An aarch64 program is
 *                    refused (no aarch64 drop-in libraries are built, and
 *                    the glibc reference run is native).
 *   papi             refused: hardware counters around a whole program
 *                    are not implemented (the VM has none to count).
 */
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/personality.h>
#endif

#include "memsim.h"
#include "profiles.h"
#include "results.h"
#include "tb_alloc.h"
#include "tb_cli.h"
#include "tb_peers.h"

#define MAX_ALLOCS 16
#define MAX_BK 4

extern char **environ;

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed exec --allocator A[,B...] --out DIR [--runs N] [--backend LIST]\n"
          "                    [--check-level L] [--experiment NAME] [--stdin FILE]\n"
          "                    [--setup 'SHELL COMMAND'] [--name LABEL] [--keep-going] [--force]\n"
          "                    -- PROGRAM [ARGS...]\n\n"
          "Runs PROGRAM (dynamically linked; found in PATH like a shell does) N times\n"
          "(default 1) with each allocator preloaded: a design's libtb-<design>.so\n"
          "(allocators/shim, at check level L, default %d), nothing for glibc, a peer's\n"
          "own library (jemalloc, mimalloc, tcmalloc when installed). First one\n"
          "unmeasured run on glibc: PROGRAM must succeed there and its standard output\n"
          "is the reference every run must reproduce. Writes DIR/results.csv and\n"
          "DIR/meta.json only when every run succeeded.\n\n"
          "  --backend     timer (default): wall_time, cpu_user_time, cpu_sys_time,\n"
          "                max_rss (the process tree's largest), minor_faults,\n"
          "                major_faults; cachegrind:PROFILE: one simulated run per\n"
          "                allocator (callgrind, every child traced): instructions,\n"
          "                data_refs, l1d_misses, llc_misses, each also as allocator_*\n"
          "                (inside malloc-family calls) and program_* (the rest);\n"
          "                memsim:PROFILE[,page=SIZE]: one run per allocator under\n"
          "                qemu-user with the memsim plugin (x86_64 programs):\n"
          "                data_refs, l1d/l2/l3/llc_misses, dtlb/l2tlb_misses, each\n"
          "                also as allocator_* (instructions in the preloaded\n"
          "                library, or glibc's malloc code) and program_* (the rest).\n"
          "                Comma-separated: timer,cachegrind:zen3.\n"
          "  --stdin FILE  the program's standard input (default /dev/null).\n"
          "  --setup CMD   run with sh -c before every run, on glibc, not measured.\n"
          "  --name LABEL  the rows' workload (default: the program's name and\n"
          "                arguments; meta.json keeps the command either way).\n"
          "  --keep-going  a run that fails or differs from the reference is recorded\n"
          "                (exit_status, same_output) instead of stopping exec.\n"
          "  --force       replace an existing DIR/results.csv.\n\n"
          "Rows: experiment NAME:l<L> (default exec), workload = LABEL or the program's\n"
          "name and arguments, backend timer (or cachegrind/memsim, profile P); with a design also its\n"
          "statistics at exit (the TB_STAT_FIELDS names: counters summed over the\n"
          "program's processes, gauges of the first process, peak_committed_bytes the\n"
          "largest of any) and processes (how many reported); NA for glibc and peers.\n",
          tb_default_check_level());
}

/* ---- small helpers ------------------------------------------------------------ */

/* Whole file into a malloc'ed buffer (NUL-terminated); NULL when unreadable. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  while (b) {
    if (n + 4096 > cap) {
      char *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
      cap *= 2;
    }
    size_t r = fread(b + n, 1, cap - n - 1, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  if (b) b[n] = 0;
  if (len) *len = n;
  return b;
}

static int same_files(const char *a, const char *b) {
  size_t na, nb;
  char *x = slurp(a, &na), *y = slurp(b, &nb);
  int same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

/* The last line(s) of a file, at most len-1 bytes, for messages. */
static void tail_of(const char *path, char *out, size_t len) {
  size_t n;
  char *b = slurp(path, &n);
  out[0] = 0;
  if (!b) return;
  while (n && (b[n - 1] == '\n' || b[n - 1] == ' ')) b[--n] = 0;
  size_t start = n > len - 1 ? n - (len - 1) : 0;
  snprintf(out, len, "%s", b + start);
  free(b);
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      char p[4096];
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
        rm_tree(p);
      else
        unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* Find prog like execvp: as given when it has a '/', else in PATH. */
static int find_program(const char *prog, char *out, size_t len) {
  if (strchr(prog, '/')) {
    snprintf(out, len, "%s", prog);
    return access(out, X_OK);
  }
  const char *p = getenv("PATH");
  if (!p) p = "/usr/local/bin:/usr/bin:/bin";
  while (*p) {
    size_t n = strcspn(p, ":");
    snprintf(out, len, "%.*s/%s", (int)n, n ? p : ".", prog);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
    p += n;
    if (*p) p++;
  }
  return -1;
}

/* Whether the executable at path can be preloaded: an ELF file with an
 * interpreter (PT_INTERP: dynamically linked), or a script whose
 * interpreter can. 0, or -1 with the reason. */
static int check_dynamic(const char *path, int depth, char *why, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, len, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  unsigned char h[4096];
  ssize_t n = pread(fd, h, sizeof h, 0);
  if (n >= 2 && h[0] == '#' && h[1] == '!' && depth < 4) {
    close(fd);
    char interp[512];
    size_t i = 2, k = 0;
    while (i < (size_t)n && (h[i] == ' ' || h[i] == '\t')) i++;
    while (i < (size_t)n && !isspace(h[i]) && k + 1 < sizeof interp) interp[k++] = (char)h[i++];
    interp[k] = 0;
    if (!k) {
      snprintf(why, len, "%s: a script without an interpreter", path);
      return -1;
    }
    return check_dynamic(interp, depth + 1, why, len);
  }
  if (n < (ssize_t)sizeof(Elf64_Ehdr) || memcmp(h, ELFMAG, SELFMAG)) {
    close(fd);
    snprintf(why, len, "%s: not an ELF executable or a script", path);
    return -1;
  }
  int dynamic = 0;
  if (h[EI_CLASS] == ELFCLASS64) {
    Elf64_Ehdr e;
    memcpy(&e, h, sizeof e);
    for (unsigned i = 0; i < e.e_phnum; i++) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(e.e_phoff + (uint64_t)i * e.e_phentsize)) != (ssize_t)sizeof ph) break;
      if (ph.p_type == PT_INTERP) dynamic = 1;
    }
  } else if (h[EI_CLASS] == ELFCLASS32) {
    Elf32_Ehdr e;
    memcpy(&e, h, sizeof e);
    for (unsigned i = 0; i < e.e_phnum; i++) {
      Elf32_Phdr ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(e.e_phoff + (uint32_t)i * e.e_phentsize)) != (ssize_t)sizeof ph) break;
      if (ph.p_type == PT_INTERP) dynamic = 1;
    }
  }
  close(fd);
  if (!dynamic) {
    snprintf(why, len, "%s is statically linked: a preloaded allocator cannot take over its malloc", path);
    return -1;
  }
  return 0;
}

/* ---- ELF files: the ISA, a library's code, glibc's malloc code (memsim) --------------- */

/* The ELF header of path (64-bit only); 0, or -1. */
static int elf_header(int fd, Elf64_Ehdr *e) {
  if (pread(fd, e, sizeof *e, 0) != (ssize_t)sizeof *e || memcmp(e->e_ident, ELFMAG, SELFMAG) ||
      e->e_ident[EI_CLASS] != ELFCLASS64)
    return -1;
  return 0;
}

/* The ISA of an ELF executable ("x86_64", "aarch64"), or NULL. */
static const char *elf_isa(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  Elf64_Ehdr e;
  int ok = elf_header(fd, &e) == 0;
  close(fd);
  if (!ok) return NULL;
  return e.e_machine == EM_X86_64 ? "x86_64" : e.e_machine == EM_AARCH64 ? "aarch64" : NULL;
}

/* [lo, hi): the first executable PT_LOAD segment of a shared library,
 * relative to its load base. 0, or -1. */
static int elf_code(const char *path, uint64_t *lo, uint64_t *hi) {
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
  Elf64_Ehdr e;
  if (fd < 0) return -1;
  if (elf_header(fd, &e) == 0)
    for (unsigned i = 0; i < e.e_phnum && rc; i++) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof ph, (off_t)(e.e_phoff + (uint64_t)i * e.e_phentsize)) != (ssize_t)sizeof ph) break;
      if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && ph.p_memsz) *lo = ph.p_vaddr, *hi = ph.p_vaddr + ph.p_memsz, rc = 0;
    }
  close(fd);
  return rc;
}

/* glibc's malloc code in libc.so.6, relative to its load base: libc's
 * dynamic symbols name only the exported functions, not malloc.c's static
 * ones (_int_malloc, _int_free, sysmalloc, ...), which the compiler places
 * around them in malloc.o's text. So the range is the stretch from the end
 * of the last exported function below the lowest malloc-family function to
 * the first exported function above the family's highest end. 0, or -1. */
static int glibc_malloc_code(const char *libc, uint64_t *lo, uint64_t *hi) {
  static const char *const fam[] = {"malloc", "free", "cfree", "calloc", "realloc", "memalign", "aligned_alloc",
                                    "posix_memalign", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim",
                                    "mallinfo", "mallinfo2", "malloc_stats", "mallopt", "malloc_info",
                                    "__default_morecore", "__libc_malloc", "__libc_free", "__libc_calloc",
                                    "__libc_realloc", "__libc_memalign", "__libc_valloc", "__libc_pvalloc",
                                    "__libc_mallinfo", "__libc_mallopt", "__posix_memalign", NULL};
  size_t n;
  char *img = slurp(libc, &n);
  int rc = -1;
  if (!img) return -1;
  Elf64_Ehdr e;
  if (n < sizeof e) goto out;
  memcpy(&e, img, sizeof e);
  if (memcmp(e.e_ident, ELFMAG, SELFMAG) || e.e_ident[EI_CLASS] != ELFCLASS64 ||
      e.e_shoff + (uint64_t)e.e_shnum * sizeof(Elf64_Shdr) > n)
    goto out;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)(img + e.e_shoff);
  for (unsigned s = 0; s < e.e_shnum; s++) {
    if (sh[s].sh_type != SHT_DYNSYM || sh[s].sh_link >= e.e_shnum) continue;
    const Elf64_Shdr *st = &sh[sh[s].sh_link];
    if (sh[s].sh_offset + sh[s].sh_size > n || st->sh_offset + st->sh_size > n) goto out;
    const Elf64_Sym *sym = (const Elf64_Sym *)(const void *)(img + sh[s].sh_offset);
    size_t ns = sh[s].sh_size / sizeof *sym;
    uint64_t flo = UINT64_MAX, fhi = 0;
    for (int pass = 0; pass < 2; pass++) {
      uint64_t below = 0, above = UINT64_MAX;
      for (size_t i = 0; i < ns; i++) {
        int t = ELF64_ST_TYPE(sym[i].st_info);
        if ((t != STT_FUNC && t != STT_GNU_IFUNC) || sym[i].st_shndx == SHN_UNDEF || sym[i].st_name >= st->sh_size)
          continue;
        const char *name = img + st->sh_offset + sym[i].st_name;
        int in = 0;
        for (size_t k = 0; fam[k]; k++) in |= !strcmp(name, fam[k]);
        uint64_t a = sym[i].st_value, b = a + sym[i].st_size;
        if (pass == 0 && in) {
          if (a < flo) flo = a;
          if (b > fhi) fhi = b;
        } else if (pass == 1 && !in) {
          if (b <= flo && b > below) below = b;
          if (a >= fhi && a < above) above = a;
        }
      }
      if (pass == 0 && flo >= fhi) goto out;
      if (pass == 1) *lo = below ? below : flo, *hi = above != UINT64_MAX ? above : fhi, rc = 0;
    }
    break;
  }
out:
  free(img);
  return rc;
}

/* The first line a command prints (stdout), or "" (popen: not measured). */
static void first_line(const char *cmd, char *out, size_t len) {
  out[0] = 0;
  FILE *p = popen(cmd, "r");
  if (!p) return;
  if (fgets(out, (int)len, p)) out[strcspn(out, "\n")] = 0;
  while (fgetc(p) != EOF) {
  }
  pclose(p);
}

/* Shell-quote s into out ('...' with embedded quotes escaped). */
static void shell_quote(const char *s, char *out, size_t len) {
  size_t k = 0;
  if (k + 1 < len) out[k++] = '\'';
  for (; *s && k + 5 < len; s++) {
    if (*s == '\'') {
      memcpy(out + k, "'\\''", 4);
      k += 4;
    } else {
      out[k++] = *s;
    }
  }
  if (k + 1 < len) out[k++] = '\'';
  out[k] = 0;
}

/* The Debian package shipping path and its version, "pkg version", or "". */
static void package_of(const char *path, char *out, size_t len) {
  char q[4200], cmd[4400], line[512];
  shell_quote(path, q, sizeof q);
  snprintf(cmd, sizeof cmd, "dpkg-query -S %s 2>/dev/null", q);
  first_line(cmd, line, sizeof line);
  out[0] = 0;
  char *colon = strstr(line, ": ");
  if (!colon) return;
  *colon = 0;
  char *arch = strchr(line, ':'); /* "pkg:amd64" */
  char pkg[512];
  snprintf(pkg, sizeof pkg, "%s", line);
  char ver[256];
  shell_quote(pkg, q, sizeof q);
  snprintf(cmd, sizeof cmd, "dpkg-query -W -f '${Version}' %s 2>/dev/null", q);
  first_line(cmd, ver, sizeof ver);
  (void)arch;
  snprintf(out, len, "%.300s %.200s", pkg, ver);
}

/* ---- the allocators ------------------------------------------------------------ */

typedef struct {
  const char *name;
  char lib[4096]; /* LD_PRELOAD value; "" for glibc */
  int design;     /* a shim: writes statistics */
} ex_alloc_t;

static void self_dir(char *out, size_t len) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    snprintf(out, len, ".");
    return;
  }
  exe[n] = 0;
  char *s = strrchr(exe, '/');
  if (s) *s = 0;
  snprintf(out, len, "%.3400s", exe);
}

static int resolve_alloc(const char *name, int level, ex_alloc_t *a, char *err, size_t len) {
  memset(a, 0, sizeof *a);
  a->name = name;
  if (!strcmp(name, "glibc")) return 0;
  const tb_peer_t *p = tb_peer_find(name);
  if (p) {
    snprintf(a->lib, sizeof a->lib, "%s", p->lib);
    if (access(a->lib, R_OK)) {
      snprintf(err, len, "allocator '%s': %s: %s (package %s)", name, a->lib, strerror(errno), p->package);
      return -1;
    }
    return 0;
  }
  const tb_allocator_t *t = tb_allocator_find(name, level);
  if (!t) {
    snprintf(err, len, "unknown allocator '%s' (testbed list names them)", name);
    return -1;
  }
  char dir[3500];
  self_dir(dir, sizeof dir);
  if (level == tb_default_check_level())
    snprintf(a->lib, sizeof a->lib, "%s/libtb-%s.so", dir, name);
  else
    snprintf(a->lib, sizeof a->lib, "%s/libtb-%s-l%d.so", dir, name, level);
  if (access(a->lib, R_OK)) {
    snprintf(err, len, "allocator '%s' has no drop-in library at check level %d (%s: %s)", name, level, a->lib,
             strerror(errno));
    return -1;
  }
  a->design = 1;
  return 0;
}

/* ---- one run of the program ------------------------------------------------------ */

typedef struct {
  int status;           /* wait status */
  double wall, user, sys;
  long maxrss_kib;
  long minflt, majflt;
} ex_run_t;

/* Run argv with LD_PRELOAD=lib (none when lib is ""), extra env (NULL-ended
 * "K=V"), stdin from in, stdout to out, stderr to errf. wrap: argv of a
 * wrapper (valgrind ...) put in front, or NULL. 0, or -1 with a message
 * when the process could not be started. */
static int run_once(char *const argv[], const char *lib, const char *const *extra, const char *in, const char *out,
                    const char *errf, char *const *wrap, int norandom, ex_run_t *r, char *err, size_t len) {
  size_t ne = 0;
  while (environ[ne]) ne++;
  char **envp = calloc(ne + 16, sizeof *envp);
  char pre[4200];
  if (!envp) {
    snprintf(err, len, "out of memory");
    return -1;
  }
  size_t k = 0;
  for (size_t i = 0; i < ne; i++) {
    /* The user's TB_SHIM_STATS would send the designs' statistics elsewhere
     * (exec sets its own); the other TB_SHIM_* settings (TB_SHIM_LOCK) are
     * the user's and reach the program, as meta.json records them. */
    if (!strncmp(environ[i], "LD_PRELOAD=", 11) || !strncmp(environ[i], "TB_SHIM_STATS=", 14)) continue;
    envp[k++] = environ[i];
  }
  if (lib && *lib) {
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", lib);
    envp[k++] = pre;
  }
  for (size_t i = 0; extra && extra[i] && k < ne + 15; i++) envp[k++] = (char *)extra[i];
  envp[k] = NULL;
  struct timespec t0, t1;
  fflush(NULL);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    free(envp);
    snprintf(err, len, "fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644),
        e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (i < 0 || o < 0 || e < 0) _exit(126);
    dup2(i, 0), dup2(o, 1), dup2(e, 2);
#ifdef __linux__
    if (norandom) personality(ADDR_NO_RANDOMIZE);
#endif
    environ = envp;
    if (wrap) {
      char *v[128];
      size_t n = 0;
      for (size_t j = 0; wrap[j] && n < 100; j++) v[n++] = wrap[j];
      for (size_t j = 0; argv[j] && n < 127; j++) v[n++] = argv[j];
      v[n] = NULL;
      execvp(v[0], v);
    } else {
      execvp(argv[0], argv);
    }
    fprintf(stderr, "testbed exec: cannot run %s: %s\n", wrap ? wrap[0] : argv[0], strerror(errno));
    _exit(127);
  }
  free(envp);
  struct rusage ru;
  int st;
  while (wait4(pid, &st, 0, &ru) < 0)
    if (errno != EINTR) {
      snprintf(err, len, "wait4: %s", strerror(errno));
      return -1;
    }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r->status = st;
  r->wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  r->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
  r->sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
  r->maxrss_kib = ru.ru_maxrss;
  r->minflt = ru.ru_minflt;
  r->majflt = ru.ru_majflt;
  return 0;
}

static void describe_status(int st, char *out, size_t len) {
  if (WIFEXITED(st))
    snprintf(out, len, "exit status %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    snprintf(out, len, "wait status %d", st);
}

static int run_setup(const char *setup, const char *tmp, char *err, size_t len) {
  if (!setup) return 0;
  char *argv[] = {"/bin/sh", "-c", (char *)setup, NULL};
  char o[4200], e[4200];
  snprintf(o, sizeof o, "%s/setup.out", tmp);
  snprintf(e, sizeof e, "%s/setup.err", tmp);
  ex_run_t r;
  if (run_once(argv, "", NULL, "/dev/null", o, e, NULL, 0, &r, err, len)) return -1;
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status)) {
    char why[128], t[600];
    describe_status(r.status, why, sizeof why);
    tail_of(e, t, sizeof t);
    snprintf(err, len, "--setup '%s' failed (%s)%s%s", setup, why, t[0] ? ": " : "", t);
    return -1;
  }
  return 0;
}

/* ---- statistics files of the shim ------------------------------------------------- */

typedef struct {
  int processes;
  double v[64];
  int na[64];
} ex_stats_t;

static const char *const stat_names[] = {
#define X(name, unit, kind, desc) #name,
    TB_STAT_FIELDS(X)
#undef X
};
static const char *const stat_units[] = {
#define X(name, unit, kind, desc) unit,
    TB_STAT_FIELDS(X)
#undef X
};
static const int stat_counter[] = {
#define X(name, unit, kind, desc) sizeof(#kind) == sizeof("counter"),
    TB_STAT_FIELDS(X)
#undef X
};
#define NSTATS (sizeof stat_names / sizeof stat_names[0])
_Static_assert(NSTATS <= 64, "ex_stats_t holds 64 fields");

/* Read every DIR/stats.* file: counters summed; gauges from the process
 * that exec started (its pid is first_pid), peak_committed_bytes the
 * largest of any process. */
static void read_stats(const char *dir, long first_pid, ex_stats_t *s) {
  memset(s, 0, sizeof *s);
  for (size_t i = 0; i < NSTATS; i++) s->na[i] = 1;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, "stats.", 6)) continue;
    char p[4800];
    snprintf(p, sizeof p, "%.4200s/%.256s", dir, de->d_name);
    char *text = slurp(p, NULL);
    if (!text) continue;
    long pid = -1;
    char *pl = strstr(text, "\npid ");
    if (pl) pid = strtol(pl + 5, NULL, 10);
    int is_main = pid == first_pid;
    s->processes++;
    for (size_t i = 0; i < NSTATS; i++) {
      char key[80];
      snprintf(key, sizeof key, "\n%s ", stat_names[i]);
      char *l = strstr(text, key);
      if (!l) continue;
      l += strlen(key);
      if (!strncmp(l, "NA", 2)) continue;
      double v = strtod(l, NULL);
      if (stat_counter[i]) {
        s->v[i] = (s->na[i] ? 0 : s->v[i]) + v;
        s->na[i] = 0;
      } else if (!strcmp(stat_names[i], "peak_committed_bytes")) {
        if (s->na[i] || v > s->v[i]) s->v[i] = v;
        s->na[i] = 0;
      } else if (is_main) {
        s->v[i] = v;
        s->na[i] = 0;
      }
    }
    free(text);
  }
  closedir(d);
}

/* ---- callgrind: allocator = calls into the malloc family --------------------------- */

static int family_fn(const char *fn) {
  static const char *const names[] = {"malloc", "free", "calloc", "realloc", "reallocarray", "memalign",
                                      "posix_memalign", "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size",
                                      "cfree", "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
                                      "__libc_memalign", "__libc_valloc", "__libc_pvalloc", "__posix_memalign",
                                      NULL};
  /* callgrind may append "'2" (recursion level) to a name */
  size_t n = strcspn(fn, "'");
  for (size_t i = 0; names[i]; i++)
    if (strlen(names[i]) == n && !strncmp(fn, names[i], n)) return 1;
  /* C++ operator new/delete (mangled: --demangle=no) */
  return !strncmp(fn, "_Znw", 4) || !strncmp(fn, "_Zna", 4) || !strncmp(fn, "_Zdl", 4) || !strncmp(fn, "_Zda", 4);
}

enum { CG_IR, CG_DR, CG_DW, CG_D1MR, CG_D1MW, CG_DLMR, CG_DLMW, CG_N };
static const char *const cg_ev[CG_N] = {"Ir", "Dr", "Dw", "D1mr", "D1mw", "DLmr", "DLmw"};

typedef struct {
  double total[CG_N], alloc[CG_N];
} ex_cg_t;

/* Add one callgrind output file (--compress-strings=no --compress-pos=no). */
static int cg_parse(const char *path, ex_cg_t *c, char *err, size_t len) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, len, "%s:0: cannot open: %s", path, strerror(errno));
    return -1;
  }
  int col[32], ncol = 0, lineno = 0, rc = 0, cur_family = 0, callee_family = 0, pending = 0, have_tot = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (!strncmp(line, "events:", 7)) {
      ncol = 0;
      char *save = NULL;
      for (char *t = strtok_r(line + 7, " \t", &save); t && ncol < 32; t = strtok_r(NULL, " \t", &save)) {
        col[ncol] = -1;
        for (int e = 0; e < CG_N; e++)
          if (!strcmp(t, cg_ev[e])) col[ncol] = e;
        ncol++;
      }
    } else if (!strncmp(line, "fn=", 3)) {
      cur_family = family_fn(line + 3);
    } else if (!strncmp(line, "cfn=", 4)) {
      callee_family = family_fn(line + 4);
    } else if (!strncmp(line, "calls=", 6)) {
      pending = 1;
    } else if (!strncmp(line, "totals:", 7) || !strncmp(line, "summary:", 8)) {
      if (have_tot) continue;
      have_tot = 1;
      char *save = NULL, *s = strchr(line, ':') + 1;
      int k = 0;
      for (char *t = strtok_r(s, " \t", &save); t && k < ncol; t = strtok_r(NULL, " \t", &save), k++)
        if (col[k] >= 0) c->total[col[k]] += strtod(t, NULL);
    } else if (isdigit((unsigned char)line[0]) || line[0] == '+' || line[0] == '-' || line[0] == '*') {
      if (!pending) continue;
      pending = 0;
      if (!callee_family || cur_family) continue;
      char *save = NULL;
      char *t = strtok_r(line, " \t", &save); /* the position */
      int k = 0;
      for (t = strtok_r(NULL, " \t", &save); t && k < ncol; t = strtok_r(NULL, " \t", &save), k++)
        if (col[k] >= 0) c->alloc[col[k]] += strtod(t, NULL);
    }
  }
  free(line);
  fclose(f);
  if (!ncol) {
    snprintf(err, len, "%s:%d: no 'events:' line (not a callgrind output file?)", path, lineno);
    rc = -1;
  } else if (!have_tot) {
    snprintf(err, len, "%s:%d: no 'totals:' or 'summary:' line", path, lineno);
    rc = -1;
  }
  return rc;
}

/* ---- the command --------------------------------------------------------------------- */

typedef struct {
  char spec[128];
  int cachegrind; /* else timer, unless memsim */
  int memsim;
  const char *profile;
  tb_memsim_exec_t ms; /* memsim: qemu, plugin, label */
} ex_bk_t;


typedef struct {
  tb_results_t *res;
  const char *exp, *alloc, *workload, *backend, *profile;
  unsigned run;
} ex_emit_t;

static void row(ex_emit_t *e, const char *metric, double v, int na, const char *unit) {
  tb_results_row(e->res, e->exp, e->alloc, e->workload, e->backend, e->profile, 1, e->run, metric, v, na, unit);
}

static void ms_emit(void *ctx, const char *metric, double v, bool na, const char *unit) {
  row(ctx, metric, v, na, unit);
}

/* The plugin's options for one run of allocator a: the profile's geometry,
 * the whole process counted, one output file per process in dir, and the
 * allocator's code (the preloaded library's executable segment; glibc's
 * malloc code when nothing is preloaded). 0, or -1 with the reason. */
static int ms_options(const ex_bk_t *b, const ex_alloc_t *a, const char *dir, char *opt, size_t len, char *err,
                      size_t errlen) {
  char code[PATH_MAX];
  uint64_t lo = 0, hi = 0;
  const char *lib = a->lib[0] ? a->lib
                              : !strcmp(b->ms.arch, "aarch64") ? "/lib/aarch64-linux-gnu/libc.so.6"
                                                                : "/lib/x86_64-linux-gnu/libc.so.6";
  if (!realpath(lib, code)) {
    snprintf(err, errlen, "memsim: %s: %s", lib, strerror(errno));
    return -1;
  }
  if (a->lib[0] ? elf_code(code, &lo, &hi) : glibc_malloc_code(code, &lo, &hi)) {
    snprintf(err, errlen, "memsim: %s: cannot find %s in it", code,
             a->lib[0] ? "an executable segment" : "glibc's malloc code (its dynamic symbols)");
    return -1;
  }
  if (strchr(code, ',') || strchr(dir, ',')) { /* qemu splits plugin arguments at commas */
    snprintf(err, errlen, "memsim: a path with a comma cannot be given to the plugin: %s", strchr(code, ',') ? code : dir);
    return -1;
  }
  int n = snprintf(opt, len, "%s,out=%s/counts,pidout=1,window=all,code=%llx-%llx:%s", b->ms.plugin, dir,
                   (unsigned long long)lo, (unsigned long long)hi, code);
  if (n < 0 || (size_t)n >= len) {
    snprintf(err, errlen, "memsim: the plugin's options are too long (paths of %zu and %zu bytes)", strlen(dir),
             strlen(code));
    return -1;
  }
  return 0;
}

static int exec_main(int argc, char **argv) {
  const char *alloc_list = NULL, *out = NULL, *backend_s = "timer", *experiment = "exec", *in = "/dev/null",
             *setup = NULL, *name = NULL;
  unsigned long long runs = 1, level = (unsigned long long)tb_default_check_level();
  int keep_going = 0, force = 0, i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (!strcmp(a, "--")) {
      i++;
      break;
    } else if (tb_cli_is_help(a)) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--allocator") && has) {
      alloc_list = argv[++i];
    } else if (!strcmp(a, "--out") && has) {
      out = argv[++i];
    } else if (!strcmp(a, "--runs") && has) {
      if (!tb_cli_parse_u64(argv[++i], &runs) || runs < 1 || runs > 10000)
        return tb_cli_usage_error("exec", "--runs wants a number 1..10000, not '%s'", argv[i]);
    } else if (!strcmp(a, "--check-level") && has) {
      if (!tb_cli_parse_u64(argv[++i], &level) || level > 3)
        return tb_cli_usage_error("exec", "--check-level wants 0..3, not '%s'", argv[i]);
    } else if (!strcmp(a, "--backend") && has) {
      backend_s = argv[++i];
    } else if (!strcmp(a, "--experiment") && has) {
      experiment = argv[++i];
    } else if (!strcmp(a, "--stdin") && has) {
      in = argv[++i];
    } else if (!strcmp(a, "--setup") && has) {
      setup = argv[++i];
    } else if (!strcmp(a, "--name") && has) {
      name = argv[++i];
    } else if (!strcmp(a, "--keep-going")) {
      keep_going = 1;
    } else if (!strcmp(a, "--force")) {
      force = 1;
    } else {
      return tb_cli_usage_error("exec", "unknown option or missing value '%s'", a);
    }
  }
  if (!alloc_list || !out) return tb_cli_usage_error("exec", "needs --allocator and --out");
  if (i >= argc) return tb_cli_usage_error("exec", "no program given (after --)");
  char **prog = argv + i;
  if (!*experiment || strpbrk(experiment, ",\"\n"))
    return tb_cli_usage_error("exec", "--experiment wants a name without commas or quotes");
  if (name && (!*name || strlen(name) > 200 || strpbrk(name, ",\"\n")))
    return tb_cli_usage_error("exec", "--name wants a label of 1..200 characters without commas, quotes or newlines");
  if (access(in, R_OK)) return tb_cli_usage_error("exec", "--stdin %s: %s", in, strerror(errno));

  /* The program. */
  char path[4096], why[4400];
  if (find_program(prog[0], path, sizeof path)) {
    fprintf(stderr, "testbed exec: %s: program not found%s\n", prog[0], strchr(prog[0], '/') ? "" : " in PATH");
    return 2;
  }
  if (check_dynamic(path, 0, why, sizeof why)) {
    fprintf(stderr, "testbed exec: %s\n", why);
    return 2;
  }
  const char *isa = elf_isa(path); /* NULL: a script, or another ISA */

  /* Allocators. */
  ex_alloc_t allocs[MAX_ALLOCS];
  size_t na = 0;
  char names[1024], err[4600];
  snprintf(names, sizeof names, "%s", alloc_list);
  char *save = NULL;
  for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
    if (na == MAX_ALLOCS) return tb_cli_usage_error("exec", "at most %d allocators", MAX_ALLOCS);
    for (size_t k = 0; k < na; k++)
      if (!strcmp(allocs[k].name, n)) return tb_cli_usage_error("exec", "allocator '%s' is named twice", n);
    if (resolve_alloc(n, (int)level, &allocs[na], err, sizeof err)) return tb_cli_usage_error("exec", "%s", err);
    na++;
  }
  if (!na) return tb_cli_usage_error("exec", "--allocator names no allocator");

  /* Backends. */
  ex_bk_t bks[MAX_BK];
  size_t nbk = 0;
  char bspec[512], bl[MAX_BK][128];
  snprintf(bspec, sizeof bspec, "%s", backend_s);
  /* KEY=VALUE after NAME:PROFILE is an option of that spec
   * (memsim:neoverse-n1,page=64K): the pieces are joined back */
  size_t nbl = 0;
  save = NULL;
  for (char *s = strtok_r(bspec, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
    if (nbl && strchr(s, '=') && !strchr(s, ':') && strchr(bl[nbl - 1], ':')) {
      size_t l = strlen(bl[nbl - 1]);
      if (snprintf(bl[nbl - 1] + l, sizeof bl[0] - l, ",%s", s) >= (int)(sizeof bl[0] - l))
        return tb_cli_usage_error("exec", "backend '%s,%s' is too long", bl[nbl - 1], s);
      continue;
    }
    if (nbl == MAX_BK) return tb_cli_usage_error("exec", "too many backends");
    if (snprintf(bl[nbl], sizeof bl[0], "%s", s) >= (int)sizeof bl[0])
      return tb_cli_usage_error("exec", "backend '%s' is too long", s);
    nbl++;
  }
  for (size_t bj = 0; bj < nbl; bj++) {
    char *s = bl[bj];
    if (nbk == MAX_BK) return tb_cli_usage_error("exec", "too many backends");
    ex_bk_t *b = &bks[nbk];
    memset(b, 0, sizeof *b);
    if (snprintf(b->spec, sizeof b->spec, "%s", s) >= (int)sizeof b->spec)
      return tb_cli_usage_error("exec", "backend '%s' is too long", s);
    char *colon = strchr(b->spec, ':');
    if (colon) *colon = 0;
    if (!strcmp(b->spec, "timer") && !colon) {
      b->cachegrind = 0;
    } else if (!strcmp(b->spec, "cachegrind")) {
      b->cachegrind = 1;
      b->profile = colon ? colon + 1 : "host";
      tb_profile_t p;
      if (tb_profile_get(b->profile, &p, err, sizeof err) || tb_profile_check_valgrind(&p, err, sizeof err))
        return tb_cli_usage_error("exec", "--backend %s: %s", s, err);
      char vg[4096];
      if (find_program("valgrind", vg, sizeof vg)) {
        fprintf(stderr, "testbed exec: backend %s cannot measure here: valgrind is not installed\n", s);
        return 2;
      }
    } else if (!strcmp(b->spec, "memsim")) {
      if (!isa) {
        fprintf(stderr, "testbed exec: backend %s: %s is not an x86_64 or aarch64 ELF executable (qemu-user runs "
                        "no scripts: give the interpreter as the program)\n", s, path);
        return 2;
      }
      if (!strcmp(isa, "aarch64")) {
        fprintf(stderr, "testbed exec: backend %s: %s is an aarch64 program: exec runs its glibc reference "
                        "natively and the aarch64 build (build/aarch64) has no drop-in libraries; memsim in exec "
                        "runs x86_64 programs (any profile's geometry)\n", s, path);
        return 2;
      }
      if (tb_memsim_exec_setup(colon ? colon + 1 : "", isa, &b->ms, err, sizeof err)) {
        fprintf(stderr, "testbed exec: backend %s: %s\n", s, err);
        return 2;
      }
      b->memsim = 1;
      b->profile = b->ms.label;
    } else if (!strcmp(b->spec, "papi")) {
      fprintf(stderr, "testbed exec: backend papi: counting a whole program with PAPI is not implemented; use "
                      "timer or cachegrind:PROFILE\n");
      return 2;
    } else {
      return tb_cli_usage_error("exec", "unknown backend '%s' (timer, cachegrind:PROFILE, memsim:PROFILE)", s);
    }
    for (size_t k = 0; k < nbk; k++)
      if (!strcmp(bks[k].spec, b->spec) && (!b->profile || !strcmp(bks[k].profile, b->profile)))
        return tb_cli_usage_error("exec", "backend '%s' is named twice", s);
    nbk++;
  }
  if (!nbk) return tb_cli_usage_error("exec", "--backend names no backend");

  /* Scratch directory. */
  const char *tmpenv = getenv("TMPDIR");
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s/testbed-exec-XXXXXX", tmpenv && *tmpenv ? tmpenv : "/tmp");
  if (!mkdtemp(tmp)) {
    fprintf(stderr, "testbed exec: %s: cannot make a scratch directory: %s\n", tmp, strerror(errno));
    return 1;
  }
  char ref_out[4200], ref_err[4200], o[4200], e[4200], sdir[4200];
  snprintf(ref_out, sizeof ref_out, "%s/reference.out", tmp);
  snprintf(ref_err, sizeof ref_err, "%s/reference.err", tmp);
  snprintf(o, sizeof o, "%s/run.out", tmp);
  snprintf(e, sizeof e, "%s/run.err", tmp);
  int rc = 0;
  tb_results_t *res = NULL;

  /* The reference run on glibc. */
  ex_run_t r;
  if (run_setup(setup, tmp, err, sizeof err) ||
      run_once(prog, "", NULL, in, ref_out, ref_err, NULL, 0, &r, err, sizeof err)) {
    fprintf(stderr, "testbed exec: %s\n", err);
    rc = 1;
    goto done;
  }
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
    char st[128], t[800];
    describe_status(r.status, st, sizeof st);
    tail_of(ref_err, t, sizeof t);
    fprintf(stderr, "testbed exec: %s fails on glibc too (%s): no results%s%s\n", prog[0], st,
            t[0] ? "; its stderr ends:\n" : "", t);
    rc = 2;
    goto done;
  }

  tb_results_mode_t mode = force ? TB_RESULTS_FORCE : TB_RESULTS_NEW;
  if (!(res = tb_results_open(out, mode, argc + 1, argv - 1, err, sizeof err))) {
    fprintf(stderr, "testbed exec: %s\n", err);
    rc = 1;
    goto done;
  }

  /* Workload name: --name, else the program's name and arguments. */
  char workload[1024];
  if (name) {
    snprintf(workload, sizeof workload, "%s", name);
  } else {
    const char *b = strrchr(prog[0], '/');
    size_t k = (size_t)snprintf(workload, sizeof workload, "%s", b ? b + 1 : prog[0]);
    for (char **p = prog + 1; *p && k < sizeof workload - 2; p++)
      k += (size_t)snprintf(workload + k, sizeof workload - k, " %s", *p);
  }
  char exp[300];
  snprintf(exp, sizeof exp, "%s:l%llu", experiment, level);
  int failures = 0;

  for (size_t bi = 0; bi < nbk && !rc; bi++) {
    unsigned nrun = bks[bi].cachegrind || bks[bi].memsim ? 1 : (unsigned)runs; /* simulation is deterministic */
    for (unsigned run = 1; run <= nrun && !rc; run++) {
      for (size_t ai = 0; ai < na && !rc; ai++) {
        ex_alloc_t *a = &allocs[ai];
        snprintf(sdir, sizeof sdir, "%s/stats-%zu-%zu-%u", tmp, bi, ai, run);
        if (mkdir(sdir, 0755)) {
          fprintf(stderr, "testbed exec: %s: %s\n", sdir, strerror(errno));
          rc = 1;
          break;
        }
        char senv[4400];
        snprintf(senv, sizeof senv, "TB_SHIM_STATS=%s", sdir);
        const char *extra[2] = {a->design ? senv : NULL, NULL};
        char cgdir[4200], cgout[4300], cglog[4300];
        char *wrap[32] = {NULL}, geo[3][96];
        if (bks[bi].cachegrind) {
          snprintf(cgdir, sizeof cgdir, "%s/cg-%zu", tmp, ai);
          mkdir(cgdir, 0755);
          tb_profile_t p;
          tb_profile_get(bks[bi].profile, &p, err, sizeof err);
          const tb_cache_level_t *lv[3] = {&p.l1i, &p.l1d, tb_profile_ll(&p)};
          const char *opt[3] = {"--I1", "--D1", "--LL"};
          for (int k = 0; k < 3; k++) {
            unsigned long long ways = lv[k]->ways == TB_WAYS_FULL ? lv[k]->size / lv[k]->line : lv[k]->ways;
            snprintf(geo[k], sizeof geo[k], "%s=%llu,%llu,%u", opt[k], (unsigned long long)lv[k]->size, ways,
                     lv[k]->line);
          }
          snprintf(cgout, sizeof cgout, "--callgrind-out-file=%s/cg.%%p", cgdir);
          snprintf(cglog, sizeof cglog, "--log-file=%s/log.%%p", cgdir);
          int k = 0;
          wrap[k++] = "valgrind", wrap[k++] = "--tool=callgrind", wrap[k++] = "--cache-sim=yes";
          wrap[k++] = geo[0], wrap[k++] = geo[1], wrap[k++] = geo[2];
          wrap[k++] = "--trace-children=yes", wrap[k++] = "--demangle=no", wrap[k++] = "--dump-instr=no";
          wrap[k++] = "--compress-strings=no", wrap[k++] = "--compress-pos=no";
          wrap[k++] = cgout, wrap[k++] = cglog, wrap[k++] = "--";
          wrap[k] = NULL;
        }
        /* memsim: qemu-user runs the program by its path (-0: with its own
         * argv[0]); the library is preloaded into the guest only (-E), never
         * into qemu */
        char msdir[4200], msopt[4096], mspre[4200], *margv[256];
        if (bks[bi].memsim) {
          snprintf(msdir, sizeof msdir, "%s/ms-%zu", tmp, ai);
          mkdir(msdir, 0755);
          if (ms_options(&bks[bi], a, msdir, msopt, sizeof msopt, err, sizeof err)) {
            fprintf(stderr, "testbed exec: %s\n", err);
            rc = 1;
            break;
          }
          int k = 0;
          wrap[k++] = bks[bi].ms.qemu, wrap[k++] = "-0", wrap[k++] = prog[0], wrap[k++] = "-plugin", wrap[k++] = msopt;
          if (a->lib[0]) {
            snprintf(mspre, sizeof mspre, "LD_PRELOAD=%s", a->lib);
            wrap[k++] = "-E", wrap[k++] = mspre;
          }
          wrap[k] = NULL;
          size_t j = 0;
          margv[j++] = path;
          for (char **p = prog + 1; *p && j < 255; p++) margv[j++] = *p;
          margv[j] = NULL;
        }
        int sim = bks[bi].cachegrind || bks[bi].memsim;
        if (run_setup(setup, tmp, err, sizeof err) ||
            run_once(bks[bi].memsim ? margv : prog, bks[bi].memsim ? "" : a->lib, extra, in, o, e, sim ? wrap : NULL,
                     sim, &r, err, sizeof err)) {
          fprintf(stderr, "testbed exec: %s\n", err);
          rc = 1;
          break;
        }
        int ok = WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, same = same_files(o, ref_out);
        ex_emit_t em = {res, exp, a->name, workload,
                        bks[bi].cachegrind ? "cachegrind" : bks[bi].memsim ? "memsim" : "timer",
                        sim ? bks[bi].profile : "host", run};
        if (!ok || !same) {
          char st[128], t[800];
          describe_status(r.status, st, sizeof st);
          tail_of(e, t, sizeof t);
          fprintf(stderr, "testbed exec: %s on %s, run %u: %s%s%s\n", prog[0], a->name, run, ok ? "" : st,
                  ok || same ? "" : ", and ", same ? "" : "output differs from glibc's");
          if (t[0]) fprintf(stderr, "  its stderr ends:\n%s\n", t);
          failures++;
          if (!keep_going) {
            rc = 1;
            break;
          }
        }
        row(&em, "exit_status", WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status), 0, "1");
        row(&em, "same_output", same, 0, "1");
        if (bks[bi].memsim) {
          tb_memsim_counts_t c;
          memset(&c, 0, sizeof c);
          DIR *d = opendir(msdir);
          if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
              char p[4500];
              snprintf(p, sizeof p, "%s/%s", msdir, de->d_name);
              if (!strncmp(de->d_name, "counts.", 7) && !rc && tb_memsim_exec_add(p, &c, err, sizeof err)) {
                fprintf(stderr, "testbed exec: %s\n", err);
                rc = 1;
              }
              if (de->d_name[0] != '.') unlink(p);
            }
            closedir(d);
          }
          rmdir(msdir);
          if (!rc && !c.processes) {
            fprintf(stderr, "testbed exec: memsim: the plugin wrote no output for %s\n", a->name);
            rc = 1;
          }
          if (rc) break;
          tb_memsim_exec_rows(&bks[bi].ms, &c, r.wall, ms_emit, &em);
        } else if (!bks[bi].cachegrind) {
          row(&em, "wall_time", r.wall, 0, "s");
          row(&em, "cpu_user_time", r.user, 0, "s");
          row(&em, "cpu_sys_time", r.sys, 0, "s");
          row(&em, "max_rss", (double)r.maxrss_kib * 1024.0, 0, "B");
          row(&em, "minor_faults", (double)r.minflt, 0, "1");
          row(&em, "major_faults", (double)r.majflt, 0, "1");
          /* gauges come from the process exec started: the smallest pid of the
           * run (pids do not wrap within one run of these programs) */
          ex_stats_t s;
          DIR *d = opendir(sdir);
          long first = -1;
          if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
              if (strncmp(de->d_name, "stats.", 6)) continue;
              long pid = strtol(de->d_name + 6, NULL, 10);
              if (first < 0 || pid < first) first = pid;
            }
            closedir(d);
          }
          read_stats(sdir, first, &s);
          for (size_t k = 0; k < NSTATS; k++)
            row(&em, stat_names[k], s.v[k], !a->design || s.na[k], stat_units[k]);
          row(&em, "processes", s.processes, !a->design, "1");
        } else {
          ex_cg_t c;
          memset(&c, 0, sizeof c);
          DIR *d = opendir(cgdir);
          int files = 0;
          if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL && !rc) {
              char p[4500];
              snprintf(p, sizeof p, "%s/%s", cgdir, de->d_name);
              if (!strncmp(de->d_name, "cg.", 3)) {
                if (cg_parse(p, &c, err, sizeof err)) {
                  fprintf(stderr, "testbed exec: cachegrind: %s\n", err);
                  rc = 1;
                }
                files++;
              }
              unlink(p);
            }
            closedir(d);
          }
          rmdir(cgdir);
          if (!rc && !files) {
            fprintf(stderr, "testbed exec: cachegrind: valgrind wrote no output for %s\n", a->name);
            rc = 1;
          }
          if (rc) break;
          static const char *const mname[4] = {"instructions", "data_refs", "l1d_misses", "llc_misses"};
          for (int m = 0; m < 4; m++) {
            double t = m == 0 ? c.total[CG_IR] : m == 1 ? c.total[CG_DR] + c.total[CG_DW]
                                             : m == 2 ? c.total[CG_D1MR] + c.total[CG_D1MW]
                                                      : c.total[CG_DLMR] + c.total[CG_DLMW];
            double al = m == 0 ? c.alloc[CG_IR] : m == 1 ? c.alloc[CG_DR] + c.alloc[CG_DW]
                                              : m == 2 ? c.alloc[CG_D1MR] + c.alloc[CG_D1MW]
                                                       : c.alloc[CG_DLMR] + c.alloc[CG_DLMW];
            if (al > t) al = t;
            char nm[64];
            row(&em, mname[m], t, 0, "1");
            snprintf(nm, sizeof nm, "allocator_%s", mname[m]);
            row(&em, nm, al, 0, "1");
            snprintf(nm, sizeof nm, "program_%s", mname[m]);
            row(&em, nm, t - al, 0, "1");
          }
          row(&em, "simulated_processes", files, 0, "1");
        }
        rm_tree(sdir);
      }
    }
  }

  if (!rc) {
    char line[512];
    tb_results_meta_str(res, "experiment", experiment);
    tb_results_meta_num(res, "check_level", (double)level);
    tb_results_meta_str(res, "allocators", alloc_list);
    tb_results_meta_str(res, "workload", workload);
    tb_results_meta_str(res, "program", path);
    char real[PATH_MAX];
    if (realpath(path, real)) tb_results_meta_str(res, "program_resolved", real);
    package_of(path, line, sizeof line);
    if (!line[0] && realpath(path, real)) package_of(real, line, sizeof line);
    tb_results_meta_str(res, "program_package", line[0] ? line : "unknown");
    char q[4200], cmd[4400];
    shell_quote(path, q, sizeof q);
    snprintf(cmd, sizeof cmd, "%s --version 2>&1 </dev/null", q);
    first_line(cmd, line, sizeof line);
    tb_results_meta_str(res, "program_version", line);
    tb_results_meta_str(res, "glibc_version", gnu_get_libc_version());
    for (size_t k = 0; k < na; k++) {
      char key[128];
      snprintf(key, sizeof key, "preload_%s", allocs[k].name);
      tb_results_meta_str(res, key, allocs[k].lib[0] ? allocs[k].lib : "(none: the system malloc)");
      if (allocs[k].lib[0] && !allocs[k].design) {
        package_of(allocs[k].lib, line, sizeof line);
        snprintf(key, sizeof key, "package_%s", allocs[k].name);
        tb_results_meta_str(res, key, line[0] ? line : "unknown");
      }
    }
    static const char *const envs[] = {"PATH", "LANG", "LC_ALL", "TZ", "HOME", "PYTHONHASHSEED", "GLIBC_TUNABLES",
                                       "MALLOC_ARENA_MAX", "TB_SHIM_LOCK", NULL};
    for (size_t k = 0; envs[k]; k++) {
      const char *v = getenv(envs[k]);
      char key[64];
      snprintf(key, sizeof key, "env_%s", envs[k]);
      if (v) tb_results_meta_str(res, key, v);
    }
    tb_results_meta_str(res, "stdin", in);
    if (setup) tb_results_meta_str(res, "setup", setup);
    tb_results_meta_num(res, "runs", (double)runs);
    tb_results_meta_str(res, "backends", backend_s);
    tb_results_meta_str(res, "protocol",
                        "a fresh process per run; one unmeasured reference run on glibc first; allocators "
                        "interleaved within each run; cachegrind and memsim once per allocator");
    tb_results_meta_num(res, "failed_runs", failures);
    if (tb_results_commit(res, err, sizeof err)) {
      fprintf(stderr, "testbed exec: %s\n", err);
      rc = 1;
    }
    res = NULL;
  }
done:
  if (res) tb_results_abort(res);
  rm_tree(tmp);
  return rc;
}

const tb_command_t tb_cmd_exec = {"exec", "run a real program with each allocator preloaded and write results",
                                  exec_main};
