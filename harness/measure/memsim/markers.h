/* markers.h: the marker protocol between a replay running under qemu-user
 * and the memsim plugin (plugin.c). Shared by the plugin and the testbed
 * (harness/measure/memsim.c, harness/replay.c); nothing else is shared.
 *
 * Two channels:
 *   syscall   - rare events: syscall number TB_MK_SYSCALL (no such syscall
 *               on x86_64 or aarch64: qemu-user returns -ENOSYS after the
 *               plugin has seen it; natively it is never made) with
 *               a1 = TB_MK_*, then up to three arguments.
 *                 HELLO(page)          the marker page's address (page-aligned,
 *                                      TB_MK_PAGE bytes); before it no store
 *                                      is a marker
 *                 WINDOW_BEGIN/END     accesses between them are counted
 *                 REGION(lo, hi, kind) [lo, hi) belongs to region kind
 *                                      (TB_RG_*), for the by-region counts
 *   stores    - frequent events, per guest thread: a store of any size to
 *               marker page + 8 * m sets the thread's mode to m (TB_MODE_*):
 *               what its following accesses are charged to. The replay stores
 *               ALLOC before each call into the allocator and HARNESS after
 *               it returns, PROGRAM before the workload's touches of a block
 *               and HARNESS after them. Accesses to the marker page are
 *               neither simulated nor counted.
 */
#ifndef TB_MEMSIM_MARKERS_H
#define TB_MEMSIM_MARKERS_H

#define TB_MK_SYSCALL 0x7e57 /* 32343: above every Linux syscall number of both ISAs */
#define TB_MK_PAGE 4096

enum { TB_MK_HELLO = 1, TB_MK_WINDOW_BEGIN = 2, TB_MK_WINDOW_END = 3, TB_MK_REGION = 4 };

/* Modes: who an access is charged to. */
enum { TB_MODE_HARNESS = 0, TB_MODE_ALLOC = 1, TB_MODE_PROGRAM = 2, TB_NMODES = 3 };

/* Data regions: where an access went. OTHER is everything not registered
 * and not mapped by the allocator. BLOCKS is the block memory: the spaces
 * the space layer reports as SPACE_TAG_BLOCKS and large blocks (told by
 * REGION through the space layer's region hook), and anything mapped
 * (mmap, mremap, brk) while a thread was in ALLOC mode (glibc's heap and
 * the peers' come this way). META is a design's out-of-band metadata: the
 * spaces reported as SPACE_TAG_META (oob's record and bin arrays, oob-map's
 * address maps, bump's table). DESC is a design's heap descriptor (bin
 * heads, bitmaps, counters: told as SPACE_TAG_DESC by inline, the oob
 * family and bump; glibc's and the peers' state is in OTHER). */
enum {
  TB_RG_OTHER = 0,
  TB_RG_BLOCKS = 1,
  TB_RG_HARNESS = 2,
  TB_RG_STACK = 3,
  TB_RG_META = 4,
  TB_RG_DESC = 5,
  TB_NREGIONS = 6
};

#endif
