/* backend.h: measurement backends, wrapped around the measured window of a
 * replay (harness/replay). Contract between the replay harness (caller) and
 * the backends in harness/measure/ (timer, papi, cachegrind:<profile>).
 *
 * Objects and terms:
 *   backend   - a way of measuring, named as users type it after --backend
 *               ("timer", "papi", "cachegrind"); an optional ":PROFILE"
 *               names a machine profile (harness/measure/profiles.conf).
 *   instance  - one opened backend for one run: its event sets, files,
 *               accumulated counts.
 *   window    - the part of a run being measured: the replay loop alone,
 *               after the whole trace is decoded and the heap created.
 *   metric    - a named value with an SI unit ("B", "s", "1" for counts),
 *               or NA when it could not be measured (never reported as 0).
 *
 * Call order for one run with T replay threads:
 *   inst = open(profile, T, err)                    before the run
 *   thread_begin(inst, t)   in replay thread t, after the start barrier
 *   window_begin(inst)      in the coordinating thread, right before release
 *   ... replay ...
 *   thread_end(inst, t)     in replay thread t, when its stream is done
 *   window_end(inst)        in the coordinating thread after all threads end
 *   report(inst, ops, emit, ctx)   emits every metric of the run
 *   close(inst)
 * In a single-threaded replay thread 0 is the coordinating thread and the
 * order is thread_begin, window_begin, replay, window_end, thread_end.
 *
 * Backends that must run the replay inside a simulator (cachegrind under
 * valgrind) set `reexec`: the harness then does not replay itself but asks
 * the backend to run the same `testbed run` command line for one run under
 * the simulator (with TB_BACKEND_INNER set in the child's environment so the
 * child only marks the window), and report() reads the simulator's output.
 */
#ifndef TB_BACKEND_H
#define TB_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tb_backend_inst_s tb_backend_inst_t;

/* Emit one metric. value is ignored when na is true. */
typedef void (*tb_emit_fn)(void *ctx, const char *metric, double value, bool na, const char *unit);

typedef struct tb_backend_s {
  const char *name;
  const char *summary; /* one line for `testbed list` */
  /* NULL with a message in err (unknown profile, nothing countable, ...). */
  tb_backend_inst_t *(*open)(const char *profile, int nthreads, char *err, size_t errlen);
  void (*thread_begin)(tb_backend_inst_t *b, int tid);
  void (*thread_end)(tb_backend_inst_t *b, int tid);
  void (*window_begin)(tb_backend_inst_t *b);
  void (*window_end)(tb_backend_inst_t *b);
  /* argv: the child's full command line (NULL-terminated); returns 0 when
   * the child ran and its output was read, else non-zero with a message. */
  int (*reexec)(tb_backend_inst_t *b, char *const argv[], char *err, size_t errlen);
  void (*report)(tb_backend_inst_t *b, uint64_t ops, tb_emit_fn emit, void *ctx);
  void (*close)(tb_backend_inst_t *b);
  /* Additions (may be NULL; callers check):
   * available: whether this backend can measure on this machine, with the
   *   reason when it cannot (no PAPI, no valgrind, no counters, ...).
   * meta: a JSON object describing how the numbers of this instance were
   *   obtained (events used, multiplexing, simulated geometry), for
   *   meta.json; writes "{}" when there is nothing to say. */
  bool (*available)(char *why, size_t whylen);
  void (*meta)(tb_backend_inst_t *b, char *buf, size_t len);
  /* label (may be NULL): the profile column of this instance's rows when
   * it says more than the profile name (memsim: "neoverse-n1@aarch64",
   * the ISA that ran, and "/page=64K" when the page was overridden). */
  void (*label)(tb_backend_inst_t *b, char *buf, size_t len);
} tb_backend_t;

/* The registered backends, by name (the part before ':'), or NULL. */
const tb_backend_t *tb_backend_find(const char *name);
const tb_backend_t *tb_backend_at(size_t i);

/* The default backend set for this machine: "papi" when hardware cache
 * events can be counted, otherwise "timer,cachegrind:host". Writes the
 * choice (comma-separated) and a one-line reason. */
void tb_backend_default(char *choice, size_t clen, char *reason, size_t rlen);

/* Split a user spec "name[:profile]": returns the backend (NULL when the
 * name is unknown) and sets *profile to the text after the first ':' (NULL
 * when there is none). */
const tb_backend_t *tb_backend_lookup(const char *spec, const char **profile);

/* True in the child a reexec backend started under a simulator (the
 * environment holds TB_BACKEND_INNER): the harness then replays one run
 * itself, calls thread_begin/window_begin/window_end/thread_end (which only
 * mark the window for the simulator) and writes no results; report() emits
 * nothing there. */
bool tb_backend_inner(void);
#define TB_BACKEND_INNER_ENV "TB_BACKEND_INNER"

#endif /* TB_BACKEND_H */
