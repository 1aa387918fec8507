/* topology.c: what machine this is (hwloc, else sysfs and sysconf), as a
 * JSON fragment for meta.json and as the `host` profile, and pinning of
 * replay threads to their own cores for --pin. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology.h"

/* Append to a JSON buffer; tracks overflow in *l (>= len means too small). */
static void put(char *buf, size_t len, size_t *l, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static void put(char *buf, size_t len, size_t *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(*l < len ? buf + *l : NULL, *l < len ? len - *l : 0, fmt, ap);
  va_end(ap);
  if (n > 0) *l += (size_t)n;
}

/* JSON string body: escapes quotes, backslashes and control characters. */
static void put_str(char *buf, size_t len, size_t *l, const char *s) {
  put(buf, len, l, "\"");
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') put(buf, len, l, "\\%c", c);
    else if (c < 0x20) put(buf, len, l, "\\u%04x", c);
    else put(buf, len, l, "%c", c);
  }
  put(buf, len, l, "\"");
}

static void set_level(tb_cache_level_t *c, unsigned long long size, unsigned line, long ways) {
  c->size = size;
  c->line = line;
  c->ways = ways < 0 ? TB_WAYS_FULL : ways == 0 ? TB_WAYS_UNKNOWN : (uint32_t)ways;
  c->src_line = 0;
}

static void fill_host_common(tb_profile_t *p, const char *model) {
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "host");
  snprintf(p->cpu, sizeof p->cpu, "%s", model && *model ? model : "unknown");
#if defined(__x86_64__)
  snprintf(p->arch, sizeof p->arch, "x86_64");
#elif defined(__aarch64__)
  snprintf(p->arch, sizeof p->arch, "aarch64");
#else
  snprintf(p->arch, sizeof p->arch, "other");
#endif
  p->page = (uint64_t)sysconf(_SC_PAGESIZE);
  snprintf(p->file, sizeof p->file, "host");
}

#ifdef TB_HAVE_HWLOC
#include <hwloc.h>

static pthread_once_t topo_once = PTHREAD_ONCE_INIT;
static hwloc_topology_t topo;
static int topo_ok;

static void topo_load(void) {
  if (hwloc_topology_init(&topo) != 0) return;
  /* hwloc 2 hides instruction caches by default; the host profile needs L1i. */
  hwloc_topology_set_icache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (hwloc_topology_load(topo) != 0) {
    hwloc_topology_destroy(topo);
    return;
  }
  topo_ok = 1;
}

static const char *cpu_model(void) {
  hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
  const char *m = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
  if (!m) m = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo), "CPUModel");
  return m;
}

int tb_topology_cores(void) {
  pthread_once(&topo_once, topo_load);
  int n = topo_ok ? hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) : 0;
  if (n < 1) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n;
}

int tb_topology_json(char *buf, size_t len) {
  pthread_once(&topo_once, topo_load);
  if (!topo_ok) {
    snprintf(buf, len, "hwloc could not load the topology");
    return 1;
  }
  size_t l = 0;
  unsigned v = hwloc_get_api_version();
  put(buf, len, &l, "{\"source\":\"hwloc %u.%u.%u\",\"cpu_model\":", v >> 16, (v >> 8) & 0xff, v & 0xff);
  put_str(buf, len, &l, cpu_model() ? cpu_model() : "unknown");
  put(buf, len, &l, ",\"packages\":%d,\"cores\":%d,\"pus\":%d,\"numa_nodes\":%d,\"page_sizes\":[",
      hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE), hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE),
      hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
  hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, 0);
  unsigned np = 0;
  if (node && node->attr)
    for (unsigned i = 0; i < node->attr->numanode.page_types_len; i++)
      if (node->attr->numanode.page_types[i].size)
        put(buf, len, &l, "%s%llu", np++ ? "," : "", (unsigned long long)node->attr->numanode.page_types[i].size);
  if (!np) put(buf, len, &l, "%ld", sysconf(_SC_PAGESIZE));
  put(buf, len, &l, "],\"caches\":[");
  static const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2ICACHE, HWLOC_OBJ_L2CACHE,
                                           HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE};
  int nc = 0;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    int count = hwloc_get_nbobjs_by_type(topo, types[i]);
    hwloc_obj_t c = hwloc_get_obj_by_type(topo, types[i], 0);
    if (!c) continue;
    const struct hwloc_cache_attr_s *a = &c->attr->cache;
    const char *kind = a->type == HWLOC_OBJ_CACHE_DATA ? "data"
                       : a->type == HWLOC_OBJ_CACHE_INSTRUCTION ? "instruction" : "unified";
    put(buf, len, &l, "%s{\"level\":%u,\"type\":\"%s\",\"count\":%d,\"size\":%llu,\"line\":%u,\"ways\":", nc++ ? "," : "",
        a->depth, kind, count, (unsigned long long)a->size, a->linesize);
    if (a->associativity < 0) put(buf, len, &l, "\"full\"}");
    else if (a->associativity == 0) put(buf, len, &l, "null}");
    else put(buf, len, &l, "%d}", a->associativity);
  }
  put(buf, len, &l, "]}");
  if (l >= len) {
    snprintf(buf, len, "topology JSON needs %zu bytes", l + 1);
    return 1;
  }
  return 0;
}

int tb_topology_profile(tb_profile_t *p, char *err, size_t errlen) {
  pthread_once(&topo_once, topo_load);
  if (!topo_ok) {
    snprintf(err, errlen, "host profile: hwloc could not load the topology");
    return 1;
  }
  fill_host_common(p, cpu_model());
  snprintf(p->file, sizeof p->file, "hwloc");
  static const struct {
    hwloc_obj_type_t type;
    int level; /* 0 = l1i */
  } want[] = {{HWLOC_OBJ_L1ICACHE, 0}, {HWLOC_OBJ_L1CACHE, 1}, {HWLOC_OBJ_L2CACHE, 2}, {HWLOC_OBJ_L3CACHE, 3}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    hwloc_obj_t c = hwloc_get_obj_by_type(topo, want[i].type, 0);
    if (!c) continue;
    tb_cache_level_t *d = want[i].level == 0 ? &p->l1i : want[i].level == 1 ? &p->l1d : want[i].level == 2 ? &p->l2 : &p->l3;
    set_level(d, (unsigned long long)c->attr->cache.size, c->attr->cache.linesize, c->attr->cache.associativity);
  }
  snprintf(p->source, sizeof p->source, "this machine, read by hwloc %u.%u at run time",
           hwloc_get_api_version() >> 16, (hwloc_get_api_version() >> 8) & 0xff);
  if (!p->l1i.size && p->l1d.size) {
    /* Some virtual machines report no instruction cache; valgrind needs
     * one, so I1 takes the L1d geometry and the source says so. */
    p->l1i = p->l1d;
    size_t l = strlen(p->source);
    snprintf(p->source + l, sizeof p->source - l, "; no L1i reported, L1d geometry used for L1i");
  }
  if (!p->l1d.size || !p->l2.size || !p->l1i.size) {
    snprintf(err, errlen, "host profile: hwloc reports no %s cache here",
             !p->l1i.size ? "L1 instruction" : !p->l1d.size ? "L1 data" : "L2");
    return 1;
  }
  return 0;
}

int tb_topology_pin(int tid, char *err, size_t errlen) {
  pthread_once(&topo_once, topo_load);
  if (!topo_ok) {
    snprintf(err, errlen, "pin: hwloc could not load the topology");
    return 1;
  }
  int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  hwloc_obj_t core = tid >= 0 ? hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)tid) : NULL;
  if (!core) {
    snprintf(err, errlen, "pin: thread %d has no core of its own (this machine has %d cores)", tid, cores);
    return 1;
  }
  hwloc_bitmap_t set = hwloc_bitmap_dup(core->cpuset);
  hwloc_bitmap_singlify(set); /* one PU: the thread does not wander between SMT siblings */
  int r = hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD);
  hwloc_bitmap_free(set);
  if (r != 0) {
    snprintf(err, errlen, "pin: binding thread %d to core %d failed", tid, tid);
    return 1;
  }
  return 0;
}

#else /* !TB_HAVE_HWLOC: sysfs, sysconf and sched_setaffinity (Linux) */

static long read_long(const char *path, int *ok) {
  FILE *f = fopen(path, "r");
  long v = 0;
  char suffix = 0;
  *ok = f && fscanf(f, "%ld%c", &v, &suffix) >= 1;
  if (f) fclose(f);
  if (suffix == 'K') v *= 1024;
  if (suffix == 'M') v *= 1024 * 1024;
  return v;
}

static void read_model(char *m, size_t len) {
  snprintf(m, len, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    char *c = strchr(line, ':');
    if (c && (strncmp(line, "model name", 10) == 0)) {
      c++;
      while (*c == ' ') c++;
      c[strcspn(c, "\n")] = '\0';
      snprintf(m, len, "%s", c);
      break;
    }
  }
  fclose(f);
}

int tb_topology_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (int)n;
}

/* Cache index i of cpu0 from sysfs: 0 when present. */
static int sys_cache(int i, int *level, char *type, size_t tlen, long *size, long *line, long *ways) {
  char path[128];
  int ok;
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
  *level = (int)read_long(path, &ok);
  if (!ok) return 1;
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
  *size = read_long(path, &ok);
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/coherency_line_size", i);
  *line = read_long(path, &ok);
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/ways_of_associativity", i);
  *ways = read_long(path, &ok);
  if (!ok) *ways = 0;
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
  FILE *f = fopen(path, "r");
  type[0] = '\0';
  if (f) {
    if (!fgets(type, (int)tlen, f)) type[0] = '\0';
    type[strcspn(type, "\n")] = '\0';
    fclose(f);
  }
  return 0;
}

int tb_topology_json(char *buf, size_t len) {
  char model[128];
  read_model(model, sizeof model);
  size_t l = 0;
  put(buf, len, &l, "{\"source\":\"sysfs\",\"cpu_model\":");
  put_str(buf, len, &l, model);
  put(buf, len, &l, ",\"packages\":null,\"cores\":null,\"pus\":%d,\"numa_nodes\":null,\"page_sizes\":[%ld],\"caches\":[",
      tb_topology_cores(), sysconf(_SC_PAGESIZE));
  int level, nc = 0;
  long size, line, ways;
  char type[32];
  for (int i = 0; i < 16 && sys_cache(i, &level, type, sizeof type, &size, &line, &ways) == 0; i++)
    put(buf, len, &l, "%s{\"level\":%d,\"type\":\"%s\",\"size\":%ld,\"line\":%ld,\"ways\":%ld}", nc++ ? "," : "", level,
        strcmp(type, "Data") == 0 ? "data" : strcmp(type, "Instruction") == 0 ? "instruction" : "unified", size, line,
        ways);
  put(buf, len, &l, "]}");
  if (l >= len) {
    snprintf(buf, len, "topology JSON needs %zu bytes", l + 1);
    return 1;
  }
  return 0;
}

int tb_topology_profile(tb_profile_t *p, char *err, size_t errlen) {
  char model[128];
  read_model(model, sizeof model);
  fill_host_common(p, model);
  snprintf(p->file, sizeof p->file, "sysfs");
  snprintf(p->source, sizeof p->source, "this machine, read from /sys/devices/system/cpu/cpu0/cache at run time");
  int level;
  long size, line, ways;
  char type[32];
  for (int i = 0; i < 16 && sys_cache(i, &level, type, sizeof type, &size, &line, &ways) == 0; i++) {
    tb_cache_level_t *d = level == 1 && strcmp(type, "Instruction") == 0 ? &p->l1i
                          : level == 1                                  ? &p->l1d
                          : level == 2                                  ? &p->l2
                          : level == 3                                  ? &p->l3
                                                                        : NULL;
    if (d) set_level(d, (unsigned long long)size, (unsigned)line, ways ? ways : 0);
  }
  if (!p->l1d.size || !p->l2.size || !p->l1i.size) {
    snprintf(err, errlen, "host profile: sysfs reports no %s cache here (build without hwloc)",
             !p->l1i.size ? "L1 instruction" : !p->l1d.size ? "L1 data" : "L2");
    return 1;
  }
  return 0;
}

int tb_topology_pin(int tid, char *err, size_t errlen) {
  int n = tb_topology_cores();
  if (tid < 0 || tid >= n) {
    snprintf(err, errlen, "pin: thread %d has no CPU of its own (this machine has %d online CPUs)", tid, n);
    return 1;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(tid, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    snprintf(err, errlen, "pin: binding thread %d to CPU %d failed", tid, tid);
    return 1;
  }
  return 0;
}
#endif
