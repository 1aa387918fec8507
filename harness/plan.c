/* plan.c: `testbed run`'s options parsed once into a plan (plan.h), the
 * workload made loadable once, and the plan serialised for a child. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpfiles.h"
#include "gen.h"
#include "plan.h"
#include "tb_cli.h"

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return TB_PLAN_BAD;
}

static const char *const touch_names[] = {"none", "trace", "full"};

static const char *base_name(const char *p) {
  if (!strncmp(p, "gen:", 4)) return p + 4;
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* The allocators of --allocator: known at the level, each named once. */
static int parse_allocators(tb_plan_t *p, const char *list, char *err, size_t errlen) {
  const char *s = list;
  p->nallocs = 0;
  for (;;) {
    size_t n = strcspn(s, ",");
    char name[128];
    if (n == 0 || n >= sizeof name)
      return bad(err, errlen, n ? "allocator name too long in --allocator '%s'" : "--allocator '%s' has an empty name",
                 list);
    memcpy(name, s, n);
    name[n] = 0;
    if (p->nallocs == TB_PLAN_MAX_ALLOCS) return bad(err, errlen, "at most %d allocators", TB_PLAN_MAX_ALLOCS);
    const tb_allocator_t *a = tb_allocator_find(name, p->level);
    if (!a) return bad(err, errlen, "unknown allocator '%s' (testbed list names them)", name);
    for (size_t k = 0; k < p->nallocs; k++)
      if (p->alloc[k] == a) return bad(err, errlen, "allocator '%s' is named twice in --allocator", name);
    p->alloc[p->nallocs++] = a;
    if (!s[n]) break;
    s += n + 1;
  }
  return TB_PLAN_OK;
}

/* The backends of --backend: none, default (this machine's set) or a
 * list of known specs, none empty or twice. */
static int parse_backends(tb_plan_t *p, char *err, size_t errlen) {
  const char *arg = p->backend_arg;
  p->nbk = 0;
  p->backends[0] = p->backend_reason[0] = 0;
  if (!*arg) return bad(err, errlen, "--backend wants a list of backends, 'default' or 'none', not ''");
  if (!strcmp(arg, "none")) return TB_PLAN_OK;
  if (!strcmp(arg, "default"))
    tb_backend_default(p->backends, sizeof p->backends, p->backend_reason, sizeof p->backend_reason);
  else if (strlen(arg) >= sizeof p->backends)
    return bad(err, errlen, "--backend list too long");
  else
    snprintf(p->backends, sizeof p->backends, "%s", arg);
  const char *s = p->backends;
  while (*s) {
    size_t n = strcspn(s, ",");
    if (n == 0) return bad(err, errlen, "--backend '%s' has an empty name", arg);
    /* KEY=VALUE after NAME:PROFILE is an option of that spec (memsim:neoverse-n1,page=64K) */
    if (p->nbk && p->bk[p->nbk - 1].profile && memchr(s, '=', n) && !memchr(s, ':', n)) {
      tb_plan_backend_t *pb = &p->bk[p->nbk - 1];
      size_t l = strlen(pb->spec);
      if (l + 1 + n >= sizeof pb->spec) return bad(err, errlen, "backend spec too long in --backend '%s'", arg);
      pb->spec[l] = ',';
      memcpy(pb->spec + l + 1, s, n);
      pb->spec[l + 1 + n] = 0;
      s += n;
      if (*s == ',') s++;
      continue;
    }
    if (p->nbk == TB_REPLAY_MAX_BACKENDS) return bad(err, errlen, "at most %d backends", TB_REPLAY_MAX_BACKENDS);
    tb_plan_backend_t *b = &p->bk[p->nbk];
    if (n >= sizeof b->spec) return bad(err, errlen, "backend spec too long in --backend '%s'", arg);
    memcpy(b->spec, s, n);
    b->spec[n] = 0;
    if (!(b->b = tb_backend_lookup(b->spec, &b->profile)))
      return bad(err, errlen, "unknown backend '%s' (testbed list names them)", b->spec);
    p->nbk++;
    s += n;
    if (*s == ',') {
      s++;
      if (!*s) return bad(err, errlen, "--backend '%s' has an empty name", arg);
    }
  }
  /* twice: compared with their options (memsim:x and memsim:x,page=64K differ) */
  for (size_t i = 0; i < p->nbk; i++)
    for (size_t k = 0; k < i; k++)
      if (!strcmp(p->bk[k].spec, p->bk[i].spec))
        return bad(err, errlen, "backend '%s' is named twice in --backend", p->bk[i].spec);
  return TB_PLAN_OK;
}

static int parse_uint(const char *opt, const char *v, unsigned long long lo, unsigned long long hi, unsigned *out,
                      char *err, size_t errlen) {
  unsigned long long x;
  if (!tb_cli_parse_u64(v, &x) || x < lo || x > hi)
    return bad(err, errlen, "%s wants a number %llu..%llu, not '%s'", opt, lo, hi, v);
  *out = (unsigned)x;
  return TB_PLAN_OK;
}

int tb_plan_parse(tb_plan_t *p, int argc, char **argv, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  p->experiment = "adhoc";
  p->backend_arg = "default";
  p->touch = TB_TOUCH_TRACE;
  p->level = tb_default_check_level();
  const char *alloc_list = NULL, *touch = NULL, *arch = NULL;
  bool runs_given = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int rc = TB_PLAN_OK;
    if (tb_cli_is_help(a)) return TB_PLAN_HELP;
    if (!strcmp(a, "--pin")) {
      p->pin = true;
      continue;
    }
    if (!strcmp(a, "--force") || !strcmp(a, "--append")) {
      tb_results_mode_t m = a[2] == 'f' ? TB_RESULTS_FORCE : TB_RESULTS_APPEND;
      if (p->mode != TB_RESULTS_NEW && p->mode != m) return bad(err, errlen, "--force and --append exclude each other");
      p->mode = m;
      continue;
    }
    if (!strcmp(a, "--overhead")) {
      p->overhead = true;
      continue;
    }
    static const char *const valued[] = {"--allocator", "--workload", "--runs", "--out", "--threads", "--touch",
                                         "--check-level", "--backend", "--experiment", "--child", "--rows", "--protocol",
                                         "--workload-name", "--arch", NULL};
    bool known = false;
    for (size_t k = 0; valued[k]; k++) known = known || !strcmp(a, valued[k]);
    if (!known) return bad(err, errlen, "unknown option '%s'", a);
    if (!v) return bad(err, errlen, "%s needs a value", a);
    i++;
    if (!strcmp(a, "--allocator")) alloc_list = v;
    else if (!strcmp(a, "--workload")) p->workload = v;
    else if (!strcmp(a, "--workload-name")) p->workload_name = v;
    else if (!strcmp(a, "--out")) p->out = v;
    else if (!strcmp(a, "--touch")) touch = v;
    else if (!strcmp(a, "--backend")) p->backend_arg = v;
    else if (!strcmp(a, "--experiment")) p->experiment = v;
    else if (!strcmp(a, "--arch")) arch = v;
    else if (!strcmp(a, "--rows")) p->rows = v;
    else if (!strcmp(a, "--protocol")) {
      if (!strcmp(v, "fresh")) p->protocol = TB_PROTOCOL_FRESH;
      else if (!strcmp(v, "warm")) p->protocol = TB_PROTOCOL_WARM;
      else return bad(err, errlen, "--protocol wants fresh or warm, not '%s'", v);
    }
    else if (!strcmp(a, "--runs")) rc = parse_uint(a, v, 1, 100000, &p->runs, err, errlen), runs_given = !rc;
    else if (!strcmp(a, "--threads")) rc = parse_uint(a, v, 1, 1024, &p->threads, err, errlen);
    else if (!strcmp(a, "--child")) rc = parse_uint(a, v, 1, 100000, &p->child_run, err, errlen);
    else {
      unsigned lv = 0;
      rc = parse_uint(a, v, 0, 3, &lv, err, errlen);
      p->level = (int)lv;
    }
    if (rc) return rc;
  }
  /* Name every missing option at once. */
  const char *missing[4];
  size_t nm = 0;
  if (!alloc_list) missing[nm++] = "--allocator";
  if (!p->workload) missing[nm++] = "--workload";
  if (!runs_given) missing[nm++] = "--runs";
  if (!p->out && !p->child_run) missing[nm++] = "--out";
  if (nm) {
    char list[128] = "";
    for (size_t k = 0; k < nm; k++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k == 0 ? "" : k + 1 == nm ? " and " : ", ",
               missing[k]);
    return bad(err, errlen, "needs %s", list);
  }
  if (p->rows && !p->child_run) return bad(err, errlen, "--rows is for children (with --child RUN) only");
  if (p->child_run && (p->out || p->mode != TB_RESULTS_NEW))
    return bad(err, errlen, "a child (--child) writes no output directory: drop --out, --force and --append");
  if (!*p->workload) return bad(err, errlen, "--workload wants a trace file or gen:SPEC, not ''");
  if (touch) {
    size_t k = 0;
    while (k < 3 && strcmp(touch, touch_names[k])) k++;
    if (k == 3) return bad(err, errlen, "--touch wants none, trace or full, not '%s'", touch);
    p->touch = (tb_touch_t)k;
  }
  if (!*p->experiment || strpbrk(p->experiment, ",\"\n"))
    return bad(err, errlen, "--experiment wants a name without commas or quotes");
  p->alloc_list = alloc_list;
  int rc = parse_allocators(p, alloc_list, err, errlen);
  if (!rc) rc = parse_backends(p, err, errlen);
  /* --arch ISA: the ISA every memsim backend runs, as its arch= option */
  if (!rc && arch) {
    if (strcmp(arch, "x86_64") && strcmp(arch, "aarch64")) return bad(err, errlen, "--arch wants x86_64 or aarch64, not '%s'", arch);
    bool any = false;
    for (size_t k = 0; k < p->nbk; k++) {
      tb_plan_backend_t *b = &p->bk[k];
      if (strcmp(b->b->name, "memsim")) continue;
      any = true;
      if (!b->profile || strstr(b->profile, "arch=")) continue;
      size_t l = strlen(b->spec);
      if (l + 6 + strlen(arch) >= sizeof b->spec) return bad(err, errlen, "backend spec too long with --arch");
      snprintf(b->spec + l, sizeof b->spec - l, ",arch=%s", arch);
    }
    if (!any) return bad(err, errlen, "--arch applies to memsim backends; --backend names none");
  }
  if (!p->workload_name) p->workload_name = base_name(p->workload);
  p->trace_file = p->workload;
  return rc;
}

const char *tb_plan_touch_name(tb_touch_t t) { return touch_names[t]; }
const char *tb_plan_protocol_name(tb_protocol_t p) { return p == TB_PROTOCOL_WARM ? "warm" : "fresh"; }

int tb_plan_workload(tb_plan_t *p, char *err, size_t errlen) {
  p->trace_file = p->workload;
  if (strncmp(p->workload, "gen:", 4) != 0) return 0;
  const tb_generator_t *g;
  tb_gen_params_t gp;
  if (tb_gen_parse_spec(p->workload + 4, &g, &gp, err, errlen)) return -1;
  if (p->threads) {
    bool takes = false, given = false;
    for (size_t k = 0; g->keys[k]; k++) takes = takes || !strcmp(g->keys[k], "threads");
    for (size_t k = 0; k < gp.n; k++) given = given || !strcmp(gp.key[k], "threads");
    char kv[64];
    snprintf(kv, sizeof kv, "threads=%u", p->threads);
    if (takes && !given && tb_gen_param_add(&gp, kv, err, errlen)) return -1;
  }
  const char *tmpdir = getenv("TMPDIR");
  snprintf(p->gen_file, sizeof p->gen_file, "%s/testbed-gen-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = mkstemp(p->gen_file);
  if (fd < 0) {
    snprintf(err, errlen, "%.200s: cannot create a temporary file: %s", p->gen_file, strerror(errno));
    p->gen_file[0] = 0;
    return -1;
  }
  close(fd);
  tb_tmp_register(p->gen_file, false); /* removed if the run is interrupted (tmpfiles.h) */
  char gerr[512];
  if (tb_gen_to_file(g, &gp, p->gen_file, TB_TRACE_BINARY, TB_COMPRESS_NONE, gerr, sizeof gerr)) {
    snprintf(err, errlen, "%s: %s", p->workload, gerr);
    unlink(p->gen_file);
    tb_tmp_forget(p->gen_file);
    p->gen_file[0] = 0;
    return -1;
  }
  p->trace_file = p->gen_file;
  return 0;
}

void tb_plan_free(tb_plan_t *p) {
  if (p->gen_file[0]) unlink(p->gen_file);
  tb_tmp_forget(p->gen_file);
  p->gen_file[0] = 0;
  p->trace_file = p->workload;
}

char **tb_plan_child_argv(const tb_plan_t *p, const tb_plan_child_t *c, const char *exe) {
  char run[16], lvl[16], thr[16];
  snprintf(run, sizeof run, "%u", c->run);
  snprintf(lvl, sizeof lvl, "%d", p->level);
  snprintf(thr, sizeof thr, "%u", p->threads);
  const char *v[40];
  int n = 0;
  v[n++] = exe;
  v[n++] = "run";
  v[n++] = "--allocator", v[n++] = c->alloc->name;
  v[n++] = "--workload", v[n++] = p->trace_file;
  v[n++] = "--workload-name", v[n++] = p->workload_name;
  v[n++] = "--runs", v[n++] = "1";
  v[n++] = "--touch", v[n++] = touch_names[p->touch];
  v[n++] = "--check-level", v[n++] = lvl;
  v[n++] = "--backend", v[n++] = c->backends && *c->backends ? c->backends : "none";
  v[n++] = "--experiment", v[n++] = p->experiment;
  v[n++] = "--protocol", v[n++] = tb_plan_protocol_name(p->protocol);
  if (p->threads) v[n++] = "--threads", v[n++] = thr;
  if (p->pin) v[n++] = "--pin";
  v[n++] = "--child", v[n++] = run;
  if (c->rows) v[n++] = "--rows", v[n++] = c->rows;
  size_t bytes = (size_t)(n + 1) * sizeof(char *);
  for (int i = 0; i < n; i++) bytes += strlen(v[i]) + 1;
  char **out = malloc(bytes);
  if (!out) return NULL;
  char *s = (char *)(out + n + 1);
  for (int i = 0; i < n; i++) {
    size_t l = strlen(v[i]) + 1;
    memcpy(s, v[i], l);
    out[i] = s;
    s += l;
  }
  out[n] = NULL;
  return out;
}

void tb_plan_self_exe(char *buf, size_t len) {
  ssize_t n = readlink("/proc/self/exe", buf, len - 1);
  if (n > 0)
    buf[n] = 0;
  else
    snprintf(buf, len, "/proc/self/exe");
}
