/* gen.h: trace generators: synthetic workloads, deterministic for a seed
 * (the same name, parameters and seed give the same trace, byte for byte,
 * on every platform: splitmix64 and integer arithmetic only).
 *
 * Objects and terms:
 *   generator - a named model of a program's allocation behaviour
 *               (workloads/README.md lists them with their parameters).
 *   spec      - how users name a generated workload: "NAME[:k=v[:k=v...]]"
 *               (',' also separates), e.g. "larson:seed=1:threads=4";
 *               `testbed run --workload gen:SPEC` and `testbed gen NAME k=v`.
 *   params    - the k=v pairs; every generator knows `seed` (default 1)
 *               and rejects keys it does not know.
 */
#ifndef TB_GEN_H
#define TB_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

#define TB_GEN_MAX_PARAMS 16

typedef struct tb_gen_params_s {
  size_t n;
  char key[TB_GEN_MAX_PARAMS][32];
  char val[TB_GEN_MAX_PARAMS][64];
} tb_gen_params_t;

typedef struct tb_generator_s {
  const char *name;
  const char *summary; /* one line, with its parameters and defaults */
  const char *const *keys; /* the parameter names it accepts (NULL-terminated; seed implied) */
  int (*run)(const tb_gen_params_t *p, tb_trace_writer_t *w, char *err, size_t errlen);
} tb_generator_t;

const tb_generator_t *tb_generator_at(size_t i);
const tb_generator_t *tb_generator_find(const char *name);

/* Parse "NAME[:k=v...]" (':' or ',' between pairs) into *gen and *p. */
int tb_gen_parse_spec(const char *spec, const tb_generator_t **gen, tb_gen_params_t *p, char *err, size_t errlen);
/* Add one "k=v" to p (checks the syntax, not the key). */
int tb_gen_param_add(tb_gen_params_t *p, const char *kv, char *err, size_t errlen);

/* Run generator g with p into a new trace file (binary unless the name
 * says otherwise, see tb_trace_form_from_name); provenance names the
 * generator and its parameters. */
int tb_gen_to_file(const tb_generator_t *g, const tb_gen_params_t *p, const char *path, tb_trace_format_t fmt,
                   tb_compress_t comp, char *err, size_t errlen);

#endif /* TB_GEN_H */
