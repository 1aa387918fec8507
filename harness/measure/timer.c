/* timer.c: the `timer` backend: wall time on the monotonic clock, CPU time
 * and page faults from getrusage, and the peak resident set size, around
 * the measured window. Always available; needs no counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"

struct tb_backend_inst_s {
  struct timespec t0, t1;   /* monotonic clock at window begin / end */
  struct rusage r0, r1;     /* whole process (every replay thread) */
  bool begun, ended;
};

static double ts_sec(const struct timespec *t) { return (double)t->tv_sec + (double)t->tv_nsec * 1e-9; }
static double tv_sec(const struct timeval *t) { return (double)t->tv_sec + (double)t->tv_usec * 1e-6; }

static tb_backend_inst_t *timer_open(const char *profile, int nthreads, char *err, size_t errlen) {
  if (profile && *profile) {
    snprintf(err, errlen, "backend timer takes no profile (got 'timer:%s')", profile);
    return NULL;
  }
  tb_backend_inst_t *b = calloc(1, sizeof *b);
  if (!b) snprintf(err, errlen, "timer: out of memory");
  return b;
}

static void timer_thread(tb_backend_inst_t *b, int tid) {}

static void timer_window_begin(tb_backend_inst_t *b) {
  getrusage(RUSAGE_SELF, &b->r0);
  clock_gettime(CLOCK_MONOTONIC, &b->t0); /* last: the clock brackets the window tightest */
  b->begun = true;
}

static void timer_window_end(tb_backend_inst_t *b) {
  clock_gettime(CLOCK_MONOTONIC, &b->t1);
  getrusage(RUSAGE_SELF, &b->r1);
  b->ended = true;
}

/* Emit a total and, when ops > 0, the same divided by ops. */
static void emit_pair(tb_emit_fn emit, void *ctx, const char *name, double v, bool na, const char *unit, uint64_t ops) {
  char per[96];
  emit(ctx, name, v, na, unit);
  snprintf(per, sizeof per, "%s_per_op", name);
  emit(ctx, per, ops ? v / (double)ops : 0, na || ops == 0, unit);
}

static void timer_report(tb_backend_inst_t *b, uint64_t ops, tb_emit_fn emit, void *ctx) {
  bool na = !(b->begun && b->ended);
  emit_pair(emit, ctx, "wall_time", ts_sec(&b->t1) - ts_sec(&b->t0), na, "s", ops);
  emit_pair(emit, ctx, "cpu_user_time", tv_sec(&b->r1.ru_utime) - tv_sec(&b->r0.ru_utime), na, "s", ops);
  emit_pair(emit, ctx, "cpu_sys_time", tv_sec(&b->r1.ru_stime) - tv_sec(&b->r0.ru_stime), na, "s", ops);
  emit_pair(emit, ctx, "minor_faults", (double)(b->r1.ru_minflt - b->r0.ru_minflt), na, "1", ops);
  emit_pair(emit, ctx, "major_faults", (double)(b->r1.ru_majflt - b->r0.ru_majflt), na, "1", ops);
  /* ru_maxrss is in KiB on Linux and the process's peak so far (it cannot
   * be reset, so it includes the trace loaded before the window). */
  emit(ctx, "max_rss", (double)b->r1.ru_maxrss * 1024.0, na, "B");
}

static void timer_close(tb_backend_inst_t *b) { free(b); }

static bool timer_available(char *why, size_t whylen) {
  snprintf(why, whylen, "CLOCK_MONOTONIC and getrusage");
  return true;
}

static void timer_meta(tb_backend_inst_t *b, char *buf, size_t len) {
  snprintf(buf, len, "{\"clock\":\"CLOCK_MONOTONIC\",\"rusage\":\"RUSAGE_SELF\",\"max_rss\":\"process peak (ru_maxrss)\"}");
}

const tb_backend_t tb_backend_timer = {
    .name = "timer",
    .summary = "wall and CPU time, page faults, peak RSS (monotonic clock, getrusage); always available",
    .open = timer_open,
    .thread_begin = timer_thread,
    .thread_end = timer_thread,
    .window_begin = timer_window_begin,
    .window_end = timer_window_end,
    .reexec = NULL,
    .report = timer_report,
    .close = timer_close,
    .available = timer_available,
    .meta = timer_meta,
};
