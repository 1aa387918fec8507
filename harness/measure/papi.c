/* papi.c: the `papi` backend: hardware and software event counts around
 * the measured window through PAPI, one event set per replay thread, the
 * thread counts summed. Each metric is probed (preset first, then native
 * fallbacks); one that cannot be counted is dropped, named once on stderr,
 * and reported NA. Without PAPI in the build the backend is unavailable.
 *
 * A machine where PAPI can count nothing at all (its CPU component,
 * perf_event, is disabled: a VM without a PMU where libpfm4 finds no PMU,
 * so not even perf's software events are reachable through PAPI) still
 * opens the backend: every metric is NA and one notice says why, so an
 * experiment that lists papi runs everywhere. Where PAPI works but none of
 * the events asked for can be counted, that is the caller's mistake and
 * open fails; where it counts nothing, a custom list of which no name
 * can be an event (no preset, no COMPONENT::EVENT native name) fails the
 * same way.
 *
 * The profile part of the spec ("papi:EV1+EV2") replaces the default
 * metric list by raw event names; each event is then its own metric.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "tb_papi.h"

static char last_notice[2048];
static int notices_printed;

const char *tb_papi_last_notice(void) { return last_notice; }
int tb_papi_notices_printed(void) { return notices_printed; }

#ifdef TB_HAVE_PAPI
#include <papi.h>
#include <pthread.h>

#define MAX_METRICS 16
#define MAX_THREADS 256
#define MAX_CAND 8

typedef struct {
  const char *metric; /* name in the results */
  const char *unit;   /* unit of the reported value */
  double scale;       /* raw count * scale = reported value */
  bool hardware;      /* needs a hardware PMU counter */
  const char *cand[MAX_CAND];
} metric_def_t;

/* Presets first; then ARM (Arm architectural PMU names), Intel, AMD Zen,
 * and the perf generic names that every perf PMU driver maps. */
static const metric_def_t default_metrics[] = {
    {"cycles", "1", 1, true, {"PAPI_TOT_CYC", "CPU_CYCLES", "perf::CYCLES", "perf::CPU-CYCLES"}},
    {"instructions", "1", 1, true, {"PAPI_TOT_INS", "INST_RETIRED", "perf::INSTRUCTIONS"}},
    {"l1d_misses", "1", 1, true,
     {"PAPI_L1_DCM", "L1D_CACHE_REFILL", "L1D:REPLACEMENT", "perf::L1-DCACHE-LOAD-MISSES"}},
    {"l2d_misses", "1", 1, true, {"PAPI_L2_DCM", "L2D_CACHE_REFILL", "L2_RQSTS:MISS", "L2_CACHE_REQ_STAT:LS_RD_BLK_C"}},
    {"l3_misses", "1", 1, true,
     {"PAPI_L3_TCM", "LL_CACHE_MISS_RD", "L3D_CACHE_REFILL", "LONGEST_LAT_CACHE:MISS", "perf::LLC-LOAD-MISSES"}},
    {"dtlb_misses", "1", 1, true,
     {"PAPI_TLB_DM", "L2D_TLB_REFILL", "DTLB_WALK", "DTLB_LOAD_MISSES:MISS_CAUSES_A_WALK", "LS_L1_D_TLB_MISS:ALL",
      "perf::DTLB-LOAD-MISSES"}},
    {"page_faults", "1", 1, false, {"perf::PAGE-FAULTS", "perf::FAULTS"}},
    {"task_clock", "s", 1e-9, false, {"perf::TASK-CLOCK"}}, /* counts ns */
};

typedef struct {
  metric_def_t def;
  char custom[128];   /* event name of a custom list (def.metric points here) */
  int code;           /* event code of the accepted candidate */
  const char *used;   /* accepted candidate, NULL when dropped */
  char why[160];      /* why dropped */
  long long total;    /* summed over threads */
} metric_t;

struct tb_backend_inst_s {
  metric_t m[MAX_METRICS];
  int nm;
  bool mpx;              /* event sets are multiplexed */
  int es[MAX_THREADS];   /* per-thread event set, PAPI_NULL when none */
  int threads_counted;
  bool nothing;          /* PAPI counts nothing here: no event sets, all NA */
  char thread_err[200];  /* first per-thread failure: all metrics NA */
  pthread_t opener;      /* stays registered with PAPI (it keeps calling it) */
  pthread_mutex_t lock;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status; /* PAPI_OK or an error */
static char init_msg[160];

static void papi_init(void) {
  int r = PAPI_library_init(PAPI_VER_CURRENT);
  if (r != PAPI_VER_CURRENT) {
    init_status = r < 0 ? r : PAPI_EINVAL;
    snprintf(init_msg, sizeof init_msg, "PAPI_library_init: %s", r < 0 ? PAPI_strerror(r) : "version mismatch");
    return;
  }
  r = PAPI_thread_init((unsigned long (*)(void))pthread_self);
  if (r != PAPI_OK) {
    init_status = r;
    snprintf(init_msg, sizeof init_msg, "PAPI_thread_init: %s", PAPI_strerror(r));
    return;
  }
  r = PAPI_multiplex_init();
  if (r != PAPI_OK) {
    init_status = r;
    snprintf(init_msg, sizeof init_msg, "PAPI_multiplex_init: %s", PAPI_strerror(r));
    return;
  }
  init_status = PAPI_OK;
}

/* Whether PAPI's CPU component (perf_event: presets, native events and
 * perf's software events) is disabled here; why, from PAPI, when it is. */
static bool cpu_component_disabled(char *why, size_t whylen) {
  int cidx = PAPI_get_component_index("perf_event");
  const PAPI_component_info_t *ci = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
  if (!ci) {
    snprintf(why, whylen, "this PAPI has no perf_event component");
    return true;
  }
  if (!ci->disabled) return false;
  snprintf(why, whylen, "perf_event component disabled: %s", ci->disabled_reason[0] ? ci->disabled_reason : "no reason given");
  return true;
}

/* Make an event set of codes[0..n) (multiplexed when mpx); PAPI_OK or the
 * first error, in *es on success. */
static int make_set(const int *codes, int n, bool mpx, int *es, int *bad) {
  *es = PAPI_NULL;
  *bad = -1;
  int r = PAPI_create_eventset(es);
  if (r != PAPI_OK) return r;
  r = PAPI_assign_eventset_component(*es, 0); /* perf_event: presets, natives, perf:: software */
  if (r == PAPI_OK && mpx) r = PAPI_set_multiplex(*es);
  for (int i = 0; r == PAPI_OK && i < n; i++) {
    r = PAPI_add_event(*es, codes[i]);
    if (r != PAPI_OK) *bad = i;
  }
  if (r != PAPI_OK) {
    PAPI_cleanup_eventset(*es);
    PAPI_destroy_eventset(es);
  }
  return r;
}

static void drop_set(int *es) {
  if (*es == PAPI_NULL) return;
  PAPI_cleanup_eventset(*es);
  PAPI_destroy_eventset(es);
  *es = PAPI_NULL;
}

/* Try codes as one set: made, started and stopped. */
static int try_set(const int *codes, int n, bool mpx) {
  int es, bad;
  int r = make_set(codes, n, mpx, &es, &bad);
  if (r != PAPI_OK) return r;
  long long v[MAX_METRICS];
  r = PAPI_start(es);
  if (r == PAPI_OK) r = PAPI_stop(es, v);
  drop_set(&es);
  return r;
}

static const char *reason(int r) {
  switch (r) {
  case PAPI_ENOEVNT: return "no such event on this machine";
  case PAPI_ECNFLCT: return "not enough hardware counters";
  case PAPI_EPERM: return "not permitted (perf_event_paranoid)";
  default: return PAPI_strerror(r);
  }
}

/* Probe every metric of b, in order; fills used/code/why and b->mpx. */
static void probe(tb_backend_inst_t *b) {
  int codes[MAX_METRICS], nacc = 0;
  for (int i = 0; i < b->nm; i++) {
    metric_t *m = &b->m[i];
    int first_err = 0;
    for (int c = 0; c < MAX_CAND && m->def.cand[c]; c++) {
      int code;
      int r = PAPI_event_name_to_code(m->def.cand[c], &code);
      bool named = r == PAPI_OK;
      if (named) {
        codes[nacc] = code;
        r = try_set(codes, nacc + 1, b->mpx);
        if ((r == PAPI_ECNFLCT || r == PAPI_ECOUNT) && !b->mpx && try_set(codes, nacc + 1, true) == PAPI_OK) {
          b->mpx = true; /* more events than counters: time-share them */
          r = PAPI_OK;
        }
      }
      if (r == PAPI_OK) {
        m->code = code;
        m->used = m->def.cand[c];
        nacc++;
        break;
      }
      if (!first_err) {
        first_err = r;
        snprintf(m->why, sizeof m->why, "%s: %s", m->def.cand[c], named ? reason(r) : "no event of that name here");
      }
    }
    if (!m->used && m->def.cand[1]) {
      size_t l = strlen(m->why);
      snprintf(m->why + l, sizeof m->why - l, "; fallbacks failed too");
    }
  }
}

static void notice(tb_backend_inst_t *b) {
  char buf[sizeof last_notice];
  size_t l = 0;
  int nd = 0;
  for (int i = 0; i < b->nm; i++) {
    if (b->m[i].used) continue;
    l += (size_t)snprintf(buf + l, l < sizeof buf ? sizeof buf - l : 0, "%s%s (%s)", nd ? ", " : "", b->m[i].def.metric,
                          b->m[i].why);
    if (l >= sizeof buf) l = sizeof buf - 1;
    nd++;
  }
  if (!nd) return;
  /* One notice per process for the same set of dropped events, however
   * many runs open the backend. */
  if (strcmp(buf, last_notice) == 0) return;
  snprintf(last_notice, sizeof last_notice, "%s", buf);
  notices_printed++;
  fprintf(stderr, "testbed: papi: %d event%s not countable here, recorded as NA: %s\n", nd, nd == 1 ? "" : "s", buf);
}

static tb_backend_inst_t *papi_open(const char *profile, int nthreads, char *err, size_t errlen) {
  pthread_once(&init_once, papi_init);
  if (init_status != PAPI_OK) {
    snprintf(err, errlen, "papi: %s", init_msg);
    return NULL;
  }
  if (nthreads < 1 || nthreads > MAX_THREADS) {
    snprintf(err, errlen, "papi: %d threads (1..%d supported)", nthreads, MAX_THREADS);
    return NULL;
  }
  tb_backend_inst_t *b = calloc(1, sizeof *b);
  if (!b) {
    snprintf(err, errlen, "papi: out of memory");
    return NULL;
  }
  pthread_mutex_init(&b->lock, NULL);
  b->opener = pthread_self();
  for (int t = 0; t < MAX_THREADS; t++) b->es[t] = PAPI_NULL;
  if (profile && *profile) { /* custom list: EV1+EV2+... */
    const char *p = profile;
    while (*p) {
      const char *e = strchr(p, '+');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      if (n == 0 || n >= sizeof b->m[0].custom || b->nm == MAX_METRICS) {
        snprintf(err, errlen, "papi: bad event list '%s' (EV1+EV2+..., at most %d events)", profile, MAX_METRICS);
        free(b);
        return NULL;
      }
      metric_t *m = &b->m[b->nm++];
      memcpy(m->custom, p, n);
      m->custom[n] = '\0';

      m->def.metric = m->custom;
      m->def.unit = "1";
      m->def.scale = 1;
      m->def.cand[0] = m->custom;
      p = e ? e + 1 : p + n;
    }
  } else {
    for (size_t i = 0; i < sizeof default_metrics / sizeof default_metrics[0]; i++) b->m[b->nm++].def = default_metrics[i];
  }
  char why[160];
  if (cpu_component_disabled(why, sizeof why)) {
    /* Nothing can be counted, but a custom list none of whose names can be
     * an event is still a mistake, and says so as it does where PAPI
     * counts. PAPI knows its presets here (PAPI_L1_DCM resolves, with no
     * counter behind it); a native name of a component (perf::CYCLES)
     * cannot be checked while that component is disabled, so it is taken
     * on trust; a bare name that is no preset (NOSUCH) is refused. */
    if (profile && *profile) {
      int named = 0, code;
      for (int i = 0; i < b->nm; i++) {
        const char *ev = b->m[i].def.cand[0];
        named += PAPI_event_name_to_code(ev, &code) == PAPI_OK || strstr(ev, "::") != NULL;
      }
      if (!named) {
        snprintf(err, errlen, "papi: no event can be counted here (%s: no event of that name here; PAPI can count nothing: %s)",
                 b->m[0].def.cand[0], why);
        free(b);
        return NULL;
      }
    }
    b->nothing = true;
    for (int i = 0; i < b->nm; i++) snprintf(b->m[i].why, sizeof b->m[i].why, "%s", why);
    char msg[sizeof last_notice];
    snprintf(msg, sizeof msg, "PAPI can count nothing here (%s); every papi metric is NA", why);
    if (strcmp(msg, last_notice) != 0) { /* once per process, as below */
      snprintf(last_notice, sizeof last_notice, "%s", msg);
      notices_printed++;
      fprintf(stderr, "testbed: papi: %s\n", msg);
    }
    return b;
  }
  probe(b);
  int nacc = 0;
  for (int i = 0; i < b->nm; i++) nacc += b->m[i].used != NULL;
  if (nacc == 0) { /* an error, not a notice that they are recorded as NA */
    snprintf(err, errlen, "papi: no event can be counted here (%s)", b->m[0].why);
    free(b);
    return NULL;
  }
  notice(b);
  return b;
}

static void papi_thread_begin(tb_backend_inst_t *b, int tid) {
  if (tid < 0 || tid >= MAX_THREADS || b->nothing) return;
  int codes[MAX_METRICS], n = 0, bad;
  for (int i = 0; i < b->nm; i++)
    if (b->m[i].used) codes[n++] = b->m[i].code;
  int r = PAPI_register_thread();
  if (r == PAPI_OK) r = make_set(codes, n, b->mpx, &b->es[tid], &bad);
  if (r == PAPI_OK) r = PAPI_start(b->es[tid]);
  if (r != PAPI_OK) {
    drop_set(&b->es[tid]);
    pthread_mutex_lock(&b->lock);
    if (!b->thread_err[0]) snprintf(b->thread_err, sizeof b->thread_err, "thread %d: %s", tid, PAPI_strerror(r));
    pthread_mutex_unlock(&b->lock);
  }
}

static void papi_thread_end(tb_backend_inst_t *b, int tid) {
  if (tid < 0 || tid >= MAX_THREADS || b->es[tid] == PAPI_NULL) return;
  long long v[MAX_METRICS] = {0};
  int r = PAPI_stop(b->es[tid], v);
  drop_set(&b->es[tid]);
  /* Replay threads end after this; the opening thread goes on using PAPI
   * (unregistering it makes PAPI's next call from it crash). */
  if (!pthread_equal(pthread_self(), b->opener)) PAPI_unregister_thread();
  pthread_mutex_lock(&b->lock);
  if (r == PAPI_OK) {
    int k = 0;
    for (int i = 0; i < b->nm; i++)
      if (b->m[i].used) b->m[i].total += v[k++];
    b->threads_counted++;
  } else if (!b->thread_err[0]) {
    snprintf(b->thread_err, sizeof b->thread_err, "thread %d: PAPI_stop: %s", tid, PAPI_strerror(r));
  }
  pthread_mutex_unlock(&b->lock);
}

static void papi_window(tb_backend_inst_t *b) {}

static void papi_report(tb_backend_inst_t *b, uint64_t ops, tb_emit_fn emit, void *ctx) {
  bool failed = b->nothing || b->thread_err[0] || b->threads_counted == 0;
  if (b->thread_err[0]) fprintf(stderr, "testbed: papi: counting failed (%s); every papi metric is NA\n", b->thread_err);
  for (int i = 0; i < b->nm; i++) {
    metric_t *m = &b->m[i];
    bool na = failed || !m->used;
    double v = (double)m->total * m->def.scale;
    char per[160];
    emit(ctx, m->def.metric, v, na, m->def.unit);
    snprintf(per, sizeof per, "%s_per_op", m->def.metric);
    emit(ctx, per, ops ? v / (double)ops : 0, na || ops == 0, m->def.unit);
  }
  emit(ctx, "papi_multiplexed", b->mpx ? 1 : 0, false, "1");
  emit(ctx, "papi_threads_counted", b->threads_counted, false, "1");
}

static void papi_close(tb_backend_inst_t *b) {
  for (int t = 0; t < MAX_THREADS; t++) drop_set(&b->es[t]);
  pthread_mutex_destroy(&b->lock);
  free(b);
}

static void papi_meta(tb_backend_inst_t *b, char *buf, size_t len) {
  size_t l = (size_t)snprintf(buf, len, "{\"multiplexed\":%s,\"events\":{", b->mpx ? "true" : "false");
  for (int i = 0; i < b->nm && l < len; i++)
    l += (size_t)snprintf(buf + l, len - l, "%s\"%s\":\"%s\"", i ? "," : "", b->m[i].def.metric,
                          b->m[i].used ? b->m[i].used : "NA");
  if (l < len) snprintf(buf + l, len - l, "}}");
}

static bool papi_available(char *why, size_t whylen) {
  pthread_once(&init_once, papi_init);
  if (init_status != PAPI_OK) {
    snprintf(why, whylen, "%s", init_msg);
    return false;
  }
  char off[160];
  int l = snprintf(why, whylen, "PAPI %d.%d.%d", PAPI_VERSION_MAJOR(PAPI_VERSION), PAPI_VERSION_MINOR(PAPI_VERSION),
                   PAPI_VERSION_REVISION(PAPI_VERSION));
  if (cpu_component_disabled(off, sizeof off) && l >= 0 && (size_t)l < whylen)
    snprintf(why + l, whylen - (size_t)l, "; counts nothing here (%s): its metrics are NA", off);
  return true;
}

bool tb_papi_counts_anything(char *why, size_t whylen) {
  pthread_once(&init_once, papi_init);
  if (init_status != PAPI_OK) {
    snprintf(why, whylen, "%s", init_msg);
    return false;
  }
  if (cpu_component_disabled(why, whylen)) return false;
  snprintf(why, whylen, "PAPI's perf_event component is enabled");
  return true;
}

bool tb_papi_hw_cache_countable(char *why, size_t whylen) {
  pthread_once(&init_once, papi_init);
  if (init_status != PAPI_OK) {
    snprintf(why, whylen, "%s", init_msg);
    return false;
  }
  char off[160];
  if (cpu_component_disabled(off, sizeof off)) {
    snprintf(why, whylen, "PAPI cannot count anything here (%s)", off);
    return false;
  }
  tb_backend_inst_t *b = calloc(1, sizeof *b);
  if (!b) {
    snprintf(why, whylen, "out of memory");
    return false;
  }
  b->m[0].def = default_metrics[2]; /* l1d_misses */
  b->nm = 1;
  probe(b);
  bool ok = b->m[0].used != NULL;
  if (ok)
    snprintf(why, whylen, "PAPI counts L1 data-cache misses here (%s)", b->m[0].used);
  else
    snprintf(why, whylen, "PAPI cannot count hardware cache events here (%s)", b->m[0].why);
  free(b);
  return ok;
}

#else /* !TB_HAVE_PAPI */

static tb_backend_inst_t *papi_open(const char *profile, int nthreads, char *err, size_t errlen) {
  snprintf(err, errlen, "papi: this build has no PAPI (libpapi-dev was not found at configure time)");
  return NULL;
}
static void papi_thread_begin(tb_backend_inst_t *b, int tid) {}
static void papi_thread_end(tb_backend_inst_t *b, int tid) {}
static void papi_window(tb_backend_inst_t *b) {}
static void papi_report(tb_backend_inst_t *b, uint64_t ops, tb_emit_fn emit, void *ctx) {}
static void papi_close(tb_backend_inst_t *b) {}
static void papi_meta(tb_backend_inst_t *b, char *buf, size_t len) { snprintf(buf, len, "{}"); }
static bool papi_available(char *why, size_t whylen) {
  snprintf(why, whylen, "built without PAPI");
  return false;
}
bool tb_papi_hw_cache_countable(char *why, size_t whylen) {
  snprintf(why, whylen, "built without PAPI");
  return false;
}
bool tb_papi_counts_anything(char *why, size_t whylen) {
  snprintf(why, whylen, "built without PAPI");
  return false;
}

#endif

const tb_backend_t tb_backend_papi = {
    .name = "papi",
    .summary = "hardware and software event counts through PAPI (papi:EV1+EV2 for a custom event list)",
    .open = papi_open,
    .thread_begin = papi_thread_begin,
    .thread_end = papi_thread_end,
    .window_begin = papi_window,
    .window_end = papi_window,
    .reexec = NULL,
    .report = papi_report,
    .close = papi_close,
    .available = papi_available,
    .meta = papi_meta,
};
