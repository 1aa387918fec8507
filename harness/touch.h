/* touch.h: the workload's own accesses to its blocks during a replay (the
 * trace's read and write ops, and --touch full's write of each new block).
 * They live in this header alone, so that a simulator can tell them apart
 * by code: the compiler inlines them into the replay loop (the loop runs as
 * fast as with the code written in place), and the debug info still names
 * this file for their instructions (callgrind's fi= lines), memset's call
 * included. The cachegrind backend charges everything under this file to
 * the *program*, the allocator's code to the *allocator* and the rest of
 * the window (fetching ops, the slot table, loop bookkeeping) to the
 * *harness* (harness/measure/cachegrind.h). The replay loop computes each
 * address (a harness access) and calls these; they touch nothing else, and
 * no other code may be written in this file. */
#ifndef TB_TOUCH_H
#define TB_TOUCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The source file a simulator's debug info names for these functions. */
#define TB_TOUCH_FILE "/harness/touch.h"

/* Reads len bytes at p, one by one; returns their sum (so that the reads
 * cannot be optimised away). */
static inline __attribute__((always_inline)) uint64_t tb_touch_read(const unsigned char *p, uint32_t len) {
  uint64_t sum = 0;
  for (uint32_t k = 0; k < len; k++) sum += p[k];
  return sum;
}

/* Writes len bytes of value byte at p (memset). */
static inline __attribute__((always_inline)) void tb_touch_write(void *p, int byte, size_t len) {
  memset(p, byte, len);
}

#endif
