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
 */
#ifndef TB_RESULTS_H
#define TB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tb_results_s tb_results_t;

/* Create DIR (and parents) when missing and open the temporary files. The
 * command (argv) goes into the CSV's first line ("# command: ...") and
 * into meta.json. NULL with a message on failure. */
tb_results_t *tb_results_open(const char *dir, int argc, char **argv, char *err, size_t errlen);

void tb_results_row(tb_results_t *r, const char *experiment, const char *allocator, const char *workload,
                    const char *backend, const char *profile, unsigned threads, unsigned run, const char *metric,
                    double value, bool na, const char *unit);

/* Extra meta.json keys (string or number); keys must be plain identifiers. */
void tb_results_meta_str(tb_results_t *r, const char *key, const char *value);
void tb_results_meta_num(tb_results_t *r, const char *key, double value);
/* json must be one valid JSON value (an object from a backend's meta()). */
void tb_results_meta_raw(tb_results_t *r, const char *key, const char *json);

/* Write meta.json, rename both into place, free r. 0 or -1 with a message
 * (then nothing is left behind). */
int tb_results_commit(tb_results_t *r, char *err, size_t errlen);
/* Remove the temporary files (and DIR if this call created it), free r. */
void tb_results_abort(tb_results_t *r);

/* The header row, for readers and tests. */
#define TB_RESULTS_HEADER "experiment,allocator,workload,backend,profile,threads,run,metric,value,unit"

#endif /* TB_RESULTS_H */
