/* cmd_record.c: `testbed record`: run a dynamically linked program with
 * the recording library (libtbrecord.so, beside the testbed binary)
 * preloaded, then turn the raw logs it left (one per process image, see
 * workloads/recorder/tbrecord_raw.h) into traces with the raw-log importer
 * (workloads/import_raw.c, import.h).
 *
 * Processes: the main trace (FILE) is the last image of the process that
 * testbed started (after any execs of wrappers), or with --main NAME the
 * largest image whose executable is named NAME. Every other image becomes
 * FILE.<pid> (FILE.<pid>.<k> for the k-th image of a process that exec'd)
 * unless --children drop. All traces are written under temporary names
 * and renamed at the end; on any error none is left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_cli.h"
#include "import.h"
#include "trace.h"

/* ---- provenance --------------------------------------------------------- */

/* The Debian package and version that ship exe, if dpkg knows it. */
static void package_of(const char *exe, char *out, size_t outlen) {
  snprintf(out, outlen, "unknown");
  char cmd[PATH_MAX + 128];
  if (strchr(exe, '\'')) return;
  snprintf(cmd, sizeof cmd, "dpkg -S '%s' 2>/dev/null | head -n 1", exe);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  char line[512] = "";
  if (!fgets(line, sizeof line, p)) line[0] = 0;
  pclose(p);
  char *c = strchr(line, ':');
  if (!c || c == line) return;
  *c = 0;
  char *pkg = line;
  if (strspn(pkg, "abcdefghijklmnopqrstuvwxyz0123456789.+-:") != strlen(pkg)) return;
  snprintf(cmd, sizeof cmd, "dpkg-query -W -f '${Version}' '%s' 2>/dev/null", pkg);
  p = popen(cmd, "r");
  if (!p) return;
  char ver[128] = "";
  if (!fgets(ver, sizeof ver, p)) ver[0] = 0;
  pclose(p);
  ver[strcspn(ver, "\n")] = 0;
  snprintf(out, outlen, "%s %s", pkg, ver[0] ? ver : "(version unknown)");
}

static char *provenance(const tb_raw_log_t *L, int pargc, char **pargv, const char *date, bool main_image) {
  size_t cap = 4096;
  for (int i = 0; i < pargc; i++) cap += strlen(pargv[i]) + 3;
  char *s = malloc(cap);
  if (!s) return NULL;
  char pkg[256];
  package_of(L->exe, pkg, sizeof pkg);
  size_t n = (size_t)snprintf(s, cap,
                              "recorded by: testbed record (libtbrecord raw log v%u)\n"
                              "program: %s\npackage: %s\ndate: %s\nprocess: pid %u, image %u%s\ncommand:",
                              TB_RAW_VERSION, L->exe[0] ? L->exe : "unknown", pkg, date, L->pid, L->image,
                              main_image ? " (main)" : " (child of the command)");
  for (int i = 0; i < pargc && n < cap; i++) {
    /* one line only: newlines in arguments become spaces */
    n += (size_t)snprintf(s + n, cap - n, " %s", pargv[i]);
  }
  for (char *c = strstr(s, "command:"); c && *c; c++)
    if (*c == '\n') *c = ' ';
  return s;
}

/* ---- the command -------------------------------------------------------- */

static int usage(void) {
  printf("usage: testbed record -o FILE [options] -- PROGRAM [ARGS...]\n\n"
         "Runs PROGRAM with libtbrecord.so preloaded (found beside the testbed binary, or\n"
         "$TB_RECORD_LIB), then writes what it asked of malloc as a trace.\n\n"
         "options:\n"
         "  -o FILE            the trace of the main process (see below)\n"
         "  --text, --binary   format (default: from FILE's name: *.txt/*.trace text, else binary)\n"
         "  --gzip, --zstd, --no-compress\n"
         "                     compression (default: from FILE's name: *.gz, *.zst)\n"
         "  --main NAME        the main trace is the largest process image whose executable\n"
         "                     is named NAME (e.g. cc1 under gcc); default: the last image of\n"
         "                     the process started (after any exec)\n"
         "  --children separate|drop\n"
         "                     other images go to FILE.<pid> (FILE.<pid>.<k> for the k-th\n"
         "                     image of a process that exec'd), or are dropped (default separate)\n"
         "  --max-ops N        stop each trace after N ops (the rest of the run is cut)\n"
         "  --keep-raw         keep the raw log directory (its path is printed)\n\n"
         "Frees of memory allocated before recording began are dropped and counted;\n"
         "malloc_usable_size calls are counted and not traced. A summary per trace goes\n"
         "to stderr. The exit status is 0 when the traces were written (the program's\n"
         "own failure is reported, not fatal), 1 on failure, 2 on bad usage.\n");
  return 0;
}

static int find_lib(char *out, size_t outlen) {
  const char *env = getenv("TB_RECORD_LIB");
  if (env && *env) {
    snprintf(out, outlen, "%s", env);
    return access(out, R_OK);
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return -1;
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (slash) *slash = 0;
  snprintf(out, outlen, "%s/libtbrecord.so", self);
  return access(out, R_OK);
}

static void rm_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    char p[PATH_MAX];
    while ((de = readdir(d)) != NULL) {
      if (de->d_name[0] == '.') continue;
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* The directory FILE goes into must exist and be writable: checked before
 * the program runs, so a long recording is not wasted. */
static bool out_dir_ok(const char *out) {
  char d[PATH_MAX];
  snprintf(d, sizeof d, "%s", out);
  char *s = strrchr(d, '/');
  if (!s) return access(".", W_OK) == 0;
  if (s == d) s[1] = 0;
  else *s = 0;
  return access(d, W_OK) == 0;
}

/* SIGINT, SIGTERM or SIGHUP while the program runs: passed on to it (a
 * terminal's ^C reaches it anyway); once it has ended, record removes its
 * raw logs and ends by that signal, writing no trace. */
static volatile sig_atomic_t got_signal;
static volatile pid_t recorded_child;

static void on_signal(int sig) {
  got_signal = sig;
  if (recorded_child > 0) kill(recorded_child, sig);
}

static int cmp_log(const void *a, const void *b) {
  const tb_raw_log_t *x = a, *y = b;
  if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
  return x->image < y->image ? -1 : x->image > y->image;
}

static int record_main(int argc, char **argv) {
  const char *out = NULL, *main_name = NULL;
  int fmt = 0, comp = -1;
  bool drop_children = false, keep_raw = false;
  unsigned long long max_ops = 0;
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (tb_cli_is_help(a)) return usage();
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "-o") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(a, "--text")) fmt = TB_TRACE_TEXT;
    else if (!strcmp(a, "--binary")) fmt = TB_TRACE_BINARY;
    else if (!strcmp(a, "--gzip")) comp = TB_COMPRESS_GZIP;
    else if (!strcmp(a, "--zstd")) comp = TB_COMPRESS_ZSTD;
    else if (!strcmp(a, "--no-compress")) comp = TB_COMPRESS_NONE;
    else if (!strcmp(a, "--main") && i + 1 < argc) main_name = argv[++i];
    else if (!strcmp(a, "--keep-raw")) keep_raw = true;
    else if (!strcmp(a, "--max-ops") && i + 1 < argc) {
      if (!tb_cli_parse_u64(argv[++i], &max_ops) || max_ops == 0)
        return tb_cli_usage_error("record", "--max-ops wants a positive whole number, not '%s'", argv[i]);
    } else if (!strcmp(a, "--children") && i + 1 < argc) {
      const char *v = argv[++i];
      if (!strcmp(v, "drop")) drop_children = true;
      else if (!strcmp(v, "separate")) drop_children = false;
      else return tb_cli_usage_error("record", "--children wants separate or drop, not '%s'", v);
    } else if (a[0] == '-') return tb_cli_usage_error("record", "unknown option '%s' (or missing value)", a);
    else break; /* the program, without -- */
  }
  if (!out) return tb_cli_usage_error("record", "-o FILE is required");
  if (i >= argc) return tb_cli_usage_error("record", "no program to run");
  tb_trace_format_t ffmt;
  tb_compress_t fcomp;
  tb_trace_form_from_name(out, &ffmt, &fcomp);
  if (fmt) ffmt = (tb_trace_format_t)fmt;
  if (comp >= 0) fcomp = (tb_compress_t)comp;
  if (!out_dir_ok(out)) {
    fprintf(stderr, "testbed record: %s: cannot write there: %s\n", out, strerror(errno));
    return 1;
  }
  int pargc = argc - i;
  char **pargv = argv + i;

  char lib[PATH_MAX + 32];
  if (find_lib(lib, sizeof lib)) {
    fprintf(stderr, "testbed record: %s: recording library not found (build target tbrecord, or set TB_RECORD_LIB)\n",
            lib);
    return 1;
  }
  char dir[PATH_MAX];
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/tbrecord.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "testbed record: %s: cannot create the raw log directory: %s\n", dir, strerror(errno));
    return 1;
  }
  char date[64];
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

  fflush(NULL);
  struct sigaction sa, old_sa[3];
  static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int s = 0; s < 3; s++) sigaction(sigs[s], &sa, &old_sa[s]);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "testbed record: fork: %s\n", strerror(errno));
    rm_dir(dir);
    return 1;
  }
  if (child == 0) {
    for (int s = 0; s < 3; s++) sigaction(sigs[s], &old_sa[s], NULL);
    const char *old = getenv("LD_PRELOAD");
    char pre[2 * PATH_MAX + 64];
    if (old && *old) snprintf(pre, sizeof pre, "%s:%s", lib, old);
    else snprintf(pre, sizeof pre, "%s", lib);
    setenv("LD_PRELOAD", pre, 1);
    setenv("TB_RECORD_DIR", dir, 1);
    execvp(pargv[0], pargv);
    fprintf(stderr, "testbed record: %s: cannot run: %s\n", pargv[0], strerror(errno));
    _exit(127);
  }
  /* Wait without reaping first: the zombie's /proc/PID/comm still names
   * the program the process ran last, which tells whether it exec'd
   * something the recorder could not follow. */
  char last_comm[64] = "";
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  char cpath[64];
  snprintf(cpath, sizeof cpath, "/proc/%ld/comm", (long)child);
  FILE *cf = fopen(cpath, "r");
  if (cf) {
    if (!fgets(last_comm, sizeof last_comm, cf)) last_comm[0] = 0;
    last_comm[strcspn(last_comm, "\n")] = 0;
    fclose(cf);
  }
  recorded_child = child;
  if (got_signal) kill(child, got_signal); /* arrived between fork and here */
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "testbed record: waitpid: %s\n", strerror(errno));
      rm_dir(dir);
      return 1;
    }
  }
  recorded_child = 0;
  for (int s = 0; s < 3; s++) sigaction(sigs[s], &old_sa[s], NULL);
  if (got_signal) {
    rm_dir(dir);
    fprintf(stderr, "testbed record: interrupted by signal %d (%s): no trace written\n", (int)got_signal,
            strsignal(got_signal));
    fflush(stderr);
    raise(got_signal);
    return 128 + got_signal;
  }
  char how[128] = ""; /* how the program ended, when that explains a missing trace */
  if (WIFSIGNALED(status))
    snprintf(how, sizeof how, " (it was killed by signal %d, %s, before its records were written)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));

  /* The raw logs. */
  char err[2 * PATH_MAX + 512];
  tb_raw_log_t *logs = NULL;
  size_t nlogs = 0, cap = 0;
  int rc = 0;
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, "raw.", 4)) continue;
    if (nlogs == cap) {
      cap = cap ? cap * 2 : 16;
      tb_raw_log_t *q = realloc(logs, cap * sizeof *q);
      if (!q) {
        rc = 1;
        snprintf(err, sizeof err, "%s: out of memory", dir);
        break;
      }
      logs = q;
    }
    char p[PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    if (tb_raw_log_open(p, &logs[nlogs], err, sizeof err)) {
      rc = 1;
      break;
    }
    nlogs++;
  }
  if (d) closedir(d);
  if (!rc && nlogs == 0) {
    snprintf(err, sizeof err, "%s: the program left no raw log (not dynamically linked, LD_PRELOAD removed, or it did not start)%s",
             pargv[0], how);
    rc = 1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && nlogs == 0) rc = 1;
  if (nlogs) qsort(logs, nlogs, sizeof *logs, cmp_log);

  /* Choose the main image. */
  size_t mainix = SIZE_MAX;
  for (size_t k = 0; !rc && k < nlogs; k++) {
    if (main_name) {
      if (!strcmp(base_name(logs[k].exe), main_name) && (mainix == SIZE_MAX || logs[k].nrecs > logs[mainix].nrecs))
        mainix = k;
    } else if (logs[k].pid == (uint32_t)child) {
      mainix = k; /* sorted by image: the last one wins */
    }
  }
  /* The started process exec'd a program that left no log (env -u
   * LD_PRELOAD, a static binary): its trace would be the wrapper's. */
  char unfollowed[512] = "", logs_main_exe[TB_RAW_EXE_MAX] = "";
  if (!rc && !main_name && mainix != SIZE_MAX && last_comm[0]) {
    char exe15[16]; /* comm keeps 15 bytes */
    const char *bn = base_name(logs[mainix].exe);
    size_t bl = strlen(bn) < 15 ? strlen(bn) : 15;
    memcpy(exe15, bn, bl);
    exe15[bl] = 0;
    snprintf(logs_main_exe, sizeof logs_main_exe, "%s", base_name(logs[mainix].exe));
    if (strcmp(exe15, last_comm))
      snprintf(unfollowed, sizeof unfollowed,
               "the started process ended as '%s', but its last recorded image is %s: it exec'd a program the "
               "recorder could not follow (LD_PRELOAD removed, or statically linked)",
               last_comm, logs[mainix].exe);
  }
  if (!rc && mainix == SIZE_MAX) {
    if (main_name) snprintf(err, sizeof err, "%s: no process image named '%s' was recorded", out, main_name);
    else snprintf(err, sizeof err, "%s: the started process left no raw log", out);
    rc = 1;
  }

  /* Write every trace under a temporary name (atomic_file.h); rename all
   * at the end. */
  tb_atomic_t *done = calloc(nlogs ? nlogs : 1, sizeof *done);
  char **finals = NULL;
  size_t ndone = 0, nempty = 0;
  if (!done) rc = 1;
  for (size_t k = 0; !rc && k < nlogs; k++) {
    bool is_main = k == mainix;
    if (!is_main && drop_children) continue;
    char final[PATH_MAX + 64];
    bool several = (k > 0 && logs[k - 1].pid == logs[k].pid) || (k + 1 < nlogs && logs[k + 1].pid == logs[k].pid);
    if (is_main) snprintf(final, sizeof final, "%s", out);
    else if (several) snprintf(final, sizeof final, "%s.%u.%u", out, logs[k].pid, logs[k].image);
    else snprintf(final, sizeof final, "%s.%u", out, logs[k].pid);
    char *prov = provenance(&logs[k], pargc, pargv, date, is_main);
    tb_trace_writer_t *w = prov ? tb_trace_writer_open(final, ffmt, fcomp, prov, err, sizeof err) : NULL;
    free(prov);
    if (!w) {
      if (!prov) snprintf(err, sizeof err, "%s: out of memory", final);
      rc = 1;
      break;
    }
    tb_raw_stats_t st;
    if (tb_import_raw(&logs[k], w, max_ops, &st, err, sizeof err)) {
      tb_trace_writer_abort(w);
      rc = 1;
      break;
    }
    if (st.total == 0) { /* the loader rejects a trace without ops: write none */
      tb_trace_writer_abort(w);
      if (is_main) {
        if (unfollowed[0]) snprintf(err, sizeof err, "%s: no trace written: %s, which made no allocator calls", out, unfollowed);
        else
          snprintf(err, sizeof err, "%s: %s made no allocator calls while recorded%s: no trace written", out,
                   logs[k].exe[0] ? logs[k].exe : pargv[0], how);
        rc = 1;
        break;
      }
      nempty++;
      continue;
    }
    if (tb_trace_writer_finish(w, &done[ndone], err, sizeof err)) { /* whole, not yet in place */
      rc = 1;
      break;
    }
    ndone++;
    fprintf(stderr,
            "testbed record: %s: %s (pid %u image %u): %llu ops (malloc %llu, calloc %llu, aligned %llu, realloc %llu, "
            "free %llu), %u threads\n",
            final, logs[k].exe, logs[k].pid, logs[k].image, (unsigned long long)st.total,
            (unsigned long long)st.ops[TB_OP_MALLOC], (unsigned long long)st.ops[TB_OP_CALLOC],
            (unsigned long long)st.ops[TB_OP_ALIGNED], (unsigned long long)st.ops[TB_OP_REALLOC],
            (unsigned long long)st.ops[TB_OP_FREE], st.threads);
    if (st.unknown_free || st.unknown_realloc || st.failed || st.usable || st.conflicts || st.bad_align ||
        st.folded_threads || st.cut)
      fprintf(stderr,
              "testbed record: %s: notice: dropped %llu frees and turned %llu reallocs into mallocs of memory "
              "allocated before recording; %llu failed calls and %llu malloc_usable_size calls not traced; "
              "%llu address conflicts repaired; %llu alignments over 1 GiB dropped; %llu thread numbers folded; "
              "%llu records cut by --max-ops\n",
              final, (unsigned long long)st.unknown_free, (unsigned long long)st.unknown_realloc,
              (unsigned long long)st.failed, (unsigned long long)st.usable, (unsigned long long)st.conflicts,
              (unsigned long long)st.bad_align, (unsigned long long)st.folded_threads, (unsigned long long)st.cut);
  }
  if (!rc) {
    /* The final names, kept for the undo (commit frees done[k]'s). */
    finals = calloc(ndone ? ndone : 1, sizeof *finals);
    for (size_t k = 0; finals && k < ndone; k++)
      if (!(finals[k] = strdup(done[k].path))) break;
    if (!finals || (ndone && !finals[ndone - 1])) {
      snprintf(err, sizeof err, "%s: out of memory", out);
      rc = 1;
      for (size_t k = 0; k < ndone; k++) tb_atomic_abort(&done[k]);
    }
    for (size_t k = 0; k < ndone && !rc; k++)
      if (tb_atomic_commit(&done[k])) {
        snprintf(err, sizeof err, "%s: cannot rename into place: %s", finals[k], strerror(errno));
        rc = 1;
        /* undo the ones already in place: all or nothing */
        for (size_t j = 0; j < k; j++) unlink(finals[j]);
        for (size_t j = k + 1; j < ndone; j++) tb_atomic_abort(&done[j]);
      }
    if (!rc && nempty)
      fprintf(stderr, "testbed record: %zu other process images made no allocator calls: no trace for them\n", nempty);
    if (!rc && drop_children && nlogs > 1)
      fprintf(stderr, "testbed record: %zu other process images dropped (--children drop)\n", nlogs - 1);
  } else {
    for (size_t k = 0; k < ndone; k++) tb_atomic_abort(&done[k]);
  }
  for (size_t k = 0; k < ndone; k++) free(finals ? finals[k] : NULL);
  free(finals);
  free(done);
  for (size_t k = 0; k < nlogs; k++) tb_raw_log_close(&logs[k]);
  free(logs);
  if (keep_raw) fprintf(stderr, "testbed record: raw logs kept in %s\n", dir);
  else rm_dir(dir);
  if (rc) {
    fprintf(stderr, "testbed record: %s\n", err);
    return 1;
  }
  if (unfollowed[0])
    fprintf(stderr, "testbed record: warning: %s; %s is the trace of %s\n", unfollowed, out, logs_main_exe);
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    fprintf(stderr, "testbed record: notice: %s exited with status %d\n", pargv[0], WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    fprintf(stderr, "testbed record: notice: %s was killed by signal %d (its unflushed records are lost)\n", pargv[0],
            WTERMSIG(status));
  return 0;
}

const tb_command_t tb_cmd_record = {"record", "run a program and record its allocations as a trace", record_main};
