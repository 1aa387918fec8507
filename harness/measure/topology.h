/* topology.h: the machine this runs on, from hwloc (sysfs/sysconf when the
 * build has no hwloc): CPU model, cores, caches, NUMA nodes, page sizes,
 * and pinning of replay threads to cores.
 *
 * Terms:
 *   core - a physical core (hwloc HWLOC_OBJ_CORE); replay thread t is
 *          pinned to core t mod cores, to the first PU of that core.
 */
#ifndef TB_TOPOLOGY_H
#define TB_TOPOLOGY_H

#include <stddef.h>

#include "profiles.h"

/* A JSON object describing the machine, for meta.json:
 * {"source":"hwloc 2.9.0","cpu_model":...,"packages":N,"cores":N,"pus":N,
 *  "numa_nodes":N,"page_sizes":[4096,...],"caches":[{"level":1,"type":
 *  "data","size":B,"line":B,"ways":N|"full"|null},...]}.
 * 0 on success, non-zero with a message in buf otherwise (buf too small). */
int tb_topology_json(char *buf, size_t len);

/* Fill p (name "host") from this machine's caches; 0, or a message. */
int tb_topology_profile(tb_profile_t *p, char *err, size_t errlen);

/* Bind the calling thread (replay thread tid) to core tid (its first PU).
 * 0 on success; non-zero with a message when tid >= cores (no core of its
 * own) or binding failed. */
int tb_topology_pin(int tid, char *err, size_t errlen);

/* Number of physical cores (>= 1). */
int tb_topology_cores(void);

#endif
