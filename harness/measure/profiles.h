/* profiles.h: machine profiles, the cache and TLB geometries measurements
 * are simulated with (harness/measure/profiles.conf; format in README.md).
 *
 * Terms:
 *   profile - a named machine: CPU, architecture, base page size, cache
 *             levels (l1i, l1d, l2, optional l3) and TLB levels, plus the
 *             public source of the figures. `host` is not in the file: it
 *             is filled from hwloc (topology.h) at run time.
 *   level   - size in bytes, ways (TB_WAYS_FULL: fully associative,
 *             TB_WAYS_UNKNOWN: not published), line size in bytes.
 *   LL      - the last cache level (l3 when present, else l2): what
 *             valgrind's --LL simulates.
 */
#ifndef TB_PROFILES_H
#define TB_PROFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TB_WAYS_FULL 0u
#define TB_WAYS_UNKNOWN UINT32_MAX
#define TB_PROFILE_MAX_TLB 4

typedef struct {
  uint64_t size;  /* bytes; 0 = level absent */
  uint32_t ways;  /* or TB_WAYS_FULL / TB_WAYS_UNKNOWN */
  uint32_t line;  /* bytes */
  int src_line;   /* line in the profile file that set it (0 for host) */
} tb_cache_level_t;

typedef struct {
  char name[16];  /* l1d, l1i, l2, ... as in the key tlb.NAME */
  uint32_t entries;
  uint32_t ways;  /* or TB_WAYS_FULL / TB_WAYS_UNKNOWN */
  uint64_t page;  /* bytes */
} tb_tlb_level_t;

typedef struct {
  char name[32];
  char cpu[128];
  char arch[16];
  char source[512];
  uint64_t page; /* base page size, bytes */
  tb_cache_level_t l1i, l1d, l2, l3;
  tb_tlb_level_t tlb[TB_PROFILE_MAX_TLB];
  int ntlb;
  char file[256]; /* where it was defined ("hwloc" for host) */
  int line;       /* line of its [name] header */
} tb_profile_t;

/* The profile file used: $TB_PROFILES when set, else the one in the
 * source tree this was built from. */
const char *tb_profiles_path(void);

/* Parse a whole profile file. 0 and a malloc'ed array (free()) on success;
 * on error non-zero and "FILE:LINE: message" in err. */
int tb_profiles_load(const char *path, tb_profile_t **out, size_t *n, char *err, size_t errlen);

/* Look a profile up by name in tb_profiles_path(); "host" (or NULL/"")
 * comes from the topology of this machine. 0 on success. */
int tb_profile_get(const char *name, tb_profile_t *out, char *err, size_t errlen);

/* Whether valgrind's cache simulator accepts the I1, D1 and LL levels of p
 * (line a power of two >= 16, size > line, ways <= size/line, a whole and
 * power-of-two number of sets, known ways). 0, or "FILE:LINE: message". */
int tb_profile_check_valgrind(const tb_profile_t *p, char *err, size_t errlen);

/* The last cache level (l3 if present, else l2). */
const tb_cache_level_t *tb_profile_ll(const tb_profile_t *p);

/* Print the profiles (host included) for `testbed list`; 0 on success. */
int tb_profiles_list(FILE *f, char *err, size_t errlen);

#endif
