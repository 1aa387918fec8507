/* registry.c: every allocator the testbed knows, by name and check level.
 *
 * The designs (inline, oob, oob-array: oob with its bins as arrays, and
 * oob-m32: oob with inline's 32-byte minimum block) are
 * compiled once per check level 0..3 and export tb_<prefix>_ops_l<level>; the references (glibc, bump) are
 * compiled once and serve every level. The build defines TB_HAVE_<DESIGN>
 * for each design it compiled. After them come the peers (jemalloc,
 * mimalloc, tcmalloc) whose library is installed for this build's ISA,
 * found at run time (allocators/peers/tb_peers.h); they serve every level
 * too, and run only in a process started with their library preloaded.
 */
#include <string.h>

#include "tb_alloc.h"
#include "tb_peers.h"

extern const tb_allocator_t tb_glibc_ops, tb_bump_ops;

#define TB_DESIGN_LEVELS(p) \
  extern const tb_allocator_t tb_##p##_ops_l0, tb_##p##_ops_l1, tb_##p##_ops_l2, tb_##p##_ops_l3;
#ifdef TB_HAVE_INLINE
TB_DESIGN_LEVELS(inl)
#endif
#ifdef TB_HAVE_OOB
TB_DESIGN_LEVELS(oob)
#endif
#ifdef TB_HAVE_OOB_ARRAY
TB_DESIGN_LEVELS(oobarr)
#endif
#ifdef TB_HAVE_OOB_M32
TB_DESIGN_LEVELS(oobm32)
#endif
#ifdef TB_HAVE_OOB_MAP
TB_DESIGN_LEVELS(oobmap)
#endif

#define TB_ROW(p) {&tb_##p##_ops_l0, &tb_##p##_ops_l1, &tb_##p##_ops_l2, &tb_##p##_ops_l3}
#define TB_REF(x) {&x, &x, &x, &x}

/* One row per allocator, one column per check level. */
static const tb_allocator_t *const table[][4] = {
#ifdef TB_HAVE_INLINE
    TB_ROW(inl),
#endif
#ifdef TB_HAVE_OOB
    TB_ROW(oob),
#endif
#ifdef TB_HAVE_OOB_ARRAY
    TB_ROW(oobarr),
#endif
#ifdef TB_HAVE_OOB_M32
    TB_ROW(oobm32),
#endif
#ifdef TB_HAVE_OOB_MAP
    TB_ROW(oobmap),
#endif
    TB_REF(tb_glibc_ops),
    TB_REF(tb_bump_ops),
};

const tb_allocator_t *tb_allocator_at(size_t i, int level) {
  const size_t n = sizeof table / sizeof table[0];
  if (level < 0 || level > 3) return NULL;
  if (i < n) return table[i][level];
  const tb_peer_t *p = tb_peer_installed_at(i - n);
  return p ? p->ops : NULL;
}

bool tb_allocator_in_process(const tb_allocator_t *a) {
  if (!a->exec_env) return true;
  const tb_peer_t *p = tb_peer_find(a->name);
  return p && tb_peer_is_active(p);
}

const tb_allocator_t *tb_allocator_find(const char *name, int level) {
  const tb_allocator_t *a;
  for (size_t i = 0; (a = tb_allocator_at(i, level)) != NULL; i++)
    if (strcmp(a->name, name) == 0) return a;
  return NULL;
}

int tb_default_check_level(void) { return TB_DEFAULT_CHECK_LEVEL; }

bool tb_stats_enabled(void) { return TB_STATS; }
