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

typedef struct tb_sum_group_s {
  const char *experiment, *allocator, *workload, *backend, *profile, *threads, *metric;
  const char *unit;
  size_t n;    /* values that are numbers */
  size_t n_na; /* values that are NA */
  /* NAN when not defined (n == 0; ci_* also when n < 2). */
  double median, ci_low, ci_high, ci_level, mean, min, max;
} tb_sum_group_t;

typedef struct tb_summary_s {
  char *source;  /* path of the results.csv read */
  char *command; /* text after "# command: " on its first line */
  size_t nrows;  /* data rows read, plus derived rows */
  size_t nderived; /* rows of derived metrics (metadata_per_live_byte, allocator_program_*) */
  tb_sum_group_t *groups; /* sorted by key (experiment, allocator, ...) */
  size_t ngroups;
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

/* Write LaTeX macros (paper/generated/numbers.tex): see summary.c. */
int tb_summary_write_tex(const tb_summary_t *s, FILE *f, const char *cmdline);

/* Write f to path through path.tmp and rename, so no partial file is left
 * behind; returns 0, or 1 with a message on stderr naming the file. */
int tb_summary_write_file(const char *path, const tb_summary_t *s, const char *cmdline,
                          int (*writer)(const tb_summary_t *, FILE *, const char *));

/* Number formatting shared with the plot data files: %.17g-free, compact
 * and exact enough ("%.6g"), "NA" for NAN. buf needs 32 bytes. */
const char *tb_summary_fmt(double v, char *buf);

/* The group matching every key given (NULL matches anything); first one. */
const tb_sum_group_t *tb_summary_find(const tb_summary_t *s, const char *allocator, const char *workload,
                                      const char *backend, const char *profile, const char *threads,
                                      const char *metric);

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
