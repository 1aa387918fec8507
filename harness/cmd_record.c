/* cmd_record.c: `testbed record`: run a dynamically linked program with
 * the recording library (libtbrecord.so, beside the testbed binary)
 * preloaded, then turn the raw logs it left (one per process image, see
 * workloads/recorder/tbrecord_raw.h) into traces: records sorted by
 * global sequence number, addresses mapped to object ids (an id is reused
 * only after its object was freed), calls mapped to trace ops:
 *
 *   malloc                        -> malloc
 *   calloc                        -> calloc (nmemb * size)
 *   memalign, posix_memalign,
 *   aligned_alloc, valloc, pvalloc -> aligned (log2 alignment, at least 16 B;
 *                                     pvalloc's size rounded up to a page)
 *   realloc(NULL, n)              -> malloc
 *   realloc(p, 0) that frees      -> free
 *   realloc(p, n)                 -> realloc (failed: nothing)
 *   free(NULL)                    -> nothing (never logged)
 *   malloc_usable_size            -> nothing (counted)
 *   failed allocations            -> nothing (counted)
 *   free/realloc of an address not allocated while recording
 *                                 -> dropped (free) or malloc (realloc), counted
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
#include "../workloads/recorder/tbrecord_raw.h"
#include "trace.h"

#define MAX_THREADS 1024 /* the trace loader's limit; more are folded (counted) */

typedef struct {
  char *path;
  uint32_t pid, ppid, image;
  uint32_t page;
  char exe[TB_RAW_EXE_MAX];
  size_t nrecs;
} rawlog_t;

typedef struct {
  uint64_t ops[TB_OP_WRITE + 1];
  uint64_t total;
  uint64_t unknown_free, unknown_realloc, failed, usable, conflicts, bad_align, folded_threads, cut;
  uint32_t threads;
} rstats_t;

/* ---- address -> object id map (linear probing, backward-shift delete) ---- */

typedef struct {
  uint64_t *key; /* 0 = empty */
  uint32_t *val;
  size_t cap, n;
  uint32_t *freeids; /* stack of freed ids, reused last-in first-out */
  size_t nfree, freecap;
  uint32_t next_id;
} idmap_t;

static size_t slot_of(const idmap_t *m, uint64_t k) {
  return (size_t)(((k >> 4) * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);
}

static int map_grow(idmap_t *m) {
  size_t nc = m->cap ? m->cap * 2 : 1 << 16;
  uint64_t *k = calloc(nc, sizeof *k);
  uint32_t *v = malloc(nc * sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return -1;
  }
  idmap_t o = *m;
  m->key = k;
  m->val = v;
  m->cap = nc;
  for (size_t i = 0; i < o.cap; i++)
    if (o.key[i]) {
      size_t s = slot_of(m, o.key[i]);
      while (m->key[s]) s = (s + 1) & (nc - 1);
      m->key[s] = o.key[i];
      m->val[s] = o.val[i];
    }
  free(o.key);
  free(o.val);
  return 0;
}

/* Slot of k, or the empty slot where it would go. */
static size_t map_find(const idmap_t *m, uint64_t k) {
  size_t s = slot_of(m, k);
  while (m->key[s] && m->key[s] != k) s = (s + 1) & (m->cap - 1);
  return s;
}

static int map_put(idmap_t *m, uint64_t k, uint32_t id) {
  if ((m->n + 1) * 2 > m->cap && map_grow(m)) return -1;
  size_t s = map_find(m, k);
  if (!m->key[s]) m->n++;
  m->key[s] = k;
  m->val[s] = id;
  return 0;
}

static void map_del_slot(idmap_t *m, size_t s) {
  size_t mask = m->cap - 1;
  m->key[s] = 0;
  m->n--;
  for (size_t j = (s + 1) & mask; m->key[j]; j = (j + 1) & mask) {
    size_t h = slot_of(m, m->key[j]);
    /* move j back into the hole s if its home h is not in (s, j] */
    if (((j - h) & mask) >= ((j - s) & mask)) {
      m->key[s] = m->key[j];
      m->val[s] = m->val[j];
      m->key[j] = 0;
      s = j;
    }
  }
}

static bool map_get(const idmap_t *m, uint64_t k, uint32_t *id, size_t *slot) {
  if (!m->cap) return false;
  size_t s = map_find(m, k);
  if (!m->key[s]) return false;
  *id = m->val[s];
  *slot = s;
  return true;
}

static int id_new(idmap_t *m, uint32_t *id) {
  if (m->nfree) {
    *id = m->freeids[--m->nfree];
    return 0;
  }
  if (m->next_id == UINT32_MAX) return -1;
  *id = m->next_id++;
  return 0;
}

static int id_release(idmap_t *m, uint32_t id) {
  if (m->nfree == m->freecap) {
    size_t c = m->freecap ? m->freecap * 2 : 1024;
    uint32_t *f = realloc(m->freeids, c * sizeof *f);
    if (!f) return -1;
    m->freeids = f;
    m->freecap = c;
  }
  m->freeids[m->nfree++] = id;
  return 0;
}

static void map_free(idmap_t *m) {
  free(m->key);
  free(m->val);
  free(m->freeids);
  memset(m, 0, sizeof *m);
}

/* ---- raw logs ----------------------------------------------------------- */

static int read_header(const char *path, rawlog_t *L, char *err, size_t errlen) {
  memset(L, 0, sizeof *L);
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  tb_raw_header_t h;
  struct stat st;
  size_t got = fread(&h, 1, sizeof h, f);
  int rc = fstat(fileno(f), &st);
  fclose(f);
  if (got != sizeof h || memcmp(h.magic, TB_RAW_MAGIC, 8) != 0) {
    snprintf(err, errlen, "%s: not a raw recorder log (bad or short header)", path);
    return -1;
  }
  if (h.version != TB_RAW_VERSION || h.rec_size != sizeof(tb_raw_rec_t)) {
    snprintf(err, errlen, "%s: raw log version %u, record size %u; expected %u, %zu", path, h.version, h.rec_size,
             TB_RAW_VERSION, sizeof(tb_raw_rec_t));
    return -1;
  }
  if (rc) {
    snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
    return -1;
  }
  L->path = strdup(path);
  if (!L->path) {
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
  }
  L->pid = h.pid;
  L->ppid = h.ppid;
  L->image = h.image;
  L->page = h.page_size ? h.page_size : 4096;
  memcpy(L->exe, h.exe, sizeof L->exe);
  L->exe[sizeof L->exe - 1] = 0;
  /* A process killed while writing may leave a partial last record; it is
   * ignored (said in the summary by the record count). */
  L->nrecs = ((size_t)st.st_size - sizeof h) / sizeof(tb_raw_rec_t);
  return 0;
}

static int cmp_seq(const void *a, const void *b) {
  uint64_t x = ((const tb_raw_rec_t *)a)->seq, y = ((const tb_raw_rec_t *)b)->seq;
  return x < y ? -1 : x > y;
}

static tb_raw_rec_t *read_records(const rawlog_t *L, char *err, size_t errlen) {
  tb_raw_rec_t *r = malloc((L->nrecs ? L->nrecs : 1) * sizeof *r);
  if (!r) {
    snprintf(err, errlen, "%s: out of memory for %zu records", L->path, L->nrecs);
    return NULL;
  }
  FILE *f = fopen(L->path, "rb");
  if (!f || fseek(f, (long)sizeof(tb_raw_header_t), SEEK_SET) != 0 ||
      fread(r, sizeof *r, L->nrecs, f) != L->nrecs) {
    snprintf(err, errlen, "%s: cannot read the records: %s", L->path, f ? "short read" : strerror(errno));
    if (f) fclose(f);
    free(r);
    return NULL;
  }
  fclose(f);
  qsort(r, L->nrecs, sizeof *r, cmp_seq);
  return r;
}

/* ---- raw log -> trace --------------------------------------------------- */

typedef struct {
  tb_trace_writer_t *w;
  rstats_t *st;
#define THREAD_CACHE 65536
  uint32_t thread_map[THREAD_CACHE]; /* raw thread number -> trace thread + 1 */
  uint32_t nthreads;
} emit_t;

static uint32_t trace_thread(emit_t *e, uint32_t raw) {
  /* Dense numbers in order of first appearance; beyond the loader's limit
   * threads share numbers (still a valid trace: the global order is kept
   * and the loader syncs objects that pass between streams). */
  if (raw < THREAD_CACHE && e->thread_map[raw]) return e->thread_map[raw] - 1;
  uint32_t t;
  if (e->nthreads < MAX_THREADS) {
    t = e->nthreads++;
  } else {
    t = raw % MAX_THREADS;
    e->st->folded_threads++;
  }
  if (raw < THREAD_CACHE) e->thread_map[raw] = t + 1;
  return t;
}

static int emit(emit_t *e, uint32_t raw_thread, uint8_t code, uint32_t id, uint64_t arg, uint8_t align) {
  tb_op_t op = {.code = code, .align = align, .id = id, .arg = arg};
  e->st->ops[code]++;
  e->st->total++;
  return tb_trace_write(e->w, trace_thread(e, raw_thread), &op);
}

static bool is_aligned_op(uint8_t op) {
  return op == TB_RAW_MEMALIGN || op == TB_RAW_POSIX_MEMALIGN || op == TB_RAW_ALIGNED_ALLOC || op == TB_RAW_VALLOC ||
         op == TB_RAW_PVALLOC;
}

/* A new object at address p: if p is still live in the map (a moving
 * realloc that sorted after another thread's reuse of its old address),
 * the old object is freed first (counted). */
static int new_object(emit_t *e, idmap_t *m, uint32_t th, uint64_t p, uint32_t *id) {
  uint32_t old;
  size_t s;
  if (map_get(m, p, &old, &s)) {
    e->st->conflicts++;
    if (emit(e, th, TB_OP_FREE, old, 0, 0)) return -1;
    map_del_slot(m, s);
    if (id_release(m, old)) return -1;
  }
  if (id_new(m, id)) return -1;
  return map_put(m, p, *id);
}

/* Convert one log; max_ops 0 means all. Returns 0, or -1 with err set. */
static int convert_log(const rawlog_t *L, tb_trace_writer_t *w, uint64_t max_ops, rstats_t *st, char *err,
                       size_t errlen) {
  tb_raw_rec_t *r = read_records(L, err, errlen);
  if (!r) return -1;
  emit_t *e = calloc(1, sizeof *e);
  idmap_t m = {0};
  if (!e || map_grow(&m)) {
    free(r);
    free(e);
    snprintf(err, errlen, "%s: out of memory", L->path);
    return -1;
  }
  e->w = w;
  e->st = st;
  int rc = 0;
  size_t i;
  for (i = 0; i < L->nrecs && rc == 0; i++) {
    if (max_ops && st->total + 2 > max_ops) break; /* one record gives at most 2 ops */
    const tb_raw_rec_t *x = &r[i];
    uint32_t id;
    size_t s;
    switch (x->op) {
    case TB_RAW_MALLOC:
    case TB_RAW_CALLOC:
      if (!x->ptr) {
        st->failed++;
        break;
      }
      rc = new_object(e, &m, x->thread, x->ptr, &id);
      if (!rc) rc = emit(e, x->thread, x->op == TB_RAW_MALLOC ? TB_OP_MALLOC : TB_OP_CALLOC, id, x->size, 0);
      break;
    case TB_RAW_REALLOC:
      if (x->old == 0) { /* realloc(NULL, n) */
        if (!x->ptr) {
          st->failed++;
          break;
        }
        rc = new_object(e, &m, x->thread, x->ptr, &id);
        if (!rc) rc = emit(e, x->thread, TB_OP_MALLOC, id, x->size, 0);
        break;
      }
      if (!map_get(&m, x->old, &id, &s)) {
        st->unknown_realloc++;
        if (!x->ptr) break;
        rc = new_object(e, &m, x->thread, x->ptr, &id);
        if (!rc) rc = emit(e, x->thread, TB_OP_MALLOC, id, x->size, 0);
        break;
      }
      if (x->size == 0) { /* realloc(p, 0): p freed */
        rc = emit(e, x->thread, TB_OP_FREE, id, 0, 0);
        map_del_slot(&m, s);
        if (!rc) rc = id_release(&m, id);
        if (!rc && x->ptr) { /* a libc that returns a fresh minimum block */
          rc = new_object(e, &m, x->thread, x->ptr, &id);
          if (!rc) rc = emit(e, x->thread, TB_OP_MALLOC, id, 0, 0);
        }
        break;
      }
      if (!x->ptr) {
        st->failed++;
        break;
      }
      if (x->ptr != x->old) {
        map_del_slot(&m, s);
        uint32_t other;
        size_t s2;
        if (map_get(&m, x->ptr, &other, &s2)) {
          st->conflicts++;
          rc = emit(e, x->thread, TB_OP_FREE, other, 0, 0);
          map_del_slot(&m, s2);
          if (!rc) rc = id_release(&m, other);
        }
        if (!rc) rc = map_put(&m, x->ptr, id);
      }
      if (!rc) rc = emit(e, x->thread, TB_OP_REALLOC, id, x->size, 0);
      break;
    case TB_RAW_FREE:
      if (!map_get(&m, x->ptr, &id, &s)) {
        st->unknown_free++;
        break;
      }
      rc = emit(e, x->thread, TB_OP_FREE, id, 0, 0);
      map_del_slot(&m, s);
      if (!rc) rc = id_release(&m, id);
      break;
    case TB_RAW_USABLE_SIZE:
      st->usable++;
      break;
    default:
      if (!is_aligned_op(x->op)) {
        snprintf(err, errlen, "%s: record %zu (seq %llu): unknown operation %u", L->path, i,
                 (unsigned long long)x->seq, x->op);
        rc = -2;
        break;
      }
      if (!x->ptr) {
        st->failed++;
        break;
      }
      if (x->align > 30) {
        st->bad_align++;
        break;
      }
      uint64_t size = x->size;
      if (x->op == TB_RAW_PVALLOC) size = (size + L->page - 1) / L->page * L->page;
      rc = new_object(e, &m, x->thread, x->ptr, &id);
      if (!rc) rc = emit(e, x->thread, TB_OP_ALIGNED, id, size, x->align < 4 ? 4 : x->align);
    }
  }
  if (i < L->nrecs) st->cut = L->nrecs - i;
  st->threads = e->nthreads;
  if (rc == -1) snprintf(err, errlen, "%s: conversion failed (out of memory, or the trace writer failed)", L->path);
  free(r);
  free(e);
  map_free(&m);
  return rc ? -1 : 0;
}

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

static char *provenance(const rawlog_t *L, int pargc, char **pargv, const char *date, bool main_image) {
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
         "  --max-ops N        stop each trace after about N ops (the rest of the run is cut)\n"
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

/* Errors of the trace writer name the temporary file; say the real one. */
static void rename_in_err(char *err, size_t errlen, const char *tmpname, const char *final) {
  size_t n = strlen(tmpname);
  if (strncmp(err, tmpname, n)) return;
  char *rest = strdup(err + n);
  if (!rest) return;
  snprintf(err, errlen, "%s%s", final, rest);
  free(rest);
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

static int cmp_log(const void *a, const void *b) {
  const rawlog_t *x = a, *y = b;
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
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "testbed record: fork: %s\n", strerror(errno));
    rm_dir(dir);
    return 1;
  }
  if (child == 0) {
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
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "testbed record: waitpid: %s\n", strerror(errno));
      rm_dir(dir);
      return 1;
    }
  }

  /* The raw logs. */
  char err[2 * PATH_MAX + 512];
  rawlog_t *logs = NULL;
  size_t nlogs = 0, cap = 0;
  int rc = 0;
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, "raw.", 4)) continue;
    if (nlogs == cap) {
      cap = cap ? cap * 2 : 16;
      rawlog_t *q = realloc(logs, cap * sizeof *q);
      if (!q) {
        rc = 1;
        snprintf(err, sizeof err, "%s: out of memory", dir);
        break;
      }
      logs = q;
    }
    char p[PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    if (read_header(p, &logs[nlogs], err, sizeof err)) {
      rc = 1;
      break;
    }
    nlogs++;
  }
  if (d) closedir(d);
  if (!rc && nlogs == 0) {
    snprintf(err, sizeof err, "%s: the program left no raw log (not dynamically linked, LD_PRELOAD removed, or it did not start)",
             pargv[0]);
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
  if (!rc && mainix == SIZE_MAX) {
    if (main_name) snprintf(err, sizeof err, "%s: no process image named '%s' was recorded", out, main_name);
    else snprintf(err, sizeof err, "%s: the started process left no raw log", out);
    rc = 1;
  }

  /* Write every trace under a temporary name; rename all at the end. */
  char **done_tmp = calloc(nlogs ? nlogs : 1, sizeof *done_tmp);
  char **done_final = calloc(nlogs ? nlogs : 1, sizeof *done_final);
  size_t ndone = 0, nempty = 0;
  if (!done_tmp || !done_final) rc = 1;
  for (size_t k = 0; !rc && k < nlogs; k++) {
    bool is_main = k == mainix;
    if (!is_main && drop_children) continue;
    char final[PATH_MAX + 64];
    bool several = (k > 0 && logs[k - 1].pid == logs[k].pid) || (k + 1 < nlogs && logs[k + 1].pid == logs[k].pid);
    if (is_main) snprintf(final, sizeof final, "%s", out);
    else if (several) snprintf(final, sizeof final, "%s.%u.%u", out, logs[k].pid, logs[k].image);
    else snprintf(final, sizeof final, "%s.%u", out, logs[k].pid);
    char tmpname[PATH_MAX + 80];
    snprintf(tmpname, sizeof tmpname, "%s.rec-tmp", final);
    char *prov = provenance(&logs[k], pargc, pargv, date, is_main);
    tb_trace_writer_t *w = prov ? tb_trace_writer_open(tmpname, ffmt, fcomp, prov, err, sizeof err) : NULL;
    free(prov);
    if (!w) {
      if (!prov) snprintf(err, sizeof err, "%s: out of memory", final);
      rename_in_err(err, sizeof err, tmpname, final);
      rc = 1;
      break;
    }
    rstats_t st = {0};
    if (convert_log(&logs[k], w, max_ops, &st, err, sizeof err)) {
      tb_trace_writer_abort(w);
      rc = 1;
      break;
    }
    if (st.total == 0) { /* the loader rejects a trace without ops: write none */
      tb_trace_writer_abort(w);
      if (is_main) {
        snprintf(err, sizeof err, "%s: %s made no allocator calls while recorded: no trace written", out,
                 logs[k].exe[0] ? logs[k].exe : pargv[0]);
        rc = 1;
        break;
      }
      nempty++;
      continue;
    }
    if (tb_trace_writer_close(w, err, sizeof err)) {
      rename_in_err(err, sizeof err, tmpname, final);
      rc = 1;
      break;
    }
    done_tmp[ndone] = strdup(tmpname);
    done_final[ndone] = strdup(final);
    if (!done_tmp[ndone] || !done_final[ndone]) {
      unlink(tmpname);
      free(done_tmp[ndone]);
      free(done_final[ndone]);
      snprintf(err, sizeof err, "%s: out of memory", final);
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
    for (size_t k = 0; k < ndone && !rc; k++)
      if (rename(done_tmp[k], done_final[k])) {
        snprintf(err, sizeof err, "%s: cannot rename into place: %s", done_final[k], strerror(errno));
        rc = 1;
        /* undo the ones already in place: all or nothing */
        for (size_t j = 0; j < k; j++) unlink(done_final[j]);
        for (size_t j = k; j < ndone; j++) unlink(done_tmp[j]);
      }
    if (!rc && nempty)
      fprintf(stderr, "testbed record: %zu other process images made no allocator calls: no trace for them\n", nempty);
    if (!rc && drop_children && nlogs > 1)
      fprintf(stderr, "testbed record: %zu other process images dropped (--children drop)\n", nlogs - 1);
  } else {
    for (size_t k = 0; k < ndone; k++) unlink(done_tmp[k]);
  }
  for (size_t k = 0; k < ndone; k++) {
    free(done_tmp[k]);
    free(done_final[k]);
  }
  free(done_tmp);
  free(done_final);
  for (size_t k = 0; k < nlogs; k++) free(logs[k].path);
  free(logs);
  if (keep_raw) fprintf(stderr, "testbed record: raw logs kept in %s\n", dir);
  else rm_dir(dir);
  if (rc) {
    fprintf(stderr, "testbed record: %s\n", err);
    return 1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    fprintf(stderr, "testbed record: notice: %s exited with status %d\n", pargv[0], WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    fprintf(stderr, "testbed record: notice: %s was killed by signal %d (its unflushed records are lost)\n", pargv[0],
            WTERMSIG(status));
  return 0;
}

const tb_command_t tb_cmd_record = {"record", "run a program and record its allocations as a trace", record_main};
