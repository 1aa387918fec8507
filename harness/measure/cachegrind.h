/* cachegrind.h: the `cachegrind:PROFILE` backend's pieces exposed for
 * tests: reading a callgrind output file (valgrind --tool=callgrind
 * --cache-sim=yes) into costs split three ways, allocator / harness /
 * program, by the source file of the code that made them.
 *
 * Terms:
 *   cost        - the simulated event counts of callgrind's cache model:
 *                 Ir (instructions), Dr/Dw (data reads/writes), D1mr/D1mw
 *                 (L1 data misses), DLmr/DLmw (last-level data misses),
 *                 I1mr/ILmr (instruction-fetch misses).
 *   self cost   - cost of the instructions of a function itself (inlined
 *                 code counts by its own file: callgrind's fi=/fe=).
 *   allocator   - self cost of code whose source file path contains the
 *                 allocator marker (the allocators/ tree), plus the
 *                 inclusive cost of its calls into code of neither part
 *                 (libc's malloc behind the glibc adapter, memset, system
 *                 call wrappers): work done on behalf of the allocator.
 *   program     - the same for the program marker (harness/touch.h, the
 *                 workload's touches of its blocks, inlined: fi= lines).
 *   harness     - total minus allocator minus program: fetching and
 *                 dispatching ops, the id-to-pointer slot table, loop
 *                 bookkeeping, and what the window's edges cost.
 * The three parts add up to the total in every field. A call from outside
 * code back into allocator or program code would be counted twice; none
 * exists, and the reader fails rather than report parts above the total.
 */
#ifndef TB_CACHEGRIND_H
#define TB_CACHEGRIND_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t ir, dr, dw, i1mr, d1mr, d1mw, ilmr, dlmr, dlmw;
} tb_cg_cost_t;

typedef struct {
  tb_cg_cost_t total;   /* every collected instruction (the file's totals) */
  tb_cg_cost_t alloc;   /* allocator part, as defined above */
  tb_cg_cost_t harness; /* harness part: total - alloc - program */
  tb_cg_cost_t program; /* program part */
} tb_cg_result_t;

/* Parse the callgrind output file at path; alloc_marker and program_marker
 * are the substrings of a source path that make it allocator or program
 * code (program_marker may be NULL: no program part). 0, or non-zero with
 * "FILE:LINE: message" in err. The file must come from --cache-sim=yes. */
int tb_callgrind_parse(const char *path, const char *alloc_marker, const char *program_marker, tb_cg_result_t *out,
                       char *err, size_t errlen);

/* Build valgrind's argument vector for running argv under callgrind with
 * the given profile's geometry, output to outfile (log to logfile).
 * Returns a malloc'ed NULL-terminated vector whose strings live in *store
 * (free both), or NULL with a message. */
char **tb_callgrind_argv(const char *profile, char *const argv[], const char *outfile, const char *logfile, char **store,
                         char *err, size_t errlen);

/* Run argv under callgrind with the profile (as the backend does, without
 * TB_BACKEND_INNER unless set by the caller) and parse the result. 0, or
 * non-zero with a message. For tests and the backend. */
int tb_callgrind_run(const char *profile, char *const argv[], const char *alloc_marker, const char *program_marker,
                     tb_cg_result_t *out, char *err, size_t errlen);

#endif
