/* memsim.h: the replay's side of the memsim marker protocol
 * (memsim/markers.h). In a replay under memsim (the child the memsim
 * backend runs under qemu-user) tb_memsim_marker points at the marker page
 * and the replay marks allocator calls and program touches with stores to
 * it; everywhere else it is NULL and nothing is marked. */
#ifndef TB_MEMSIM_H
#define TB_MEMSIM_H

#include <stddef.h>
#include <stdint.h>

#include "memsim/markers.h"

/* The marker page, or NULL when not running under memsim. */
extern volatile uint64_t *tb_memsim_marker;

/* Tell the plugin that [p, p + len) is region kind (TB_RG_*); nothing when
 * not under memsim. */
void tb_memsim_region(const void *p, size_t len, int kind);

/* Register the calling thread's stack (TB_RG_STACK); nothing when not
 * under memsim. */
void tb_memsim_stack(void);

#endif
