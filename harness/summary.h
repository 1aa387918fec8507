/* summary.h: turning a run set's tidy results into per-group statistics.
 *
 * Objects and terms:
 *   run set  - a folder with results.csv (tidy rows, first line
 *              "# command: ...") and meta.json, written by `testbed run`
 *              or merged by experiments/run.sh. Raw results are read, never
 *              edited.
 *   row      - one line of results.csv: experiment, allocator, workload,
 *              backend, profile, threads, run, metric, value, unit. value
 *              is a number or NA (not measured; never 0).
 *   group    - all rows sharing (experiment, allocator, workload, backend,
 *              profile, threads, metric): the repetitions (runs) of one
 *              measurement. Every row of a group must have the same unit and
 *              a distinct run number.
 *   summary  - per group: n (non-NA values), n_na, median, the 95%
 *              confidence interval OF THE MEDIAN (distribution-free, from
 *              order statistics: [x_(j), x_(n+1-j)] with the largest j whose
 *              exact binomial coverage 1 - 2 P(Bin(n,1/2) <= j-1) is at
 *              least 0.95), the coverage actually achieved (ci_level; below
 *              0.95 when n <= 5, where [min, max] is the widest interval
 *              there is; NA when n < 2), mean, min and max. A group whose
 *              values are all NA has n = 0 and NA statistics.
 */
#ifndef TB_SUMMARY_H
#define TB_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum { TB_SUM_KEYS = 7 }; /* experiment allocator workload backend profile threads metric */

/* The direction of a comparison of a design with a baseline (a group
 * with another group of the same key but the allocator):
 *   LOWER / HIGHER - the design's median is below / above the baseline's
 *     by a measurable amount: when both groups have a CI of the median
 *     (n >= 2, not all runs equal), the ratio interval (see ratio_lo,
 *     ratio_hi) lies entirely below / above 1; when either is one
 *     deterministic value (a simulation runs once), the ratio differs from
 *     1 by more than TB_SUM_SIM_TOL and, for *_misses_per_op metrics, the
 *     medians by more than TB_SUM_MISS_FLOOR misses per operation;
 *   SAME - neither: no measurable difference;
 *   NA - a median is NA or the baseline's is 0 (no ratio). */
typedef enum { TB_DIR_NA = 0, TB_DIR_LOWER, TB_DIR_SAME, TB_DIR_HIGHER } tb_dir_t;

/* Simulated counts move by up to about 1% when only the environment or
 * the command line changes (the stack shifts; the reference check of
 * reproduce.sh uses the same tolerance), so a deterministic difference
 * below it is not counted as one. */
#define TB_SUM_SIM_TOL 0.01
/* Below one miss per thousand operations a difference is not material. */
#define TB_SUM_MISS_FLOOR 0.001

/* The baseline of the ratio columns: every design against inline. */
#define TB_SUMMARY_BASELINE "inline"

typedef struct tb_sum_group_s {
  const char *experiment, *allocator, *workload, *backend, *profile, *threads, *metric;
  const char *unit;
  size_t n;    /* values that are numbers */
  size_t n_na; /* values that are NA */
  /* NAN when not defined (n == 0; ci_* also when n < 2). */
  double median, ci_low, ci_high, ci_level, mean, min, max;
  /* Against TB_SUMMARY_BASELINE's group of the same key: the ratio of the
   * medians and an interval from the two CIs [lo/base_hi, hi/base_lo]
   * (NAN when either CI is undefined or this is the baseline), and the
   * direction. All NAN / TB_DIR_NA for the baseline itself. */
  double ratio, ratio_lo, ratio_hi;
  tb_dir_t dir;
} tb_sum_group_t;

/* A step of the design space: what changes from one allocator to the
 * next (inline -> oob-m32: where the metadata lives; ...). */
typedef struct tb_sum_step_s {
  const char *from, *to, *what;
} tb_sum_step_t;
extern const tb_sum_step_t tb_summary_steps[]; /* NULL-terminated (from == NULL) */

/* A verdict: the ratios of a step (to / from) over a set of workloads, for
 * one metric and backend, on one profile or on every native profile of an
 * ISA ("x86": x86 cores running x86-64 code, "ARM": ARM cores running
 * AArch64 code, page size the profile's own; see tb_summary_profile_isa),
 * for one class of workloads (tb_summary_workload_class) or "all".
 *   n         workloads (x profiles, for an ISA scope) with a ratio
 *   nlower, nsame, nhigher   their directions
 *   gmean     geometric mean of the positive ratios (NAN when none),
 *   min, max  of the ratios
 *   dir       LOWER when some are lower, none higher and the geometric
 *             mean is below 1 - TB_SUM_SIM_TOL; HIGHER the other way round;
 *             SAME when all are the same or the geometric mean is within
 *             TB_SUM_SIM_TOL of 1; NA when n == 0; mixed when both lower
 *             and higher occur (dir then follows the geometric mean). */
typedef struct tb_verdict_s {
  const char *from, *to, *metric, *backend, *scope, *cls;
  size_t n, nlower, nsame, nhigher;
  double gmean, min, max;
  tb_dir_t dir;
  bool mixed;
} tb_verdict_t;

/* The class of a workload: "micro" (the article's microbenchmarks),
 * "mixes" (gen:mix), "linked" (gen:list, gen:tree), "threaded" (the
 * multi-threaded models), "programs" (recorded traces: files). */
const char *tb_summary_workload_class(const char *workload); /* traces: a file name (.tbt, .txt, .zst or a path) */
/* "x86" or "ARM" for a profile that runs its own ISA at its own page size
 * (zen3@x86_64, neoverse-n1@aarch64, or a bare name such as cachegrind's
 * zen3: its core's family), NULL for any other (zen3@aarch64,
 * neoverse-n1/page=64K@aarch64, host). */
const char *tb_summary_profile_isa(const char *profile);
/* The family of a profile's core, whatever ISA or page size it ran:
 * "x86", "ARM" or NULL. */
const char *tb_summary_profile_family(const char *profile);

/* Compare design d with baseline b (same key but the allocator): the ratio
 * of medians and its interval (NAN when undefined), and the direction. */
tb_dir_t tb_summary_compare(const tb_sum_group_t *d, const tb_sum_group_t *b, double *ratio, double *lo, double *hi);


typedef struct tb_summary_s {
  char *source;  /* path of the results.csv read */
  char *command; /* text after "# command: " on its first line */
  size_t nrows;  /* data rows read, plus derived rows */
  size_t nderived; /* rows of derived metrics (metadata_per_live_byte, allocator_program_*) */
  tb_sum_group_t *groups; /* sorted by key (experiment, allocator, ...) */
  size_t ngroups;
  tb_verdict_t *verdicts; /* sorted by (from, to, metric, backend, scope, cls) */
  size_t nverdicts;
  void *priv;    /* storage owned by the summary */
} tb_summary_t;

/* Read and validate DIR/results.csv (or a results.csv path given directly)
 * and compute every group. Returns 0 on success; 2 on bad input with
 * "FILE:LINE: message" in err (or a missing file); 1 when the file exists
 * but cannot be read. */
int tb_summary_load(const char *dir_or_file, tb_summary_t *s, char *err, size_t errlen);
void tb_summary_free(tb_summary_t *s);

/* The 95% CI of the median of sorted values v[0..n-1] (see above). */
void tb_summary_median_ci(const double *v, size_t n, double *median, double *lo, double *hi, double *level);

/* Write summary.csv: a "# command:" line (cmdline), a "# source:" line,
 * the header, one row per group; NA for undefined numbers. */
int tb_summary_write_csv(const tb_summary_t *s, FILE *f, const char *cmdline);

/* Write verdicts.csv: one row per verdict (see tb_verdict_t). */
int tb_summary_write_verdicts(const tb_summary_t *s, FILE *f, const char *cmdline);

/* Write LaTeX macros (paper/generated/numbers.tex): see summary_tex.c. */
int tb_summary_write_tex(const tb_summary_t *s, FILE *f, const char *cmdline);
/* The macros and tables of an exec run set (testbed exec): summary_tex.c. */
int tb_summary_write_exec_tex(const tb_summary_t *s, FILE *f, const char *cmdline);

/* Write path all or nothing (workloads/atomic_file.h: a temporary beside
 * it, renamed when whole), so no partial file is left behind; returns 0,
 * or 1 with a message on stderr naming the file. */
int tb_summary_write_file(const char *path, const tb_summary_t *s, const char *cmdline,
                          int (*writer)(const tb_summary_t *, FILE *, const char *));

/* Number formatting shared with the plot data files: %.17g-free, compact
 * and exact enough ("%.6g"), "NA" for NAN. buf needs 32 bytes. */
const char *tb_summary_fmt(double v, char *buf);

/* The group matching every key given (NULL matches anything); first one. */
const tb_sum_group_t *tb_summary_find(const tb_summary_t *s, const char *allocator, const char *workload,
                                      const char *backend, const char *profile, const char *threads,
                                      const char *metric);

/* The group of this key (exact match, bsearch over the sorted groups). */
const tb_sum_group_t *tb_summary_lookup(const tb_summary_t *s, const char *experiment, const char *allocator,
                                        const char *workload, const char *backend, const char *profile,
                                        const char *threads, const char *metric);

/* Display order shared by plot and compare (NULL-terminated): allocators
 * the designs first (inline, then the oob variants), then the baselines and
 * other system allocators; profiles the host, x86 cores, then ARM cores.
 * tb_summary_rank: the index of s in order, 1000 when it is not there
 * (unknown names go after, in summary order). */
extern const char *const tb_summary_alloc_order[];
extern const char *const tb_summary_profile_order[];
int tb_summary_rank(const char *const *order, const char *s);

/* Join argv into one shell-readable line (for "# command:" lines). */
void tb_summary_cmdline(int argc, char **argv, char *buf, size_t len);

#endif
