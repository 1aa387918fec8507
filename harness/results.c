/* results.c: writes results.csv and meta.json of a run set (results.h),
 * atomically: temporary names first, rename on success only. */
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "results.h"
#include "tb_alloc.h"

#ifdef TB_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef TB_HAVE_ZSTD
#include <zstd.h>
#endif

struct tb_results_s {
  char *dir;
  char csv_tmp[4096], meta_tmp[4096];
  FILE *csv;
  bool made_dir;
  bool csv_made, meta_made; /* the temporary files exist */
  char *command;  /* the command line, shell-quoted where needed */
  char *extra;    /* extra meta.json members, ",\n  \"k\": v" each */
  size_t extra_len;
  bool failed;
};

static void append(char **s, size_t *len, const char *add) {
  size_t n = strlen(add);
  char *q = realloc(*s, *len + n + 1);
  if (!q) return;
  memcpy(q + *len, add, n + 1);
  *s = q;
  *len += n;
}

/* JSON string literal of s into a fresh string. */
static char *json_str(const char *s) {
  size_t n = strlen(s);
  char *o = malloc(n * 6 + 3), *p = o;
  if (!o) return NULL;
  *p++ = '"';
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = (char)c;
    } else if (c == '\n') {
      *p++ = '\\';
      *p++ = 'n';
    } else if (c < 0x20) {
      p += sprintf(p, "\\u%04x", c);
    } else {
      *p++ = (char)c;
    }
  }
  *p++ = '"';
  *p = 0;
  return o;
}

static int mkdir_p(const char *dir, bool *made) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", dir);
  struct stat st;
  if (stat(buf, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) && errno != EEXIST) return errno;
    *p = '/';
  }
  if (mkdir(buf, 0755) && errno != EEXIST) return errno;
  *made = true;
  return 0;
}

tb_results_t *tb_results_open(const char *dir, int argc, char **argv, char *err, size_t errlen) {
  tb_results_t *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  int e = mkdir_p(dir, &r->made_dir);
  if (e) {
    snprintf(err, errlen, "%s: cannot create the output directory: %s", dir, strerror(e));
    free(r);
    return NULL;
  }
  r->dir = strdup(dir);
  snprintf(r->csv_tmp, sizeof r->csv_tmp, "%s/.results.csv.XXXXXX", dir);
  snprintf(r->meta_tmp, sizeof r->meta_tmp, "%s/.meta.json.XXXXXX", dir);
  int fd = mkstemp(r->csv_tmp);
  r->csv_made = fd >= 0;
  if (fd < 0 || !(r->csv = fdopen(fd, "w"))) {
    snprintf(err, errlen, "%s: cannot write: %s", dir, strerror(errno));
    if (fd >= 0) close(fd);
    tb_results_abort(r);
    return NULL;
  }
  fchmod(fd, 0644);
  size_t cl = 0;
  for (int i = 0; i < argc; i++) {
    if (i) append(&r->command, &cl, " ");
    bool plain = *argv[i] != 0;
    for (const char *c = argv[i]; *c; c++)
      if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%", *c)) plain = false;
    if (plain) {
      append(&r->command, &cl, argv[i]);
    } else {
      append(&r->command, &cl, "'");
      for (const char *c = argv[i]; *c; c++) {
        char one[2] = {*c, 0};
        append(&r->command, &cl, *c == '\'' ? "'\\''" : one);
      }
      append(&r->command, &cl, "'");
    }
  }
  if (!r->command) r->command = strdup("");
  fprintf(r->csv, "# command: %s\n%s\n", r->command, TB_RESULTS_HEADER);
  return r;
}

static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

void tb_results_row(tb_results_t *r, const char *experiment, const char *allocator, const char *workload,
                    const char *backend, const char *profile, unsigned threads, unsigned run, const char *metric,
                    double value, bool na, const char *unit) {
  FILE *f = r->csv;
  const char *cols[] = {experiment, allocator, workload, backend, profile};
  for (int i = 0; i < 5; i++) {
    csv_field(f, cols[i] ? cols[i] : "");
    fputc(',', f);
  }
  fprintf(f, "%u,%u,", threads, run);
  csv_field(f, metric);
  if (na || value != value)
    fputs(",NA,", f);
  else if (value == (double)(long long)value && value < 9e15 && value > -9e15)
    fprintf(f, ",%lld,", (long long)value);
  else
    fprintf(f, ",%.6g,", value);
  csv_field(f, unit);
  fputc('\n', f);
}

void tb_results_meta_str(tb_results_t *r, const char *key, const char *value) {
  char *v = json_str(value ? value : "");
  if (!v) return;
  char head[128];
  snprintf(head, sizeof head, ",\n  \"%s\": ", key);
  append(&r->extra, &r->extra_len, head);
  append(&r->extra, &r->extra_len, v);
  free(v);
}

void tb_results_meta_num(tb_results_t *r, const char *key, double value) {
  char buf[160];
  if (value == (double)(long long)value)
    snprintf(buf, sizeof buf, ",\n  \"%s\": %lld", key, (long long)value);
  else
    snprintf(buf, sizeof buf, ",\n  \"%s\": %.6g", key, value);
  append(&r->extra, &r->extra_len, buf);
}

void tb_results_meta_raw(tb_results_t *r, const char *key, const char *json) {
  char head[128];
  snprintf(head, sizeof head, ",\n  \"%s\": ", key);
  append(&r->extra, &r->extra_len, head);
  append(&r->extra, &r->extra_len, json && *json ? json : "null");
}

/* First line of a command's output, or "" (git absent, not a checkout). */
static void first_line(const char *cmd, char *out, size_t len) {
  out[0] = 0;
  FILE *p = popen(cmd, "r");
  if (!p) return;
  if (!fgets(out, (int)len, p)) out[0] = 0;
  pclose(p);
  out[strcspn(out, "\n")] = 0;
}

static void source_dir(char *out, size_t len) {
  /* This file is <source>/harness/results.c: the build passes absolute paths. */
  snprintf(out, len, "%s", __FILE__);
  for (int k = 0; k < 2; k++) {
    char *s = strrchr(out, '/');
    if (s) *s = 0;
    else snprintf(out, len, ".");
  }
}

static void put(FILE *f, const char *key, const char *value, bool first) {
  char *v = json_str(value);
  fprintf(f, "%s\n  \"%s\": %s", first ? "" : ",", key, v ? v : "\"\"");
  free(v);
}

int tb_results_commit(tb_results_t *r, char *err, size_t errlen) {
  int fd = mkstemp(r->meta_tmp);
  r->meta_made = fd >= 0;
  FILE *m = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!m) {
    if (fd >= 0) close(fd);
    snprintf(err, errlen, "%s: cannot write meta.json: %s", r->dir, strerror(errno));
    tb_results_abort(r);
    return -1;
  }
  fchmod(fd, 0644);
  char src[4096], cmd[4400], commit[128], dirty[16], buf[512];
  source_dir(src, sizeof src);
  snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", src);
  first_line(cmd, commit, sizeof commit);
  snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -1", src);
  first_line(cmd, dirty, sizeof dirty);
  fputc('{', m);
  put(m, "command", r->command, true);
  put(m, "commit", commit[0] ? commit : "unknown", false);
  fprintf(m, ",\n  \"commit_dirty\": %s", !commit[0] ? "null" : dirty[0] ? "true" : "false");
#ifdef __VERSION__
  snprintf(buf, sizeof buf, "%s %s", 
#ifdef __clang__
           "clang",
#else
           "gcc",
#endif
           __VERSION__);
  put(m, "compiler", buf, false);
#endif
#ifdef TB_BUILD_FLAGS
  put(m, "compiler_flags", TB_BUILD_FLAGS, false);
#else
  put(m, "compiler_flags", "unknown", false);
#endif
  fprintf(m, ",\n  \"default_check_level\": %d,\n  \"stats_counters\": %s", tb_default_check_level(),
          tb_stats_enabled() ? "true" : "false");
  fprintf(m, ",\n  \"libraries\": {\"glibc\": \"%s\"", gnu_get_libc_version());
#ifdef TB_HAVE_ZLIB
  fprintf(m, ", \"zlib\": \"%s\"", zlibVersion());
#endif
#ifdef TB_HAVE_ZSTD
  fprintf(m, ", \"zstd\": \"%s\"", ZSTD_versionString());
#endif
  fputc('}', m);
  struct utsname u;
  fprintf(m, ",\n  \"machine\": {");
  if (uname(&u) == 0)
    fprintf(m, "\"sysname\": \"%s\", \"release\": \"%s\", \"arch\": \"%s\", \"hostname\": \"%s\", ", u.sysname, u.release,
            u.machine, u.nodename);
  char model[256] = "";
  FILE *ci = fopen("/proc/cpuinfo", "r");
  if (ci) {
    char line[512];
    while (fgets(line, sizeof line, ci))
      if (!strncmp(line, "model name", 10) || !strncmp(line, "CPU part", 8)) {
        char *c = strchr(line, ':');
        if (c) {
          snprintf(model, sizeof model, "%s", c + 2);
          model[strcspn(model, "\n")] = 0;
          break;
        }
      }
    fclose(ci);
  }
  char *jm = json_str(model[0] ? model : "unknown");
  fprintf(m, "\"cpu\": %s, \"online_cpus\": %ld, \"page_size\": %ld, \"memory_bytes\": %lld}", jm ? jm : "\"\"",
          sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_PAGESIZE),
          (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE));
  free(jm);
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  put(m, "date", buf, false);
  if (r->extra) fputs(r->extra, m);
  fputs("\n}\n", m);
  bool ok = !ferror(m) && fclose(m) == 0;
  ok = ok && !ferror(r->csv) && fclose(r->csv) == 0;
  if (!ok) {
    r->csv = NULL;
    snprintf(err, errlen, "%s: write failed: %s", r->dir, strerror(errno));
    tb_results_abort(r);
    return -1;
  }
  r->csv = NULL;
  char csv[4200], meta[4200];
  snprintf(csv, sizeof csv, "%s/results.csv", r->dir);
  snprintf(meta, sizeof meta, "%s/meta.json", r->dir);
  if (rename(r->meta_tmp, meta) || rename(r->csv_tmp, csv)) {
    snprintf(err, errlen, "%s: cannot rename the results into place: %s", r->dir, strerror(errno));
    unlink(meta);
    tb_results_abort(r);
    return -1;
  }
  free(r->dir);
  free(r->command);
  free(r->extra);
  free(r);
  return 0;
}

void tb_results_abort(tb_results_t *r) {
  if (!r) return;
  if (r->csv) fclose(r->csv);
  if (r->csv_made) unlink(r->csv_tmp);
  if (r->meta_made) unlink(r->meta_tmp);
  if (r->made_dir && r->dir) rmdir(r->dir); /* only when empty: never removes others' files */
  free(r->dir);
  free(r->command);
  free(r->extra);
  free(r);
}
