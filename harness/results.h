/* results.h: the output of a run set: DIR/results.csv and DIR/meta.json.
 *
 * Objects and terms:
 *   row     - one metric of one run: experiment, allocator, workload,
 *             backend, profile, threads, run, metric, value, unit (tidy CSV;
 *             value NA when it could not be measured, never 0).
 *   meta    - provenance of the run set as one JSON object: the command,
 *             the source commit, compiler and flags, check level, library
 *             versions, machine; plus keys the command adds.
 *
 * Both files are written under temporary names in DIR and renamed into
 * place by tb_results_commit() only; tb_results_abort() (any failure)
 * removes them, so DIR never holds a half-written results.csv.
 *
 * Run-set policy (tb_results_mode_t), checked when DIR is opened, before
 * anything runs:
 *   NEW     DIR must be missing or empty: an existing run set is never
 *           overwritten by accident.
 *   FORCE   replace the run set in DIR. Its files (results.csv, meta.json)
 *           and everything derived from them or about them (plots/,
 *           summary.csv, and experiments/run.sh's jobs/, set, jobs.count,
 *           log) are removed at commit; any other entry in DIR makes the
 *           open fail (DIR is not a run set: nothing is removed).
 *   APPEND  add rows to the run set in DIR (or start one): the old rows
 *           are kept, a row with the same experiment, allocator, workload,
 *           backend, profile, threads, run and metric as an old one fails
 *           the commit (nothing changes), the old meta.json is kept whole
 *           under "appended_to", and the derived plots/ and summary.csv,
 *           stale now, are removed at commit.
 * The old run set stays as it was until the commit succeeds.
 */
#ifndef TB_RESULTS_H
#define TB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tb_results_s tb_results_t;

typedef enum { TB_RESULTS_NEW, TB_RESULTS_FORCE, TB_RESULTS_APPEND } tb_results_mode_t;

/* Check DIR against the mode, create it (and parents) when missing and open
 * the temporary files. The command (argv) goes into the CSV's first line
 * ("# command: ...") and into meta.json. NULL with a message on failure
 * (the message names the option that would allow it). */
tb_results_t *tb_results_open(const char *dir, tb_results_mode_t mode, int argc, char **argv, char *err,
                              size_t errlen);

void tb_results_row(tb_results_t *r, const char *experiment, const char *allocator, const char *workload,
                    const char *backend, const char *profile, unsigned threads, unsigned run, const char *metric,
                    double value, bool na, const char *unit);

/* Extra meta.json keys (string or number); keys must be plain identifiers. */
void tb_results_meta_str(tb_results_t *r, const char *key, const char *value);
void tb_results_meta_num(tb_results_t *r, const char *key, double value);
/* json must be one valid JSON value (an object from a backend's meta()). */
void tb_results_meta_raw(tb_results_t *r, const char *key, const char *json);

/* Write meta.json, rename both into place (FORCE/APPEND: after removing
 * the stale files), free r. 0 or -1 with a message (then nothing is left
 * behind and DIR holds what it held before). */
int tb_results_commit(tb_results_t *r, char *err, size_t errlen);
/* Remove the temporary files (and DIR if this call created it), free r. */
void tb_results_abort(tb_results_t *r);

/* Rows files: how a child `testbed run` hands its rows back to the parent
 * that started it (harness/plan.h). tb_results_open_rows makes r write the
 * header and its rows to PATH, and every meta key as a line
 * "# meta KEY JSON"; commit closes it (no meta.json, nothing renamed: the
 * parent reads it only when the child succeeded). */
tb_results_t *tb_results_open_rows(const char *path, char *err, size_t errlen);

/* Add the rows of a rows file to r (checked as tb_results_row's are, so
 * --append's duplicate rule holds) and hand each meta line to on_meta
 * (key, json) when given, else to tb_results_meta_raw. 0, or -1 with
 * "PATH:LINE: message" when the file is not a rows file. */
typedef void (*tb_results_meta_fn)(void *ctx, const char *key, const char *json);
int tb_results_add_rows(tb_results_t *r, const char *path, tb_results_meta_fn on_meta, void *ctx, char *err,
                        size_t errlen);

/* The header row, for readers and tests. */
#define TB_RESULTS_HEADER "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit"

#endif /* TB_RESULTS_H */
