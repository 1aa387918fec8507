/* plan.h: the run plan of `testbed run`: every option parsed once from
 * argv into one value, checked before anything is run, and serialised back
 * into a command line for a re-executed child (the same `testbed run`, for
 * one run of one allocator), which parses it with the same parser.
 *
 * Objects and terms:
 *   plan     - what `testbed run` was asked to do: allocators, workload,
 *              backends, runs, threads, touch mode, check level, options.
 *   child    - a `testbed run` this process starts for one run of one
 *              allocator: under a simulator (a backend with reexec:
 *              cachegrind under valgrind, memsim under qemu; it only marks
 *              the window, its backend reports), or for a measured run
 *              (every one, under either protocol: it writes its rows to a
 *              rows file, results.h, that the parent reads). A child gets
 *              `--child RUN`: the run number its rows carry; it opens no
 *              output directory and writes no meta.json.
 *   trace file - what is loaded: the workload file itself, or for a
 *              generator spec (gen:NAME:...) a temporary binary trace
 *              generated once in the parent (tb_plan_workload) and handed
 *              to every child by name; the rows keep the spec as the
 *              workload's name (--workload-name).
 *
 * Options only children get (the parent writes them, users need not):
 *   --child RUN          this process is a child for run RUN (1-based)
 *   --rows FILE          a child writes its rows (and backend meta) there
 *   --workload-name W    the workload name rows carry (default: from --workload)
 */
#ifndef TB_PLAN_H
#define TB_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "replay.h"
#include "results.h"
#include "tb_alloc.h"

#define TB_PLAN_MAX_ALLOCS 16

/* Timing protocols: the state every measured run starts from (see
 * harness/README.md, "One timing protocol"). Both run each measured run
 * in a process of its own. */
typedef enum {
  TB_PROTOCOL_FRESH = 0, /* a fresh process and a fresh heap; the window is the first replay */
  TB_PROTOCOL_WARM = 1   /* a fresh process; one untimed replay on the heap first, then the window */
} tb_protocol_t;

/* One backend of the plan: its spec as typed ("cachegrind:zen3") and what
 * it names. */
typedef struct tb_plan_backend_s {
  const tb_backend_t *b;
  char spec[128];
  const char *profile; /* into spec, after the ':'; NULL when none */
} tb_plan_backend_t;

typedef struct tb_plan_s {
  /* The allocators, in the order given; no name twice. */
  const tb_allocator_t *alloc[TB_PLAN_MAX_ALLOCS];
  size_t nallocs;
  const char *alloc_list;    /* --allocator as given (meta.json) */
  const char *workload;      /* --workload as given: a trace file or gen:SPEC */
  const char *workload_name; /* the name rows carry (--workload-name, else from workload) */
  const char *out;           /* --out (NULL in a child) */
  unsigned runs;             /* --runs */
  unsigned threads;          /* --threads, 0 when not given */
  int level;                 /* --check-level */
  tb_touch_t touch;          /* --touch */
  const char *experiment;    /* --experiment (default "adhoc") */
  const char *backend_arg;   /* --backend as given; "default" when absent */
  char backends[512];        /* the chosen list, comma-separated ("" = none) */
  char backend_reason[512];  /* why, when the default set was chosen */
  tb_plan_backend_t bk[TB_REPLAY_MAX_BACKENDS];
  size_t nbk;
  bool overhead, pin;
  tb_results_mode_t mode;    /* --force, --append (the parent's output directory) */
  tb_protocol_t protocol;    /* --protocol fresh|warm (default fresh) */
  unsigned child_run;        /* --child RUN; 0 in the parent */
  const char *rows;          /* --rows FILE: a child writes its rows there */
  /* Set by tb_plan_workload: */
  const char *trace_file;    /* the file to load */
  char gen_file[4096];       /* the generated temporary file ("" when none) */
} tb_plan_t;


enum { TB_PLAN_OK = 0, TB_PLAN_HELP = 1, TB_PLAN_BAD = 2 };

/* Parse `testbed run` argv (argv[0] is the subcommand) into p. Allocators
 * and backends are looked up in their registries here; the default
 * backend set is resolved. TB_PLAN_OK, TB_PLAN_HELP (-h/--help given), or
 * TB_PLAN_BAD with a message in err naming the option ("needs --runs",
 * "allocator 'inline' is named twice in --allocator"). p points into argv,
 * which must outlive it. */
int tb_plan_parse(tb_plan_t *p, int argc, char **argv, char *err, size_t errlen);

/* Make p->trace_file loadable: the workload file itself, or a generator
 * spec generated once into a temporary binary trace (threads=T added when
 * the generator takes it and --threads T was given). 0, or -1 with a
 * message. tb_plan_free removes the temporary file. */
int tb_plan_workload(tb_plan_t *p, char *err, size_t errlen);
void tb_plan_free(tb_plan_t *p);

/* The child of one run: which allocator, which run number, which
 * backends (a comma-separated spec list, "" for none) and its rows file. */
typedef struct tb_plan_child_s {
  const tb_allocator_t *alloc;
  unsigned run;
  const char *backends;
  const char *rows; /* where it writes its rows (NULL: none, as a simulator child) */
} tb_plan_child_t;

/* The child's command line, NULL-terminated: exe, "run", then the plan's
 * options for that child (the trace file, never the generator spec). One
 * allocation: free() it. NULL when out of memory. */
char **tb_plan_child_argv(const tb_plan_t *p, const tb_plan_child_t *c, const char *exe);

/* "none", "trace" or "full"; "fresh" or "warm". */
const char *tb_plan_touch_name(tb_touch_t t);
const char *tb_plan_protocol_name(tb_protocol_t p);

/* This executable's path (/proc/self/exe resolved), for a child's argv[0]. */
void tb_plan_self_exe(char *buf, size_t len);

#endif /* TB_PLAN_H */
