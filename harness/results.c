/* results.c: writes results.csv and meta.json of a run set (results.h),
 * atomically: temporary names first, rename on success only; the run-set
 * policy (new, force, append) is checked at open and applied at commit. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <gnu/libc-version.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "results.h"
#include "tb_alloc.h"
#include "atomic_file.h"
#include "tmpfiles.h"

#ifdef TB_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef TB_HAVE_ZSTD
#include <zstd.h>
#endif

struct tb_results_s {
  char *dir;
  tb_atomic_t csv_out, meta_out; /* results.csv and meta.json under temporary names (atomic_file.h) */
  FILE *csv;                      /* csv_out's stream (rows files: the file itself) */
  bool made_dir;
  char *command;  /* the command line, shell-quoted where needed */
  char *extra;    /* extra meta.json members, ",\n  \"k\": v" each */
  size_t extra_len;
  bool failed;
  tb_results_mode_t mode;
  bool replacing; /* FORCE or APPEND on an existing run set */
  /* APPEND: the old rows' keys (the text up to the metric field), as an
   * open-addressing hash set, the old meta.json, and the first duplicate. */
  char **keys;
  size_t nkeys, cap;
  char *old_meta;
  char dup[512];
  bool rows_only; /* a child's rows file (tb_results_open_rows) */
};

/* The entries of a run set folder that testbed run, experiments/run.sh,
 * summarize and plot write: FORCE removes them, no others. Derived ones
 * (made from results.csv) go on APPEND too. */
static const struct {
  const char *name;
  bool prefix, derived;
} runset_entries[] = {
    {"results.csv", false, false}, {"meta.json", false, false},   {"plots", false, true},
    {"summary.csv", false, true},  {"jobs", false, false},        {"set", false, false},
    {"jobs.count", false, false},  {"jobs.list", false, false},   {"log", false, false},
    {"results.csv.tmp", false, false}, {"meta.json.tmp", false, false}, {".results.csv.", true, false},
    {".meta.json.", true, false},
};

static int runset_entry(const char *name) {
  for (size_t i = 0; i < sizeof runset_entries / sizeof *runset_entries; i++)
    if (runset_entries[i].prefix ? !strncmp(name, runset_entries[i].name, strlen(runset_entries[i].name))
                                 : !strcmp(name, runset_entries[i].name))
      return (int)i;
  return -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path) && errno != ENOENT ? -1 : 0;
}

/* Remove the run-set entries of dir (all, or only the derived ones), except
 * this writer's own temporary files. */
static int remove_entries(tb_results_t *r, bool derived_only, char *err, size_t errlen) {
  DIR *d = opendir(r->dir);
  if (!d) return 0;
  int rc = 0;
  for (struct dirent *e; rc == 0 && (e = readdir(d));) {
    int k = runset_entry(e->d_name);
    if (k < 0 || (derived_only && !runset_entries[k].derived)) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
    if ((r->csv_out.tmp && !strcmp(path, r->csv_out.tmp)) || (r->meta_out.tmp && !strcmp(path, r->meta_out.tmp)))
      continue;
    if (!strcmp(e->d_name, "results.csv") || !strcmp(e->d_name, "meta.json")) continue; /* replaced by rename */
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS)) {
      snprintf(err, errlen, "%s: cannot remove the stale %s: %s", r->dir, e->d_name, strerror(errno));
      rc = -1;
    }
  }
  closedir(d);
  return rc;
}

static uint64_t hash_str(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

/* Length of a CSV row's key: the text before the 8th unquoted comma
 * (experiment .. metric); 0 when the row has fewer fields. */
static size_t row_key_len(const char *line) {
  int commas = 0;
  bool q = false;
  for (const char *c = line; *c && *c != '\n'; c++) {
    if (*c == '"') q = !q;
    else if (*c == ',' && !q && ++commas == 8) return (size_t)(c - line);
  }
  return 0;
}

/* Look key up; add it when add. true when it was there. */
static bool key_seen(tb_results_t *r, const char *key, size_t n, bool add) {
  if (add && (r->nkeys + 1) * 2 > r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 1024;
    char **k = calloc(cap, sizeof *k);
    if (!k) return false;
    for (size_t i = 0; i < r->cap; i++)
      if (r->keys[i]) {
        size_t l = strlen(r->keys[i]), j = hash_str(r->keys[i], l) & (cap - 1);
        while (k[j]) j = (j + 1) & (cap - 1);
        k[j] = r->keys[i];
      }
    free(r->keys);
    r->keys = k;
    r->cap = cap;
  }
  if (!r->cap) return false;
  size_t j = hash_str(key, n) & (r->cap - 1);
  for (; r->keys[j]; j = (j + 1) & (r->cap - 1))
    if (!strncmp(r->keys[j], key, n) && r->keys[j][n] == 0) return true;
  if (add && (r->keys[j] = strndup(key, n))) r->nkeys++;
  return false;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      char *b = realloc(buf, cap = (n + 4096 + 1) * 2);
      if (!b) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = b;
    }
    size_t got = fread(buf + n, 1, 4096, f);
    n += got;
    if (got < 4096) break;
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

/* Check dir against the mode before anything is written. APPEND: copy the
 * old rows into the temporary CSV (after this command's line and the
 * header) and remember their keys. */
static int check_dir(tb_results_t *r, char *err, size_t errlen) {
  DIR *d = opendir(r->dir);
  if (!d) return 0; /* not there yet */
  char first[256] = "", other[256] = "";
  bool has_results = false;
  const char *own = r->csv_out.tmp ? strrchr(r->csv_out.tmp, '/') + 1 : "";
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, own)) continue;
    if (!first[0]) snprintf(first, sizeof first, "%s", e->d_name);
    if (runset_entry(e->d_name) < 0 && !other[0]) snprintf(other, sizeof other, "%s", e->d_name);
    has_results |= !strcmp(e->d_name, "results.csv");
  }
  closedir(d);
  if (!first[0]) return 0; /* empty */
  if (r->mode == TB_RESULTS_NEW) {
    snprintf(err, errlen,
             "%s is not empty (it holds %s%s): --force replaces the run set in it, --append adds to it; or choose "
             "another --out",
             r->dir, first, has_results ? ", a run set" : "");
    return -1;
  }
  if (other[0]) {
    snprintf(err, errlen, "%s holds '%s', which is not part of a run set: not %s it; choose another --out", r->dir,
             other, r->mode == TB_RESULTS_FORCE ? "replacing" : "appending to");
    return -1;
  }
  r->replacing = true;
  if (r->mode != TB_RESULTS_APPEND || !has_results) return 0;
  char path[4400];
  snprintf(path, sizeof path, "%s/results.csv", r->dir);
  size_t len;
  char *old = read_file(path, &len);
  if (!old) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return -1;
  }
  char *nl1 = strchr(old, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
  if (strncmp(old, "# command: ", 11) || !nl2 || (size_t)(nl2 - nl1 - 1) != strlen(TB_RESULTS_HEADER) ||
      strncmp(nl1 + 1, TB_RESULTS_HEADER, strlen(TB_RESULTS_HEADER))) {
    snprintf(err, errlen, "%s:%d: not a run set's results.csv (line 1 '# command: ...', line 2 the header)", path,
             strncmp(old, "# command: ", 11) || !nl1 ? 1 : 2);
    free(old);
    return -1;
  }
  fprintf(r->csv, "# appended to: %.*s\n", (int)(nl1 - old - 11), old + 11);
  for (char *line = nl2 + 1; *line;) {
    char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    fwrite(line, 1, n, r->csv);
    fputc('\n', r->csv);
    size_t k = line[0] == '#' ? 0 : row_key_len(line);
    if (k) key_seen(r, line, k, true);
    line += n + (end ? 1 : 0);
  }
  free(old);
  snprintf(path, sizeof path, "%s/meta.json", r->dir);
  r->old_meta = read_file(path, &len);
  if (r->old_meta) {
    while (len && strchr(" \n\t\r", r->old_meta[len - 1])) r->old_meta[--len] = 0;
    if (!len || r->old_meta[0] != '{' || r->old_meta[len - 1] != '}') {
      snprintf(err, errlen, "%s: not a JSON object", path);
      return -1;
    }
  }
  return 0;
}

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

static void free_r(tb_results_t *r) {
  for (size_t i = 0; i < r->cap; i++) free(r->keys[i]);
  free(r->keys);
  free(r->old_meta);
  free(r->dir);
  free(r->command);
  free(r->extra);
  free(r);
}

tb_results_t *tb_results_open(const char *dir, tb_results_mode_t mode, int argc, char **argv, char *err,
                              size_t errlen) {
  tb_results_t *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->mode = mode;
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: not a directory", dir);
    free(r);
    return NULL;
  }
  int e = mkdir_p(dir, &r->made_dir);
  if (e) {
    snprintf(err, errlen, "%s: cannot create the output directory: %s", dir, strerror(e));
    free(r);
    return NULL;
  }
  r->dir = strdup(dir);
  if (r->made_dir) tb_tmp_register(dir, true); /* an interrupted run leaves nothing (tmpfiles.h) */
  char csv[4200];
  snprintf(csv, sizeof csv, "%s/results.csv", dir);
  if (!(r->csv = tb_atomic_open(csv, &r->csv_out))) { /* DIR/.results.csv.XXXXXX */
    snprintf(err, errlen, "%s: cannot write: %s", dir, strerror(errno));
    tb_results_abort(r);
    return NULL;
  }
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
  if (check_dir(r, err, errlen)) {
    tb_results_abort(r);
    return NULL;
  }
  return r;
}

static void csv_field(FILE *f, const char *s) {
  if (!s) s = "";
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

/* One whole row line (ending in '\n') into the CSV, the duplicate check of
 * APPEND first. */
static void put_row_line(tb_results_t *r, const char *line) {
  size_t k = r->nkeys ? row_key_len(line) : 0;
  if (k && key_seen(r, line, k, false) && !r->dup[0])
    snprintf(r->dup, sizeof r->dup, "%.*s", (int)(k < 400 ? k : 400), line);
  fputs(line, r->csv);
}

void tb_results_row(tb_results_t *r, const char *experiment, const char *allocator, const char *workload,
                    const char *backend, const char *profile, unsigned threads, unsigned run, const char *metric,
                    double value, bool na, const char *unit) {
  char *line = NULL;
  size_t len = 0;
  FILE *f = r->nkeys ? open_memstream(&line, &len) : r->csv;
  if (!f) {
    r->failed = true;
    return;
  }
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
  if (f == r->csv) return;
  fclose(f);
  put_row_line(r, line);
  free(line);
}

void tb_results_meta_raw(tb_results_t *r, const char *key, const char *json) {
  if (!json || !*json) json = "null";
  if (r->rows_only) {
    /* one line: JSON's newlines are whitespace outside strings, and
     * escaped inside them */
    fprintf(r->csv, "# meta %s ", key);
    for (const char *c = json; *c; c++) fputc(*c == '\n' ? ' ' : *c, r->csv);
    fputc('\n', r->csv);
    return;
  }
  char head[128];
  snprintf(head, sizeof head, ",\n  \"%s\": ", key);
  append(&r->extra, &r->extra_len, head);
  append(&r->extra, &r->extra_len, json);
}

void tb_results_meta_str(tb_results_t *r, const char *key, const char *value) {
  char *v = json_str(value ? value : "");
  if (!v) return;
  tb_results_meta_raw(r, key, v);
  free(v);
}

void tb_results_meta_num(tb_results_t *r, const char *key, double value) {
  char buf[64];
  if (value == (double)(long long)value)
    snprintf(buf, sizeof buf, "%lld", (long long)value);
  else
    snprintf(buf, sizeof buf, "%.6g", value);
  tb_results_meta_raw(r, key, buf);
}

tb_results_t *tb_results_open_rows(const char *path, char *err, size_t errlen) {
  tb_results_t *r = calloc(1, sizeof *r);
  if (!r || !(r->dir = strdup(path))) {
    free(r);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->rows_only = true;
  if (!(r->csv = fopen(path, "w"))) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    free_r(r);
    return NULL;
  }
  fprintf(r->csv, "%s\n", TB_RESULTS_HEADER);
  return r;
}

int tb_results_add_rows(tb_results_t *r, const char *path, tb_results_meta_fn on_meta, void *ctx, char *err,
                        size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  for (unsigned no = 1; (n = getline(&line, &cap, f)) > 0; no++) {
    if (line[n - 1] != '\n') {
      snprintf(err, errlen, "%s:%u: the last line is cut short", path, no);
      rc = -1;
      break;
    }
    if (no == 1) {
      if (strcmp(line, TB_RESULTS_HEADER "\n")) {
        snprintf(err, errlen, "%s:1: not a rows file (the header is not " TB_RESULTS_HEADER ")", path);
        rc = -1;
        break;
      }
      continue;
    }
    if (!strncmp(line, "# meta ", 7)) {
      line[n - 1] = 0;
      char *key = line + 7, *json = strchr(key, ' ');
      if (!json || json == key) {
        snprintf(err, errlen, "%s:%u: a meta line without key and value", path, no);
        rc = -1;
        break;
      }
      *json++ = 0;
      if (on_meta)
        on_meta(ctx, key, json);
      else
        tb_results_meta_raw(r, key, json);
      continue;
    }
    if (!row_key_len(line)) {
      snprintf(err, errlen, "%s:%u: not a results row (fewer than 10 fields)", path, no);
      rc = -1;
      break;
    }
    put_row_line(r, line);
  }
  if (!rc && ferror(f)) {
    snprintf(err, errlen, "%s: read error", path);
    rc = -1;
  }
  free(line);
  fclose(f);
  return rc;
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
  if (r->rows_only) {
    bool ok = !ferror(r->csv) && fclose(r->csv) == 0;
    if (!ok) snprintf(err, errlen, "%s: write failed: %s", r->dir, strerror(errno));
    free_r(r);
    return ok ? 0 : -1;
  }
  if (r->dup[0] || r->failed) {
    if (r->dup[0])
      snprintf(err, errlen,
               "%s/results.csv already has the row %s (experiment,allocator,workload,backend,profile,threads,run,"
               "metric): --append adds only new rows; nothing changed",
               r->dir, r->dup);
    else
      snprintf(err, errlen, "%s: out of memory writing rows", r->dir);
    tb_results_abort(r);
    return -1;
  }
  char csv[4200], meta[4200];
  snprintf(csv, sizeof csv, "%s/results.csv", r->dir);
  snprintf(meta, sizeof meta, "%s/meta.json", r->dir);
  FILE *m = tb_atomic_open(meta, &r->meta_out); /* DIR/.meta.json.XXXXXX */
  if (!m) {
    snprintf(err, errlen, "%s: cannot write meta.json: %s", r->dir, strerror(errno));
    tb_results_abort(r);
    return -1;
  }
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
  if (r->old_meta) fprintf(m, ",\n  \"appended_to\": %s", r->old_meta);
  fputs("\n}\n", m);
  /* Both files whole (flushed, synced) before either is renamed. */
  r->csv = NULL;
  if (tb_atomic_finish(&r->meta_out) || tb_atomic_finish(&r->csv_out)) {
    snprintf(err, errlen, "%s: write failed: %s", r->dir, strerror(errno));
    tb_results_abort(r);
    return -1;
  }
  if (r->replacing && remove_entries(r, r->mode == TB_RESULTS_APPEND, err, errlen)) {
    tb_results_abort(r);
    return -1;
  }
  if (tb_atomic_commit(&r->meta_out)) {
    snprintf(err, errlen, "%s: cannot rename the results into place: %s", r->dir, strerror(errno));
    tb_results_abort(r);
    return -1;
  }
  if (tb_atomic_commit(&r->csv_out)) {
    snprintf(err, errlen, "%s: cannot rename the results into place: %s", r->dir, strerror(errno));
    unlink(meta); /* no meta.json without its results.csv */
    tb_results_abort(r);
    return -1;
  }
  tb_tmp_forget(r->dir);
  free_r(r);
  return 0;
}

void tb_results_abort(tb_results_t *r) {
  if (!r) return;
  if (r->rows_only) {
    if (r->csv) fclose(r->csv);
    unlink(r->dir);
  }
  r->csv = NULL;
  tb_atomic_abort(&r->csv_out); /* closes its stream, removes the temporary */
  tb_atomic_abort(&r->meta_out);
  if (r->made_dir && r->dir) rmdir(r->dir); /* only when empty: never removes others' files */
  tb_tmp_forget(r->dir);
  free_r(r);
}
