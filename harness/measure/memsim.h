/* memsim.h: the replay's side of the memsim marker protocol
 * (memsim/markers.h). In a replay under memsim (the child the memsim
 * backend runs under qemu-user) tb_memsim_marker points at the marker page
 * and the replay marks allocator calls and program touches with stores to
 * it; everywhere else it is NULL and nothing is marked. */
#ifndef TB_MEMSIM_H
#define TB_MEMSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#include "memsim/markers.h"

/* The marker page, or NULL when not running under memsim. */
extern volatile uint64_t *tb_memsim_marker;

/* Tell the plugin that [p, p + len) is region kind (TB_RG_*); nothing when
 * not under memsim. */
void tb_memsim_region(const void *p, size_t len, int kind);

/* Register the calling thread's stack (TB_RG_STACK); nothing when not
 * under memsim. */
void tb_memsim_stack(void);

/* testbed exec (harness/cmd_exec.c): a real program under qemu-user with
 * the plugin counting the whole process (window=all) and charging each
 * access by the address of the instruction that made it (code=: the
 * preloaded library's text, glibc's malloc for glibc) to the allocator,
 * the rest to the program. */
typedef struct {
  char qemu[1024];  /* the qemu-user to run */
  char arch[16];    /* the ISA: the program's */
  char label[200];  /* the rows' profile field (neoverse-n1/page=64K@x86_64) */
  char plugin[900]; /* "PLUGIN,l1d=...,page=N": add out=, window=, code= */
  uint64_t page;
  bool has_l3, has_tlb1, has_tlb2;
} tb_memsim_exec_t;

/* Counts of one run, summed over the files of its processes. */
typedef struct {
  unsigned processes, max_threads;
  uint64_t simulated;
  uint64_t total[6], alloc[6]; /* accesses, l1d, l2, l3, dtlb, l2tlb misses */
} tb_memsim_counts_t;

/* spec: what follows "memsim:"; isa: the program's (x86_64, aarch64). 0, or
 * non-zero with the reason (memsim unavailable, bad spec, arch= not the
 * program's, no qemu for it). */
int tb_memsim_exec_setup(const char *spec, const char *isa, tb_memsim_exec_t *x, char *err, size_t errlen);
/* Add the plugin's output file at path to c. 0, or non-zero with the reason. */
int tb_memsim_exec_add(const char *path, tb_memsim_counts_t *c, char *err, size_t errlen);
/* The rows of one run: each count as a total, allocator_ and program_ (no
 * harness in a real program); memsim_* as in the backend. */
void tb_memsim_exec_rows(const tb_memsim_exec_t *x, const tb_memsim_counts_t *c, double seconds, tb_emit_fn emit,
                         void *ctx);

#endif
