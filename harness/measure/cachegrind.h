/* cachegrind.h: the `cachegrind:PROFILE` backend's pieces exposed for
 * tests: reading a callgrind output file (valgrind --tool=callgrind
 * --cache-sim=yes) into costs split into allocator code and the rest.
 *
 * Terms:
 *   cost        - the simulated event counts of callgrind's cache model:
 *                 Ir (instructions), Dr/Dw (data reads/writes), D1mr/D1mw
 *                 (L1 data misses), DLmr/DLmw (last-level data misses),
 *                 I1mr/ILmr (instruction-fetch misses).
 *   self cost   - cost of the instructions of a function itself.
 *   allocator   - self cost of code whose source file path contains the
 *                 marker (the allocators/ tree), plus the inclusive cost of
 *                 calls from such code into code outside it (libc's malloc
 *                 behind the glibc adapter, memset, system call wrappers):
 *                 work done on behalf of the allocator.
 *   other       - total minus allocator: the workload's own memory touches
 *                 and the harness.
 */
#ifndef TB_CACHEGRIND_H
#define TB_CACHEGRIND_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t ir, dr, dw, i1mr, d1mr, d1mw, ilmr, dlmr, dlmw;
} tb_cg_cost_t;

typedef struct {
  tb_cg_cost_t total; /* every instrumented instruction (the file's summary) */
  tb_cg_cost_t alloc; /* allocator part, as defined above */
} tb_cg_result_t;

/* Parse the callgrind output file at path; marker is the substring of a
 * source path that makes it allocator code. 0, or non-zero with
 * "FILE:LINE: message" in err. The file must come from --cache-sim=yes. */
int tb_callgrind_parse(const char *path, const char *marker, tb_cg_result_t *out, char *err, size_t errlen);

/* Build valgrind's argument vector for running argv under callgrind with
 * the given profile's geometry, output to outfile (log to logfile).
 * Returns a malloc'ed NULL-terminated vector whose strings live in *store
 * (free both), or NULL with a message. */
char **tb_callgrind_argv(const char *profile, char *const argv[], const char *outfile, const char *logfile, char **store,
                         char *err, size_t errlen);

/* Run argv under callgrind with the profile (as the backend does, without
 * TB_BACKEND_INNER unless set by the caller) and parse the result. 0, or
 * non-zero with a message. For tests and the backend. */
int tb_callgrind_run(const char *profile, char *const argv[], const char *marker, tb_cg_result_t *out, char *err,
                     size_t errlen);

#endif
