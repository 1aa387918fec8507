/* tb_alloc.h: the common allocator API of the testbed.
 *
 * Objects and terms:
 *   allocator - a design (inline, oob) or a reference (glibc, bump),
 *               described by one operations table, tb_allocator_t.
 *   heap      - one instance of an allocator, made by ops->create() on a
 *               space (space.h). Heaps are values, not globals: several can
 *               coexist, of the same or different allocators.
 *   block     - what malloc hands out: `usable_size(p)` bytes at p, 16-byte
 *               aligned (or more, for aligned allocation).
 *   check level - how much self-checking the allocator code was compiled
 *               with (TB_CHECK_LEVEL, 0..3): 0 measured builds; 1 cheap
 *               checks (invalid and double free abort with a message);
 *               2 internal asserts, among them a check of each block an
 *               operation changes; 3 the whole-heap validation as well,
 *               after each of a heap's first 1024 operations, then every
 *               1024th, and at destroy (tb_check.h). Every allocator is compiled at every level and
 *               the registry hands out the one asked for, so one testbed
 *               binary can measure at level 0 and test at level 3.
 *
 * Semantics shared by every allocator (the conformance suite in
 * tests/conformance.c holds them to it):
 *   malloc(0)          returns a unique, freeable block (usable size >= 0).
 *   free(NULL)         does nothing.
 *   calloc(n, s)       zeroed; n*s overflowing gives NULL and errno ENOMEM.
 *   realloc(NULL, n)   is malloc(n).
 *   realloc(p, 0)      frees p and returns NULL (glibc's behaviour; C23
 *                      leaves it undefined, so we state ours).
 *   realloc failure    returns NULL, errno ENOMEM, p untouched and live.
 *   aligned_alloc(a,n) a must be a power of two (else NULL, errno EINVAL);
 *                      a < 16 is treated as 16; n need not be a multiple of a.
 *   out of memory      NULL with errno ENOMEM; the heap stays usable.
 *   usable_size(p)     >= the size asked for; writable in full.
 */
#ifndef TB_ALLOC_H
#define TB_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "space.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_ALIGN ((size_t)16) /* minimum alignment of every block */

/* ---- statistics ------------------------------------------------------------
 * One list; the harness writes it straight into result rows. A field an
 * allocator cannot report holds TB_STAT_NA (written as NA, never 0).
 * Gauges describe the heap now; counters count since create(). When the
 * build has TB_STATS=0 the counters are compiled out and report NA.
 * X(name, unit, kind, description) */
#define TB_STAT_FIELDS(X)                                                                  \
  X(committed_bytes, "B", gauge, "bytes the heap holds from the system now (space + large blocks)") \
  X(peak_committed_bytes, "B", gauge, "most bytes the heap held from the system at once")      \
  X(metadata_bytes, "B", gauge, "bytes holding allocator metadata (headers, records, bins)") \
  X(live_bytes, "B", gauge, "usable bytes of blocks in use")                                 \
  X(live_blocks, "1", gauge, "blocks in use")                                                \
  X(free_blocks, "1", gauge, "free blocks held in bins (top excluded)")                      \
  X(free_bytes, "B", gauge, "bytes in free blocks (top excluded)")                           \
  X(top_bytes, "B", gauge, "bytes in the top (wilderness) block")                            \
  X(largest_free, "B", gauge, "largest free block, top included")                            \
  X(large_blocks, "1", gauge, "blocks mapped straight from the system")                      \
  X(mallocs, "1", counter, "malloc calls (calloc, realloc, aligned included)")              \
  X(frees, "1", counter, "free calls with a non-NULL pointer")                               \
  X(reallocs, "1", counter, "realloc calls")                                                 \
  X(realloc_inplace, "1", counter, "realloc calls satisfied without moving")                 \
  X(splits, "1", counter, "free blocks split")                                               \
  X(merges, "1", counter, "free blocks merged with a neighbour")                             \
  X(bin_steps, "1", counter, "free blocks examined while searching bins")                    \
  X(grows, "1", counter, "times the space grew")                                             \
  X(user_bytes_read, "B", counter, "bytes of the user region the allocator read")            \
  X(user_bytes_written, "B", counter, "bytes of the user region the allocator wrote")

#define TB_STAT_NA UINT64_MAX

typedef struct tb_stats_s {
#define TB_STAT_MEMBER(name, unit, kind, desc) uint64_t name;
  TB_STAT_FIELDS(TB_STAT_MEMBER)
#undef TB_STAT_MEMBER
} tb_stats_t;

/* Set every field to TB_STAT_NA: allocators start from this and fill what
 * they know. */
void tb_stats_clear(tb_stats_t *st);

/* The statistics of a new heap: every counter 0 when the build counts
 * them (TB_STATS), NA otherwise; every gauge NA (gauges are computed by
 * stats(), not kept). One helper for every design, driven by the kinds in
 * TB_STAT_FIELDS. */
void tb_stats_reset(tb_stats_t *st);

/* ---- heaps and operations --------------------------------------------------- */

typedef enum {
  TB_MODE_SINGLE = 0, /* no atomics at all: one thread uses the heap */
  TB_MODE_LOCKED = 1  /* a spin lock (C11 acquire/release) around each call */
} tb_mode_t;

typedef struct tb_heap_opts_s {
  tb_mode_t mode;
  space_t *space;        /* heap memory; NULL: the heap makes its own mmap
                            space from space_cfg and destroys it with itself */
  space_config_t space_cfg; /* used when space is NULL (zero: defaults) */
} tb_heap_opts_t;

typedef struct tb_heap_s tb_heap_t; /* each allocator defines its own */

/* Capabilities: what the conformance suite may hold an allocator to. */
enum {
  TB_CAP_FREE = 1u << 0,       /* free() makes memory reusable */
  TB_CAP_SPACE = 1u << 1,      /* heap lives on the given space (fixed spaces work) */
  TB_CAP_CHECK = 1u << 2,      /* check() really validates the heap */
  TB_CAP_DETECT_FREE = 1u << 3, /* invalid/double free aborts (check level >= 1) */
  TB_CAP_STATS = 1u << 4       /* stats() reports gauges */
};

typedef struct tb_allocator_s {
  const char *name;        /* as users type it: "inline", "oob", ... */
  const char *description; /* one line for `testbed list` */
  unsigned caps;           /* TB_CAP_* */
  int check_level;         /* TB_CHECK_LEVEL this table was compiled with */
  tb_heap_t *(*create)(const tb_heap_opts_t *opts); /* NULL + errno on failure */
  void (*destroy)(tb_heap_t *h);
  void *(*malloc)(tb_heap_t *h, size_t n);
  void (*free)(tb_heap_t *h, void *p);
  void *(*calloc)(tb_heap_t *h, size_t n, size_t size);
  void *(*realloc)(tb_heap_t *h, void *p, size_t n);
  void *(*aligned_alloc)(tb_heap_t *h, size_t align, size_t n);
  size_t (*usable_size)(tb_heap_t *h, const void *p);
  /* Whole-heap validation: true when consistent; otherwise false and a
   * reason in why (NUL-terminated, truncated to len). */
  bool (*check)(tb_heap_t *h, char *why, size_t len);
  void (*stats)(tb_heap_t *h, tb_stats_t *out);
  /* What a process measuring this allocator needs in its environment, for
   * allocators that only run at their real speed in a process of their
   * own (a peer library preloaded with LD_PRELOAD, driven through the
   * system malloc), for a process of ISA isa ("x86_64", "aarch64"; NULL:
   * this build's). Sets env[0..n) to "NAME=VALUE" strings (static
   * storage; n <= max) and returns n; -1 with the reason in why when the
   * process cannot be made (library not installed for that ISA). NULL:
   * nothing to add, the allocator runs in any process. An allocator with
   * exec_env cannot create a heap in a process started without it: code
   * that loops over the registry in-process skips it (tb_allocator_in_process).
   * testbed run and bench start such processes (harness/README.md). */
  int (*exec_env)(const char *isa, const char **env, size_t max, char *why, size_t whylen);
} tb_allocator_t;

/* ---- helpers for allocator implementations ------------------------------------ */

/* The space a new heap lives on: opts->space when given, otherwise `own`
 * initialised as an mmap space from opts->space_cfg. NULL with errno set
 * when that fails. Release with tb_heap_space_close(space, own). */
space_t *tb_heap_space_open(const tb_heap_opts_t *opts, space_t *own);
void tb_heap_space_close(space_t *space, space_t *own);

/* ---- the registry (allocators/registry.c) ---------------------------------- */

/* The allocator called `name` compiled at check level `level` (0..3), or
 * NULL if there is none (unknown name, or a reference allocator asked at a
 * level other than the one it has: references ignore the level). */
const tb_allocator_t *tb_allocator_find(const char *name, int level);

/* The i-th registered allocator at `level` for i = 0, 1, ... until NULL:
 * the designs, the references, then the peers installed for this build's
 * ISA (allocators/peers/tb_peers.h). */
const tb_allocator_t *tb_allocator_at(size_t i, int level);

/* Whether a heap of a can be created in this process as it is: false for
 * an allocator that needs a process of its own (exec_env, a peer) unless
 * this process was started that way. Loops over tb_allocator_at that
 * create heaps in-process skip the others. */
bool tb_allocator_in_process(const tb_allocator_t *a);

/* The check level a build uses when nobody asks for one (CMake TB_CHECK_LEVEL). */
int tb_default_check_level(void);

/* Whether the build counts statistics (CMake TB_STATS). */
bool tb_stats_enabled(void);

/* Locked-mode heaps skip their lock while the process has one thread (as
 * glibc does); on = true makes them take it always (bench --lock-always,
 * the shim's TB_SHIM_LOCK=always). Process-wide. */
void tb_lock_force_always(bool on);

#ifdef __cplusplus
}
#endif
#endif /* TB_ALLOC_H */
