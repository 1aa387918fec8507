/* touch.h: the workload's own accesses to its blocks during a replay (the
 * trace's read and write ops, and --touch full's write of each new block),
 * out of line in touch.c so that a simulator can tell them apart by code:
 * the cachegrind backend charges everything under touch.c to the
 * *program*, the allocator's code to the *allocator* and the rest of the
 * window (fetching ops, the slot table, loop bookkeeping) to the
 * *harness* (harness/measure/cachegrind.h). The replay loop computes each
 * address (a harness access) and calls these; they touch nothing else. */
#ifndef TB_TOUCH_H
#define TB_TOUCH_H

#include <stddef.h>
#include <stdint.h>

/* The source file a simulator's debug info names for these functions. */
#define TB_TOUCH_FILE "/harness/touch.c"

/* Reads len bytes at p, one by one; returns their sum (so that the reads
 * cannot be optimised away). */
uint64_t tb_touch_read(const unsigned char *p, uint32_t len);

/* Writes len bytes of value byte at p (memset). */
void tb_touch_write(void *p, int byte, size_t len);

#endif
