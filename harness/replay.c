/* replay.c: the replay engine (see replay.h): one run of a decoded trace on
 * a fresh heap, single-threaded in the calling thread or one thread per
 * stream behind a start barrier, with backends and the clock around the
 * replay loop alone. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "memsim.h"
#include "replay.h"
#include "topology.h"
#include "touch.h"

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

typedef struct {
  _Alignas(64) atomic_size_t done; /* ops of this stream completed (syncs included) */
  uint64_t peak;                   /* most live bytes this thread saw (multi-threaded) */
  char pad[64 - sizeof(atomic_size_t) - sizeof(uint64_t)];
} progress_t;

typedef struct {
  const tb_trace_t *t;
  const tb_replay_cfg_t *cfg;
  tb_heap_t *heap;
  void **ptrs;
  uint64_t *sizes;    /* multi-threaded: the requested size of each live slot */
  _Alignas(64) atomic_uint_least64_t live; /* multi-threaded: requested bytes live now */
  char live_pad[64 - sizeof(atomic_uint_least64_t)];
  bool measured;      /* this pass is the measured window (backends called) */
  progress_t *prog;
  uint32_t nthreads;
  pthread_barrier_t b1, b2;
  atomic_int failed;
  atomic_int stop_progress;
  uint64_t total; /* ops of all streams, syncs included (progress bar) */
  char err[256];
  pthread_mutex_t err_lock;
  tb_replay_result_t *res;
  pthread_mutex_t pin_lock;
} run_t;

typedef struct {
  run_t *run;
  uint32_t tid;
} targ_t;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(run_t *R, uint32_t tid, size_t i, const tb_op_t *op, const char *what) {
  pthread_mutex_lock(&R->err_lock);
  if (!atomic_load(&R->failed))
    snprintf(R->err, sizeof R->err, "thread %u op %zu (id %u): %s", tid, i, op->id, what);
  atomic_store(&R->failed, 1);
  pthread_mutex_unlock(&R->err_lock);
}

static volatile uint64_t touch_sink; /* keeps read touches from being optimized away */

/* The loop. mt: publish progress per op and honour syncs; touch: mode.
 * Inlined into one copy per combination so that the branches fold.
 *
 * Dispatch is a chain of compare-and-branch, the most frequent ops first
 * (free, malloc, calloc, realloc), then a switch for the rest. On real
 * traces which op comes next is hard to predict; these conditional
 * branches, predicted from the global branch history, cost less per op
 * than the single indirect jump of a switch over all codes (see "Harness
 * overhead" in harness/README.md for how that was measured). The loop
 * makes exactly one allocator call per allocator op, in trace order
 * (tests/harness/test_replay.c checks it with a spy allocator). The
 * program's touches of its blocks are touch.h's inline functions, whose
 * instructions the debug info puts under touch.h, so that a simulator can
 * attribute them by code. */
/* dry (cfg.dry, a copy of its own): the same branches, with every allocator
 * call and touch replaced by an empty asm statement that takes the call's
 * arguments and gives back an opaque non-NULL token, so the compiler keeps
 * the loads, the branches and the result check but emits no call. */
#define TB_DRY(p, x) __asm__ volatile("" : "=r"(p) : "0"((void *)(x)))
/* sim (a copy of its own, only under memsim: tb_memsim_marker set): every
 * allocator call and every touch is bracketed by marker stores (memsim.h),
 * so the simulator charges each access to the allocator, the program or
 * the harness. Native runs never take these copies. */
#define MARK(m) \
  do { \
    if (sim) { \
      __asm__ volatile("" ::: "memory"); /* the touches stay between their markers */ \
      mk[m] = 0; \
      __asm__ volatile("" ::: "memory"); \
    } \
  } while (0)
static inline __attribute__((always_inline)) int replay_loop(run_t *R, uint32_t tid, bool mt, tb_touch_t touch,
                                                             bool dry, bool sim) {
  volatile uint64_t *mk = sim ? tb_memsim_marker : NULL;
  const tb_trace_t *t = R->t;
  const tb_allocator_t *a = R->cfg->alloc;
  tb_heap_t *h = R->heap;
  uint32_t stream = R->cfg->copies > 1 ? 0 : tid;
  const tb_op_t *ops = t->ops[stream];
  size_t n = t->nops[stream];
  size_t slot0 = R->cfg->copies > 1 ? (size_t)tid * t->nobjects : 0;
  void **ptrs = R->ptrs + slot0;
  /* Multi-threaded, the live bytes are counted as this replay reaches them
   * (one counter all threads add to; its history is the order in which
   * the threads' allocations and frees happened), not in the trace's
   * recorded order, which a concurrent replay need not follow. */
  uint64_t *sizes = mt ? R->sizes + slot0 : NULL, peak = 0;
  atomic_uint_least64_t *live = &R->live;
  atomic_size_t *done = &R->prog[tid].done;
  uint64_t sum = 0;
  /* Single-threaded, progress is published once per chunk (for the progress
   * bar only); multi-threaded, after every op (syncs wait on it). */
  const size_t chunk = mt ? n : 65536;
  for (size_t base = 0, end; base < n; base = end) {
    end = n - base < chunk ? n : base + chunk;
    for (size_t i = base; i < end; i++) {
      const tb_op_t *op = &ops[i];
      const unsigned code = op->code;
      void *p;
      if (code == TB_OP_FREE) {
        if (dry)
          __asm__ volatile("" : : "r"(ptrs[op->id]));
        else {
          MARK(TB_MODE_ALLOC);
          a->free(h, ptrs[op->id]);
          MARK(TB_MODE_HARNESS);
        }
        ptrs[op->id] = NULL;
        if (mt && !dry) {
          atomic_fetch_sub_explicit(live, sizes[op->id], memory_order_relaxed);
          sizes[op->id] = 0;
        }
      } else if (code >= TB_OP_MALLOC && code <= TB_OP_REALLOC) {
        if (!dry) MARK(TB_MODE_ALLOC);
        if (code == TB_OP_MALLOC) {
          if (dry)
            TB_DRY(p, op->arg | 1);
          else
            p = a->malloc(h, op->arg);
        } else if (code == TB_OP_CALLOC) {
          if (dry)
            TB_DRY(p, op->arg | 3);
          else
            p = a->calloc(h, 1, op->arg);
        } else if (code == TB_OP_REALLOC) {
          if (dry)
            TB_DRY(p, ((uintptr_t)ptrs[op->id] + op->arg) | 5);
          else
            p = a->realloc(h, ptrs[op->id], op->arg);
        } else {
          if (dry)
            TB_DRY(p, ((size_t)1 << op->align) | op->arg | 7);
          else
            p = a->aligned_alloc(h, (size_t)1 << op->align, op->arg);
        }
        if (!dry) MARK(TB_MODE_HARNESS);
        if (__builtin_expect(!p, 0)) {
          fail(R, tid, i, op, code == TB_OP_REALLOC ? "realloc failed (out of memory)" : "allocation failed (out of memory)");
          return -1;
        }
        ptrs[op->id] = p;
        if (mt && !dry) {
          uint64_t was = sizes[op->id]; /* 0 unless a realloc */
          sizes[op->id] = op->arg;
          if (op->arg >= was) {
            uint64_t now = atomic_fetch_add_explicit(live, op->arg - was, memory_order_relaxed) + (op->arg - was);
            if (now > peak) peak = now;
          } else {
            atomic_fetch_sub_explicit(live, was - op->arg, memory_order_relaxed);
          }
        }
        if (touch == TB_TOUCH_FULL && !dry) {
          MARK(TB_MODE_PROGRAM);
          tb_touch_write(p, (int)(op->id | 1), op->arg);
          MARK(TB_MODE_HARNESS);
        }
      } else {
        switch (code) {
        case TB_OP_READ:
          if (touch != TB_TOUCH_NONE && !dry) {
            const unsigned char *c = (const unsigned char *)ptrs[op->id] + tb_touch_offset(op);
            uint32_t len = tb_touch_len(op);
            MARK(TB_MODE_PROGRAM);
            sum += tb_touch_read(c, len);
            MARK(TB_MODE_HARNESS);
          }
          break;
        case TB_OP_WRITE:
          if (touch != TB_TOUCH_NONE && !dry) {
            char *c = (char *)ptrs[op->id] + tb_touch_offset(op);
            uint32_t len = tb_touch_len(op);
            MARK(TB_MODE_PROGRAM);
            tb_touch_write(c, (int)(i & 0xff), len);
            MARK(TB_MODE_HARNESS);
          }
          break;
        case TB_OP_SYNC:
          if (mt) {
            atomic_size_t *other = &R->prog[op->id].done;
            unsigned spins = 0;
            while (atomic_load_explicit(other, memory_order_acquire) <= op->arg) {
              if (atomic_load_explicit(&R->failed, memory_order_relaxed)) return -1;
              if (++spins < 64)
                cpu_relax();
              else
                sched_yield(); /* the machine may have fewer cores than streams */
            }
          }
          break;
        default:
          fail(R, tid, i, op, "corrupt decoded op");
          return -1;
        }
      }
      if (mt) atomic_store_explicit(done, i + 1, memory_order_release);
    }
    if (!mt) atomic_store_explicit(done, end, memory_order_relaxed);
  }
  touch_sink += sum;
  if (mt) R->prog[tid].peak = peak;
  return 0;
}

static int replay_stream(run_t *R, uint32_t tid) {
  bool mt = R->nthreads > 1;
  if (R->cfg->dry) /* touches are dispatched and skipped, whatever the mode */
    return mt ? replay_loop(R, tid, true, TB_TOUCH_NONE, true, false)
              : replay_loop(R, tid, false, TB_TOUCH_NONE, true, false);
  if (tb_memsim_marker) {
    tb_memsim_stack();
    switch (R->cfg->touch) {
    case TB_TOUCH_NONE:
      return mt ? replay_loop(R, tid, true, TB_TOUCH_NONE, false, true) : replay_loop(R, tid, false, TB_TOUCH_NONE, false, true);
    case TB_TOUCH_FULL:
      return mt ? replay_loop(R, tid, true, TB_TOUCH_FULL, false, true) : replay_loop(R, tid, false, TB_TOUCH_FULL, false, true);
    default:
      return mt ? replay_loop(R, tid, true, TB_TOUCH_TRACE, false, true) : replay_loop(R, tid, false, TB_TOUCH_TRACE, false, true);
    }
  }
  switch (R->cfg->touch) {
  case TB_TOUCH_NONE:
    return mt ? replay_loop(R, tid, true, TB_TOUCH_NONE, false, false) : replay_loop(R, tid, false, TB_TOUCH_NONE, false, false);
  case TB_TOUCH_FULL:
    return mt ? replay_loop(R, tid, true, TB_TOUCH_FULL, false, false) : replay_loop(R, tid, false, TB_TOUCH_FULL, false, false);
  default:
    return mt ? replay_loop(R, tid, true, TB_TOUCH_TRACE, false, false) : replay_loop(R, tid, false, TB_TOUCH_TRACE, false, false);
  }
}

/* Bind replay thread tid to its own core; failures are counted, the first
 * one kept for the results (a run still goes on, unpinned). */
static void pin_thread(run_t *R, int tid) {
  char why[160];
  if (tb_topology_pin(tid, why, sizeof why) == 0) return;
  pthread_mutex_lock(&R->pin_lock);
  if (R->res->pin_failures++ == 0) snprintf(R->res->pin_error, sizeof R->res->pin_error, "thread %d: %.120s", tid, why);
  pthread_mutex_unlock(&R->pin_lock);
}

static void *thread_main(void *arg) {
  targ_t *ta = arg;
  run_t *R = ta->run;
  const tb_replay_cfg_t *cfg = R->cfg;
  size_t nb = R->measured ? cfg->nbackends : 0;
  if (cfg->pin && R->measured) pin_thread(R, (int)ta->tid);
  pthread_barrier_wait(&R->b1);
  for (size_t k = 0; k < nb; k++)
    if (cfg->backend[k]->thread_begin) cfg->backend[k]->thread_begin(cfg->inst[k], (int)ta->tid);
  pthread_barrier_wait(&R->b2);
  replay_stream(R, ta->tid);
  for (size_t k = 0; k < nb; k++)
    if (cfg->backend[k]->thread_end) cfg->backend[k]->thread_end(cfg->inst[k], (int)ta->tid);
  return NULL;
}

/* Progress bar: only drawn once the run has taken 2 s (short runs stay quiet). */
static void *progress_main(void *arg) {
  run_t *R = arg;
  double t0 = now_s();
  bool drawn = false;
  while (!atomic_load(&R->stop_progress)) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (now_s() - t0 < 2.0) continue;
    uint64_t d = 0;
    for (uint32_t i = 0; i < R->nthreads; i++) d += atomic_load_explicit(&R->prog[i].done, memory_order_relaxed);
    int pct = R->total ? (int)(100.0 * (double)d / (double)R->total) : 0;
    char bar[41];
    for (int k = 0; k < 40; k++) bar[k] = k < pct * 40 / 100 ? '#' : ' ';
    bar[40] = 0;
    fprintf(stderr, "\r[%s] %3d%%", bar, pct);
    drawn = true;
  }
  if (drawn) fprintf(stderr, "\r%*s\r", 48, "");
  return NULL;
}

static uint64_t faults_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

/* Reset the kernel's peak-RSS mark so VmHWM covers the window only. */
static bool rss_reset(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return false;
  bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

static bool rss_peak(uint64_t *out) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return false;
  char line[256];
  bool ok = false;
  unsigned long long kb;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) {
      *out = (uint64_t)kb * 1024;
      ok = true;
    }
  fclose(f);
  return ok;
}

/* One pass over the trace: the window when R->measured (backends around
 * it), else an unmeasured replay (the warm-up). *t0, *t1: its clock. */
static void replay_pass(run_t *R, double *t0, double *t1) {
  const tb_replay_cfg_t *cfg = R->cfg;
  size_t nb = R->measured ? cfg->nbackends : 0;
  if (R->nthreads == 1) {
    if (cfg->pin && R->measured) pin_thread(R, 0);
    for (size_t k = 0; k < nb; k++)
      if (cfg->backend[k]->thread_begin) cfg->backend[k]->thread_begin(cfg->inst[k], 0);
    for (size_t k = 0; k < nb; k++)
      if (cfg->backend[k]->window_begin) cfg->backend[k]->window_begin(cfg->inst[k]);
    *t0 = now_s();
    replay_stream(R, 0);
    *t1 = now_s();
    for (size_t k = 0; k < nb; k++)
      if (cfg->backend[k]->window_end) cfg->backend[k]->window_end(cfg->inst[k]);
    for (size_t k = 0; k < nb; k++)
      if (cfg->backend[k]->thread_end) cfg->backend[k]->thread_end(cfg->inst[k], 0);
  } else {
    pthread_barrier_init(&R->b1, NULL, R->nthreads + 1);
    pthread_barrier_init(&R->b2, NULL, R->nthreads + 1);
    pthread_t *th = calloc(R->nthreads, sizeof *th);
    targ_t *ta = calloc(R->nthreads, sizeof *ta);
    uint32_t started = 0;
    if (th && ta)
      for (; started < R->nthreads; started++) {
        ta[started] = (targ_t){R, started};
        if (pthread_create(&th[started], NULL, thread_main, &ta[started])) break;
      }
    if (started < R->nthreads) {
      /* Cannot happen short of resource exhaustion; threads already started
       * wait at b1 forever, so this is fatal rather than recoverable. */
      fprintf(stderr, "testbed: cannot start %u replay threads\n", R->nthreads);
      exit(1);
    }
    pthread_barrier_wait(&R->b1);
    for (size_t k = 0; k < nb; k++)
      if (cfg->backend[k]->window_begin) cfg->backend[k]->window_begin(cfg->inst[k]);
    *t0 = now_s();
    pthread_barrier_wait(&R->b2);
    for (uint32_t i = 0; i < R->nthreads; i++) pthread_join(th[i], NULL);
    *t1 = now_s();
    for (size_t k = 0; k < nb; k++)
      if (cfg->backend[k]->window_end) cfg->backend[k]->window_end(cfg->inst[k]);
    pthread_barrier_destroy(&R->b1);
    pthread_barrier_destroy(&R->b2);
    free(th);
    free(ta);
  }
}

int tb_replay_run(const tb_trace_t *t, const tb_replay_cfg_t *cfg, tb_replay_result_t *res, char *err,
                  size_t errlen) {
  memset(res, 0, sizeof *res);
  uint32_t copies = cfg->copies > 1 ? cfg->copies : 1;
  if (copies > 1 && t->nthreads != 1) {
    snprintf(err, errlen, "a trace with %u streams cannot be replicated over %u threads", t->nthreads, copies);
    return -1;
  }
  run_t *R = calloc(1, sizeof *R);
  if (!R) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  R->t = t;
  R->cfg = cfg;
  R->nthreads = tb_replay_threads(t, copies);
  pthread_mutex_init(&R->err_lock, NULL);
  pthread_mutex_init(&R->pin_lock, NULL);
  R->res = res;
  size_t nslots = (size_t)t->nobjects * copies;
  R->ptrs = calloc(nslots ? nslots : 1, sizeof(void *));
  R->prog = aligned_alloc(64, sizeof(progress_t) * R->nthreads);
  if (R->nthreads > 1) R->sizes = calloc(nslots ? nslots : 1, sizeof(uint64_t));
  atomic_init(&R->live, 0);
  if (!R->ptrs || !R->prog || (R->nthreads > 1 && !R->sizes)) {
    free(R->sizes);
    free(R->ptrs);
    free(R->prog);
    free(R);
    snprintf(err, errlen, "out of memory for %zu object slots", nslots);
    return -1;
  }
  uint64_t touches = 0;
  for (uint32_t i = 0; i < R->nthreads; i++) {
    atomic_init(&R->prog[i].done, 0);
    uint32_t s = copies > 1 ? 0 : i;
    R->total += t->nops[s];
  }
  for (uint32_t s = 0; s < t->nthreads; s++)
    for (size_t i = 0; i < t->nops[s]; i++) touches += t->ops[s][i].code == TB_OP_READ || t->ops[s][i].code == TB_OP_WRITE;
  touches *= copies;
  res->threads = R->nthreads;
  res->ops = t->total_ops * copies - (cfg->touch == TB_TOUCH_NONE ? touches : 0);

  /* The process's own free memory goes back to the system before the heap
   * is made: what the harness allocated and freed before (decoding the
   * trace) must not reach an allocator that serves from the system malloc
   * (glibc, and the peers preloaded in its place) as warm, already-faulted
   * memory, when every design starts from a space nobody touched. */
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  tb_heap_opts_t ho = {.mode = R->nthreads > 1 ? TB_MODE_LOCKED : TB_MODE_SINGLE};
  space_t fixed;
  void *pre = NULL;
  if (cfg->prefault) {
    pre = mmap(NULL, cfg->prefault, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pre == MAP_FAILED || space_init_fixed(&fixed, pre, cfg->prefault)) {
      if (pre != MAP_FAILED) munmap(pre, cfg->prefault);
      pre = NULL;
    } else {
      memset(pre, 0, cfg->prefault);
      ho.space = &fixed;
    }
  }
  R->heap = cfg->alloc->create(&ho);
  if (!R->heap) {
    if (pre) munmap(pre, cfg->prefault);
    snprintf(err, errlen, "%s: cannot create a heap: %s", cfg->alloc->name, strerror(errno));
    free(R->sizes);
    free(R->ptrs);
    free(R->prog);
    free(R);
    return -1;
  }
  /* Fault the slot table (and the sizes) in before the window. */
  memset(R->ptrs, 0, nslots * sizeof(void *));
  if (R->sizes) memset(R->sizes, 0, nslots * sizeof(uint64_t));
  for (uint32_t i = 0; i < R->nthreads; i++) R->prog[i].peak = 0;
  if (tb_memsim_marker) { /* the harness's structures, for memsim's by-region counts */
    tb_memsim_region(R->ptrs, nslots * sizeof(void *), TB_RG_HARNESS);
    if (R->sizes) tb_memsim_region(R->sizes, nslots * sizeof(uint64_t), TB_RG_HARNESS);
    tb_memsim_region(R->prog, sizeof(progress_t) * R->nthreads, TB_RG_HARNESS);
    for (uint32_t s = 0; s < t->nthreads; s++) tb_memsim_region(t->ops[s], t->nops[s] * sizeof(tb_op_t), TB_RG_HARNESS);
  }

  tb_stats_t warm; /* after the warm-up: counters count the window only */
  tb_stats_clear(&warm);
  if (cfg->warmup) {
    /* The warm protocol: the whole trace once on this heap, untimed and
     * unmeasured, and what it left live freed; then the measured window
     * on the same heap (and process), from the state one replay leaves. */
    double w0, w1;
    R->measured = false;
    if (cfg->warmup_trace) R->t = cfg->warmup_trace;
    replay_pass(R, &w0, &w1);
    R->t = t;
    if (!atomic_load(&R->failed)) {
      for (size_t i = 0; i < nslots && !cfg->dry; i++) /* dry: the slots hold tokens */
        if (R->ptrs[i]) cfg->alloc->free(R->heap, R->ptrs[i]);
      memset(R->ptrs, 0, nslots * sizeof(void *));
      if (R->sizes) memset(R->sizes, 0, nslots * sizeof(uint64_t));
      atomic_store(&R->live, 0);
      for (uint32_t i = 0; i < R->nthreads; i++) {
        atomic_store(&R->prog[i].done, 0);
        R->prog[i].peak = 0;
      }
      if (!cfg->dry) cfg->alloc->stats(R->heap, &warm);
    }
  }
  double t0 = 0, t1 = 0;
  if (!atomic_load(&R->failed)) {
    pthread_t prog_thread;
    bool prog_started = cfg->progress && pthread_create(&prog_thread, NULL, progress_main, R) == 0;
    R->measured = true;
    res->rss_ok = rss_reset();
    uint64_t f0 = faults_now();
    replay_pass(R, &t0, &t1);
    res->page_faults = faults_now() - f0;
    res->faults_ok = true;
    if (res->rss_ok) res->rss_ok = rss_peak(&res->max_rss_bytes);
    if (prog_started) {
      atomic_store(&R->stop_progress, 1);
      pthread_join(prog_thread, NULL);
    }
  }
  res->peak_live_bytes = t->peak_live_bytes * copies; /* one stream: the trace's own order */
  if (R->sizes) {
    res->peak_live_bytes = 0;
    for (uint32_t i = 0; i < R->nthreads; i++)
      if (R->prog[i].peak > res->peak_live_bytes) res->peak_live_bytes = R->prog[i].peak;
  }
  res->seconds = t1 - t0;
  int rc = 0;
  if (atomic_load(&R->failed)) {
    snprintf(err, errlen, "%s: %s", cfg->alloc->name, R->err);
    rc = -1;
  } else if (!cfg->dry) {
    cfg->alloc->stats(R->heap, &res->stats);
#define TB_WINDOW_COUNTER(name, unit, kind, desc)                                          \
  if (!strcmp(#kind, "counter") && res->stats.name != TB_STAT_NA && warm.name != TB_STAT_NA) \
    res->stats.name -= warm.name;
    TB_STAT_FIELDS(TB_WINDOW_COUNTER)
#undef TB_WINDOW_COUNTER
    char why[256] = "";
    if (cfg->validate && (cfg->alloc->caps & TB_CAP_CHECK) && !cfg->alloc->check(R->heap, why, sizeof why)) {
      snprintf(err, errlen, "%s: heap check failed after the replay: %s", cfg->alloc->name, why);
      rc = -1;
    }
  }
  /* Leftovers: free them (glibc's heap is the process's and outlives us). */
  for (size_t i = 0; i < nslots && !cfg->dry; i++) /* dry: the slots hold tokens */
    if (R->ptrs[i]) cfg->alloc->free(R->heap, R->ptrs[i]);
  cfg->alloc->destroy(R->heap);
  if (pre) munmap(pre, cfg->prefault);
  pthread_mutex_destroy(&R->err_lock);
  pthread_mutex_destroy(&R->pin_lock);
  free(R->sizes);
  free(R->ptrs);
  free(R->prog);
  free(R);
  return rc;
}
