/* space.h: the space layer, where every testbed heap gets its memory.
 *
 * Objects and terms (used by every layer above):
 *   os      - a table of function pointers over the operating system
 *             (reserve, commit, decommit, release, page size). The real one
 *             uses mmap/mprotect/madvise; tests install one that fails on
 *             demand (see space_os_failing_t), so policy above never calls
 *             the OS directly.
 *   region  - a contiguous range of address space [base, base + reserved).
 *   space   - a region whose prefix [base, base + committed) is readable and
 *             writable. A space grows only at its end and its base never
 *             moves: allocators may keep raw pointers into it.
 *   page    - the system page size, read from the system (4, 16 or 64 KiB on
 *             ARM), never assumed.
 *
 * Two kinds of space:
 *   SPACE_MMAP  reserves `reserve` bytes once (PROT_NONE, MAP_NORESERVE: no
 *               access and no swap reservation), then commits more of that
 *               range as the heap grows (mprotect). Growth policy: the first
 *               commit is `initial` bytes (default 128 KiB); afterwards the
 *               committed size is multiplied by 2^growth_shift (default 1,
 *               doubling) until it covers the request. Every committed size
 *               is a multiple of the page size.
 *   SPACE_FIXED wraps a caller's buffer and never grows: for tests, and for
 *               exhaustion experiments.
 *
 * Tags: each space says what it holds, SPACE_TAG_BLOCKS (the default: the
 * blocks handed out, with whatever a design keeps in them, inline's
 * boundary tags and free links, oob's back-pointer word) or SPACE_TAG_META
 * (a design's out-of-band metadata: oob's record and bin arrays, oob-map's
 * address maps, bump's table). The tag changes nothing in the space; a
 * region hook (space_set_region_hook), when one is installed, is told every
 * new space's reservation and its tag, and every space_map block (as
 * BLOCKS). A third tag, SPACE_TAG_DESC, is told by the designs themselves
 * (space_tell) for their heap descriptor: the struct with the bin heads,
 * bitmaps and counters, which lives in the process's malloc heap. The memsim backend installs one in simulated runs, to count
 * accesses and misses to metadata and to blocks separately.
 *
 * Invariants:
 *   base % page == 0                                     (SPACE_MMAP)
 *   committed % page == 0, committed <= reserved         (SPACE_MMAP)
 *   committed == reserved == buffer size                 (SPACE_FIXED)
 *
 * Failures (reservation exhausted, OS call failing) return an error code
 * (never a crash) and leave the space exactly as it was.
 *
 * A space is not thread-safe: the heap that owns it serialises growth.
 */
#ifndef TB_SPACE_H
#define TB_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the OS layer ------------------------------------------------------ */

/* Contract: every size and address passed in is a multiple of page_size().
 * reserve() returns an inaccessible range or NULL; commit() makes a reserved
 * sub-range readable and writable (its content is zero on first commit);
 * decommit() gives the physical pages back and makes the range inaccessible
 * again (content is lost); release() unmaps a whole reservation. map() is
 * reserve+commit in one call, used for blocks that come straight from the
 * system. Each returns 0 on success, an errno value on failure. */
typedef struct space_os_s {
  void *(*reserve)(void *ctx, size_t size);
  int (*commit)(void *ctx, void *addr, size_t size);
  int (*decommit)(void *ctx, void *addr, size_t size);
  int (*release)(void *ctx, void *addr, size_t size);
  void *(*map)(void *ctx, size_t size);
  size_t (*page_size)(void *ctx);
  void *ctx;
} space_os_t;

/* The real operating system (POSIX mmap family). */
extern const space_os_t space_os_system;

/* Failure injection for tests: wraps another os table and fails the n-th
 * and later calls of the chosen kinds. Set the counters, then pass
 * &f->os wherever an os table is taken. */
typedef struct space_os_failing_s {
  space_os_t os;             /* the table to hand out; its ctx is this struct */
  const space_os_t *inner;   /* where successful calls go */
  long commits_left;         /* commit() calls that still succeed; <0: all */
  long reserves_left;        /* reserve() calls that still succeed; <0: all */
  long maps_left;            /* map() calls that still succeed; <0: all */
  long failures;             /* how many calls were failed so far */
} space_os_failing_t;

void space_os_failing_init(space_os_failing_t *f, const space_os_t *inner);

/* ---- spaces ------------------------------------------------------------ */

typedef enum { SPACE_MMAP = 1, SPACE_FIXED = 2 } space_kind_t;

/* What a space holds (see "Tags" above). */
typedef enum { SPACE_TAG_BLOCKS = 0, SPACE_TAG_META = 1, SPACE_TAG_DESC = 2 } space_tag_t;

/* Told [base, base + len) and its tag when a space is made (its whole
 * reservation; a fixed space's buffer) and when a block is mapped
 * (space_map). NULL (the default): nothing is told. Install it before any
 * heap is made; it is called from whatever thread makes the space. */
typedef void (*space_region_hook_t)(const void *base, size_t len, space_tag_t tag);
void space_set_region_hook(space_region_hook_t hook);

/* Tell the hook (if any) about memory that is not a space: a design's
 * heap descriptor (SPACE_TAG_DESC), the struct its create allocates. */
void space_tell(const void *base, size_t len, space_tag_t tag);

#define SPACE_DEFAULT_INITIAL ((size_t)128 << 10)  /* 128 KiB first commit */
#define SPACE_DEFAULT_RESERVE ((size_t)4 << 30)    /* 4 GiB address space  */
#define SPACE_DEFAULT_GROWTH_SHIFT 1u              /* double each time     */

typedef struct space_config_s {
  size_t initial;        /* first commit in bytes; 0: default (rounded up to pages) */
  size_t reserve;        /* address space to reserve; 0: default */
  unsigned growth_shift; /* committed size grows by 2^shift per step; 0: default */
  const space_os_t *os;  /* NULL: space_os_system */
  space_tag_t tag;       /* what it holds; 0: SPACE_TAG_BLOCKS */
} space_config_t;

typedef struct space_s {
  uint8_t *base;           /* first byte; never moves */
  size_t committed;        /* bytes [base, base+committed) are usable */
  size_t reserved;         /* bytes [base, base+reserved) belong to the space */
  size_t page_size;        /* system page size in bytes */
  size_t initial;          /* first commit (bytes) */
  unsigned growth_shift;   /* growth factor is 2^growth_shift */
  space_kind_t kind;
  space_tag_t tag;         /* what it holds */
  const space_os_t *os;    /* never NULL after init */
  uint64_t grows;          /* successful growth steps (statistics) */
} space_t;

/* Reserve a region and commit its first `initial` bytes. 0 or errno. */
int space_init_mmap(space_t *s, const space_config_t *cfg);

/* Wrap [buf, buf+size). buf must be 16-byte aligned; the usable size is
 * rounded down to 16 bytes. Never grows. 0 or EINVAL. */
int space_init_fixed(space_t *s, void *buf, size_t size);

/* Make the committed prefix at least `need` bytes long, by the growth
 * policy. Returns 0 (committed >= need) or ENOMEM (reservation exhausted,
 * fixed space, or the OS refused; the space is unchanged). */
int space_grow_to(space_t *s, size_t need);

/* Give back committed pages beyond max(keep, initial), rounded up to a
 * page. Returns 0 or errno; a fixed space ignores it. */
int space_trim(space_t *s, size_t keep);

/* Release the reservation (mmap) or forget the buffer (fixed). */
void space_destroy(space_t *s);

/* Blocks straight from the system (large allocations): page-rounded
 * mappings through the same os table, so failure injection reaches them. */
void *space_map(const space_t *s, size_t size);
void space_unmap(const space_t *s, void *p, size_t size);

/* Round n up to a multiple of the page size; 0 on overflow. */
static inline size_t space_page_round(const space_t *s, size_t n) {
  size_t m = s->page_size - 1;
  return n > SIZE_MAX - m ? 0 : (n + m) & ~m;
}

static inline bool space_contains(const space_t *s, const void *p) {
  const uint8_t *q = (const uint8_t *)p;
  return q >= s->base && q < s->base + s->committed;
}

/* The system page size (sysconf), cached. */
size_t space_system_page_size(void);

#ifdef __cplusplus
}
#endif
#endif /* TB_SPACE_H */
