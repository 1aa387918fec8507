/* tb_check.h: check levels, assertions, fatal errors and statistics
 * counters shared by every allocator design.
 *
 *   TB_CHECK_LEVEL 0  measured builds: nothing checked
 *                  1  cheap checks: invalid and double free abort, naming
 *                     the pointer (tb_fatal)
 *                  2  level 1, and internal asserts (tb_assert), among
 *                     them a check of every block whose state an
 *                     operation changes (taken, split, released, merged)
 *                     and of its neighbours' tags or links (dlmalloc's
 *                     check_*_chunk): what the operation touched
 * The fast paths are the same code at every level; the checks come after
 * (or inside) them, so the code validated is the code measured.
 *                  3  level 2, and the whole-heap validation (check()):
 *                     after each of a heap's first TB_CHECK_WALK_EVERY
 *                     operations, then after every TB_CHECK_WALK_EVERY-th,
 *                     and when the heap is destroyed (tb_check_walk_due)
 *   TB_STATS       1  counters in tb_stats_t are maintained; 0 compiles them
 *                     out (TB_STAT_ADD does nothing, stats() reports NA)
 *
 * Both are set by the build per compiled copy of an allocator (see
 * cmake/TbDesign.cmake): one copy per check level.
 */
#ifndef TB_CHECK_H
#define TB_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#ifndef TB_CHECK_LEVEL
#define TB_CHECK_LEVEL 0
#endif
#ifndef TB_STATS
#define TB_STATS 1
#endif

#if TB_CHECK_LEVEL < 0 || TB_CHECK_LEVEL > 3
#error "TB_CHECK_LEVEL must be 0..3"
#endif

#if defined(__GNUC__)
#define tb_likely(x) __builtin_expect(!!(x), 1)
#define tb_unlikely(x) __builtin_expect(!!(x), 0)
#define tb_noinline __attribute__((noinline))
#define tb_always_inline inline __attribute__((always_inline))
#else
#define tb_likely(x) (x)
#define tb_unlikely(x) (x)
#define tb_noinline
#define tb_always_inline inline
#endif

/* Print "testbed: <alloc>: <what> <ptr>" to stderr and abort(). Used for
 * detected misuse (invalid or double free) and failed validation. */
_Noreturn void tb_fatal(const char *alloc, const char *what, const void *p);
_Noreturn void tb_assert_fail(const char *expr, const char *file, int line);

#if TB_CHECK_LEVEL >= 2
#define tb_assert(e) ((e) ? (void)0 : tb_assert_fail(#e, __FILE__, __LINE__))
#else
#define tb_assert(e) ((void)0)
#endif

/* Level 3: whether the operation just counted in *ops (a heap's count)
 * ends with a whole-heap walk. Every one of the first TB_CHECK_WALK_EVERY
 * does (small heaps, where most tests live, are walked after every
 * operation), then every TB_CHECK_WALK_EVERY-th: a real trace's heap of
 * thousands of blocks is walked a few hundred times instead of after each
 * of its 10^5 operations, and corruption that escaped the level-2 checks
 * of what each operation touched is found at most that many operations
 * later, or when the heap is destroyed. */
#define TB_CHECK_WALK_EVERY 1024u
static inline bool tb_check_walk_due(unsigned long long *ops) {
  unsigned long long k = ++*ops;
  return k <= TB_CHECK_WALK_EVERY || k % TB_CHECK_WALK_EVERY == 0;
}

/* Statistics counters: TB_STAT_ADD(stats_struct, field, n). */
#if TB_STATS
#define TB_STAT_ADD(st, field, n) ((st).field += (n))
#else
#define TB_STAT_ADD(st, field, n) ((void)0)
#endif
#define TB_STAT_INC(st, field) TB_STAT_ADD(st, field, 1)

/* Allocator sources are compiled once per check level as one translation
 * unit (a unity build, cmake/TbDesign.cmake). Functions shared between the
 * files of one design are declared TB_INTERNAL so each copy keeps its own;
 * the operations table is named with TB_OPS_SYMBOL(prefix), which gives
 * tb_<prefix>_ops_l<level>. */
#ifdef TB_UNITY
#define TB_INTERNAL static
#else
#define TB_INTERNAL
#endif
#define TB_OPS_SYMBOL(prefix) TB_OPS_SYMBOL_(prefix, TB_CHECK_LEVEL)
/* The members of a design's operations table that every design fills
 * alike: its check level and its functions <p>_create, <p>_destroy,
 * <p>_malloc, <p>_free, <p>_calloc, <p>_realloc, <p>_aligned_alloc,
 * <p>_usable_size, <p>_check_op (ops->check) and <p>_stats. */
#define TB_OPS_FUNCTIONS(p)                                                                     \
  .check_level = TB_CHECK_LEVEL, .create = p##_create, .destroy = p##_destroy, .malloc = p##_malloc, \
  .free = p##_free, .calloc = p##_calloc, .realloc = p##_realloc, .aligned_alloc = p##_aligned_alloc, \
  .usable_size = p##_usable_size, .check = p##_check_op, .stats = p##_stats
/* A design's create() starts alike: h, a pointer to its tb_heap_t (which
 * has `space_t *space` and `space_t own_space`), becomes a zeroed
 * descriptor on the space opts names or on its own mmap space
 * (tb_heap_space_open), told to memsim as the heap descriptor
 * (SPACE_TAG_DESC, for its by-region counts); NULL, with errno set, when
 * either fails. */
#define TB_HEAP_NEW(h, opts)                                                   \
  do {                                                                         \
    (h) = calloc(1, sizeof *(h));                                              \
    if ((h) && !((h)->space = tb_heap_space_open((opts), &(h)->own_space))) { \
      free(h);                                                                 \
      (h) = NULL;                                                              \
    }                                                                          \
    if (h) space_tell((h), sizeof *(h), SPACE_TAG_DESC);                      \
  } while (0)
#define TB_OPS_SYMBOL_(p, l) TB_OPS_SYMBOL__(p, l)
#define TB_OPS_SYMBOL__(p, l) tb_##p##_ops_l##l

#endif /* TB_CHECK_H */
