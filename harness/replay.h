/* replay.h: the replay engine: runs a decoded trace (workloads/trace.h)
 * against one heap of a registered allocator, with the measured window
 * around the replay loop alone.
 *
 * Objects and terms:
 *   run      - one replay of the whole trace on a fresh heap (after one
 *              unmeasured replay on the same heap with cfg.warmup).
 *   window   - from the release of the start barrier to the end of the
 *              last stream; the trace is decoded and the heap created
 *              before it, leftovers freed and the heap destroyed after it.
 *   slot     - ptrs[id]: the address object id has now (NULL when not live).
 *   copies   - a one-stream trace replayed by T threads at once: thread k
 *              uses ids id + k * nobjects (independent copies; no syncs).
 *   touch    - none: the trace's read/write ops are skipped; trace: they are
 *              replayed; full: in addition every byte of each new block
 *              (malloc, calloc, aligned, realloc) is written, as glibc's
 *              trace_run does.
 *
 * Threads: one per stream (or per copy), started on a barrier. A TB_OP_SYNC
 * waits (acquire) until the named thread has completed the given op
 * (each thread publishes its count of completed ops with a release store).
 */
#ifndef TB_REPLAY_H
#define TB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "tb_alloc.h"
#include "trace.h"

typedef enum { TB_TOUCH_NONE = 0, TB_TOUCH_TRACE = 1, TB_TOUCH_FULL = 2 } tb_touch_t;

#define TB_REPLAY_MAX_BACKENDS 16

typedef struct tb_replay_cfg_s {
  const tb_allocator_t *alloc;
  tb_touch_t touch;
  uint32_t copies;  /* 0 or 1: the trace's own streams; T > 1 needs a one-stream trace */
  bool progress;    /* draw a progress bar on stderr once the run takes > 2 s */
  bool validate;    /* call alloc->check() after the window (when it has TB_CAP_CHECK) */
  size_t prefault;  /* > 0: the heap gets a fixed space of this many bytes, written
                       before the window (so the kernel's first-touch faults are
                       not counted: used to measure the harness with bump) */
  bool pin;         /* bind replay thread t to core t (harness/measure/topology.h) */
  bool dry;         /* dispatch only: every op goes through the loop's branches
                       as usual but no allocator is called and no memory is
                       touched (a slot gets a token); syncs still wait. What is
                       left is the loop's own dispatch: a floor under the
                       harness overhead (testbed run --overhead). The heap is
                       created and destroyed, nothing else; no statistics. */
  bool warmup;      /* the warm protocol: replay the whole trace once on the
                       heap first, untimed and unmeasured, free what it left
                       live, then the measured window on the same heap.
                       Statistics' counters then count the window alone
                       (gauges describe the heap at its end). */
  const tb_trace_t *warmup_trace; /* with warmup: the trace the warm-up replays
                       when not this one (the whole trace before a replay of
                       its prefix); same streams and objects */
  size_t nbackends; /* opened backend instances wrapped around the window */
  const tb_backend_t *backend[TB_REPLAY_MAX_BACKENDS];
  tb_backend_inst_t *inst[TB_REPLAY_MAX_BACKENDS];
} tb_replay_cfg_t;

typedef struct tb_replay_result_s {
  uint32_t threads;   /* replay threads used */
  uint64_t ops;       /* allocator ops + touches replayed (syncs excluded) */
  double seconds;     /* the window, wall clock */
  tb_stats_t stats;   /* allocator statistics at the end of the window */
  uint64_t peak_live_bytes; /* most requested bytes live at once as this replay
                               reached them: several threads count them as they
                               go (one shared counter); one thread replays the
                               trace's order, so it is the trace's own figure */
  bool faults_ok;     /* page_faults valid */
  uint64_t page_faults; /* minor + major faults in the window (whole process) */
  bool rss_ok;        /* max_rss_bytes valid (needs /proc/self/clear_refs) */
  uint64_t max_rss_bytes; /* peak resident set during the window (includes the decoded trace) */
  unsigned pin_failures;  /* replay threads that could not be pinned (with cfg.pin) */
  char pin_error[160];    /* the first pinning failure's message */
} tb_replay_result_t;

/* One run. 0 on success; otherwise -1 and a message naming the thread and
 * op ("thread T op N: malloc(100) failed") in err. */
int tb_replay_run(const tb_trace_t *t, const tb_replay_cfg_t *cfg, tb_replay_result_t *r, char *err, size_t errlen);

/* Threads a run of t with `copies` uses. */
static inline uint32_t tb_replay_threads(const tb_trace_t *t, uint32_t copies) {
  return copies > 1 ? copies : t->nthreads;
}

#endif /* TB_REPLAY_H */
