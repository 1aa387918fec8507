/* bump.c: the null allocator (reference). A bump pointer through a space;
 * free does nothing. Replaying a trace with it measures the harness's own
 * cost, so it does as little as a correct allocator can: its fast path is
 * a few instructions and it never touches the memory it hands out (no
 * header in the blocks, whose first touch would cost a cache and TLB miss
 * per block that belongs to the allocator, not the harness).
 *
 * Blocks are carved back to back, in address order, from the space. Where
 * each one starts is kept out of band, in the block table: entry k is the
 * start of the k-th block, in 16-byte granules from the space's base (a
 * uint32_t, so a space may reserve at most 64 GiB). A block's capacity
 * (what usable_size reports) runs to the next block's start, or to cur for
 * the last one; only realloc and usable_size look a block up (bump_find).
 *
 *   base                                         cur            lim
 *   | block 0 | block 1 |pad| block 2 | block 3  | zero ...     |
 *   tbl: [ g0 | g1 | g2 | g3 ] tnext ...  tend
 *
 * The table lives in its own mmap space (growing with the heap) when the
 * heap space is an mmap space; in a fixed space it takes the top fifth of
 * the buffer, which is enough for one 4-byte entry per 16-byte block of
 * the other four fifths, so both fill up together at worst.
 *
 * Invariants:
 *   base <= cur <= lim, cur % 16 == 0; tbl <= tnext <= tend
 *   tend - tbl >= (lim - base) / 16: room for a block is room for its entry
 *   tbl[0] < tbl[1] < ... < tbl[nblocks-1] < (cur - base) / 16
 *   every byte of [cur, lim) is zero, and so is every byte committed later
 *     (fresh pages; a caller's space is cleared at create and on growth)
 *     -> calloc never clears: its block comes from [cur, lim)
 *   the last block may grow in place (realloc); growth within a block's
 *     capacity never moves it; a block realloc moves gets twice the size
 *     asked, so growing buffers are copied O(log size) times
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_bump.h"
#include "tb_check.h"
#include "tb_lock.h"
#include "tb_policy.h"

/* Granule offsets are uint32_t: the space may not reserve more. */
#define BUMP_MAX_SPACE ((size_t)1 << (32 + TB_ALIGN_SHIFT))

struct tb_heap_s {
  uintptr_t cur;    /* next free byte of the block region, 16-aligned */
  uintptr_t lim;    /* end of the committed block region */
  uint32_t *tnext;  /* next free table entry */
  uint32_t *tend;   /* end of the committed table */
  uint32_t *tbl;    /* table entry of block 0 */
  uintptr_t base;   /* the space's base */
  size_t hint;      /* the block bump_find found last */
  bool locked;      /* TB_MODE_LOCKED: every call goes through the lock */
  bool own;         /* the space is this heap's own fresh mmap space */
  bool fixed;       /* fixed space: the table is its top fifth */
  space_t *space;
  space_t own_space;
  space_t tspace;   /* the table's space (not fixed) */
  tb_lock_t lock;
};

static tb_heap_t *bump_create(const tb_heap_opts_t *opts) {
  tb_heap_t *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  if (!(h->space = tb_heap_space_open(opts, &h->own_space))) {
    free(h);
    return NULL;
  }
  space_tell(h, sizeof *h, SPACE_TAG_DESC); /* memsim's by-region counts */
  space_t *s = h->space;
  h->own = s == &h->own_space;
  h->fixed = s->kind == SPACE_FIXED;
  if (s->reserved > BUMP_MAX_SPACE) {
    tb_heap_space_close(s, &h->own_space);
    free(h);
    errno = EINVAL;
    return NULL;
  }
  /* A caller's space may have been used before (fixed buffers are reused):
   * clear it once here, outside any measured window, so that the
   * zero-above-cur invariant holds and calloc need not clear. */
  if (!h->own) memset(s->base, 0, s->committed);
  h->base = h->cur = (uintptr_t)s->base;
  if (h->fixed) {
    size_t blocks = (s->committed - s->committed / 5) & ~TB_ALIGN_MASK;
    h->lim = h->base + blocks;
    h->tbl = h->tnext = (uint32_t *)h->lim;
    h->tend = h->tbl + (s->committed - blocks) / sizeof(uint32_t);
  } else {
    /* One entry per 16 bytes of the space: a quarter of its reservation,
     * committed in step with it (bump_grow). */
    space_config_t tc = {.reserve = tb_align_up(s->reserved / 4, s->page_size), .os = s->os,
                        .tag = SPACE_TAG_META};
    tc.initial = tb_align_up(s->committed / 4, s->page_size);
    if (tc.initial > tc.reserve) tc.initial = tc.reserve;
    int rc = space_init_mmap(&h->tspace, &tc);
    if (rc) {
      tb_heap_space_close(s, &h->own_space);
      free(h);
      errno = rc;
      return NULL;
    }
    h->lim = h->base + s->committed;
    h->tbl = h->tnext = (uint32_t *)h->tspace.base;
    h->tend = h->tbl + h->tspace.committed / sizeof(uint32_t);
  }
  h->locked = opts && opts->mode == TB_MODE_LOCKED;
  return h;
}

static void bump_destroy(tb_heap_t *h) {
  if (!h) return;
  if (!h->fixed) space_destroy(&h->tspace);
  tb_heap_space_close(h->space, &h->own_space);
  free(h);
}

static size_t bump_nblocks(const tb_heap_t *h) { return (size_t)(h->tnext - h->tbl); }

/* Make room for a block ending at `end`: grow the space, and the table
 * with it, so that it always has an entry for every 16 bytes of the
 * committed block region (then room for a block implies room for its
 * entry). 0, or -1 when either cannot grow. */
static int bump_grow(tb_heap_t *h, uintptr_t end) {
  if (end <= h->lim) return 0;
  size_t was = h->lim - h->base; /* cleared so far (a failed step may have committed more) */
  if (h->fixed || end - h->base > h->space->reserved || space_grow_to(h->space, end - h->base)) return -1;
  size_t entries = h->space->committed / TB_ALIGN_SIZE;
  if (space_grow_to(&h->tspace, entries * sizeof(uint32_t))) return -1; /* the space keeps its growth; harmless */
  /* First commits are zero by the space contract; a caller's space may
   * be recommitting pages it had before, so clear those. */
  if (!h->own) memset(h->space->base + was, 0, h->space->committed - was);
  h->lim = h->base + h->space->committed;
  h->tend = h->tbl + h->tspace.committed / sizeof(uint32_t);
  return 0;
}

/* Hand out `n` bytes aligned to `a` (a power of two >= 16); the caller
 * holds the lock. */
static void *bump_take(tb_heap_t *h, size_t a, size_t n) {
  if (n > TB_MAX_REQUEST || a > TB_MAX_REQUEST) return NULL;
  uintptr_t p = tb_align_up(h->cur, a);
  uintptr_t end = p + tb_align_up(n ? n : 1, TB_ALIGN_SIZE);
  if (end > h->lim && bump_grow(h, end)) return NULL;
  *h->tnext++ = (uint32_t)((p - h->base) >> TB_ALIGN_SHIFT);
  h->cur = end;
  return (void *)p;
}

static void *bump_take_locked(tb_heap_t *h, size_t a, size_t n) {
  bool taken = tb_heap_lock(&h->lock, h->locked);
  void *r = bump_take(h, a, n);
  tb_heap_unlock(&h->lock, taken);
  if (!r) errno = ENOMEM;
  return r;
}

static void *bump_malloc(tb_heap_t *h, size_t n) {
  /* Fast path (a heap used by one thread): one compare covers n == 0 and
   * huge n (sz wraps to 0, so sz - 1 is SIZE_MAX) and room. A locked heap
   * reads nothing before it holds the lock. */
  if (__builtin_expect(!h->locked, 1)) {
    uintptr_t p = h->cur;
    size_t sz = (n + TB_ALIGN_MASK) & ~TB_ALIGN_MASK;
    uint32_t *t = h->tnext;
    if (__builtin_expect(sz - 1 < h->lim - p, 1)) {
      *t = (uint32_t)((p - h->base) >> TB_ALIGN_SHIFT);
      h->tnext = t + 1;
      h->cur = p + sz;
      return (void *)p;
    }
  }
  return bump_take_locked(h, TB_ALIGN_SIZE, n);
}

static void bump_free(tb_heap_t *h, void *p) {
  (void)h;
  (void)p;
}

static void *bump_calloc(tb_heap_t *h, size_t n, size_t s) {
  size_t t;
  if (__builtin_mul_overflow(n, s, &t)) {
    errno = ENOMEM;
    return NULL;
  }
  /* The block comes from [cur, lim), which is zero (see the invariants). */
  return bump_malloc(h, t);
}

/* Index of the block starting at p, or SIZE_MAX when no block starts
 * there. Caller holds the lock. Programs mostly realloc young blocks, and
 * the same block again and again: so the last block and the previous
 * answer are tried first, then a search that gallops back from the end
 * (O(log distance) probes) and finishes by bisection. */
static size_t bump_find(tb_heap_t *h, const void *p) {
  size_t n = bump_nblocks(h);
  uintptr_t off = (uintptr_t)p - h->base;
  if (!n || (uintptr_t)p < h->base || off % TB_ALIGN_SIZE || off >= h->cur - h->base) return SIZE_MAX;
  const uint32_t *tbl = h->tbl;
  uint32_t g = (uint32_t)(off >> TB_ALIGN_SHIFT);
  if (tbl[n - 1] <= g) return tbl[n - 1] == g ? n - 1 : SIZE_MAX;
  if (h->hint < n && tbl[h->hint] == g) return h->hint;
  /* tbl[n - 1] > g: find lo < hi with tbl[lo] <= g < tbl[hi]. */
  size_t hi = n - 1, step = 1, lo;
  for (;;) {
    if (hi < step) {
      lo = 0;
      if (tbl[0] > g) return SIZE_MAX;
      break;
    }
    lo = hi - step;
    if (tbl[lo] <= g) break;
    hi = lo;
    step *= 2;
  }
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tbl[mid] <= g)
      lo = mid;
    else
      hi = mid;
  }
  if (tbl[lo] != g) return SIZE_MAX;
  h->hint = lo;
  return lo;
}

/* Capacity of block k: to the next block's start, or to cur. */
static size_t bump_cap(const tb_heap_t *h, size_t k) {
  size_t stop = k + 1 < bump_nblocks(h) ? (size_t)h->tbl[k + 1] << TB_ALIGN_SHIFT : (size_t)(h->cur - h->base);
  return stop - ((size_t)h->tbl[k] << TB_ALIGN_SHIFT);
}

static size_t bump_usable(tb_heap_t *h, const void *p) {
  if (!p) return 0;
  bool taken = tb_heap_lock(&h->lock, h->locked);
  size_t k = bump_find(h, p);
  size_t cap = k == SIZE_MAX ? 0 : bump_cap(h, k);
  tb_heap_unlock(&h->lock, taken);
  return cap;
}

static void *bump_realloc(tb_heap_t *h, void *p, size_t n) {
  if (!p) return bump_malloc(h, n);
  if (n == 0) return NULL; /* frees p (which bump never reuses) */
  bool taken = tb_heap_lock(&h->lock, h->locked);
  size_t k = bump_find(h, p);
  if (k == SIZE_MAX) {
    tb_heap_unlock(&h->lock, taken);
    fprintf(stderr, "bump: realloc of %p, which is not a block of this heap\n", p);
    abort();
  }
  size_t cap = bump_cap(h, k);
  bool stay = n <= cap; /* shrinks and growth within the capacity stay */
  if (!stay && k + 1 == bump_nblocks(h) && n <= TB_MAX_REQUEST) {
    /* The last block grows in place: [cur, lim) is free and zero. */
    uintptr_t end = (uintptr_t)p + tb_align_up(n, TB_ALIGN_SIZE);
    if (end <= h->lim || bump_grow(h, end) == 0) {
      h->cur = end;
      stay = true;
    }
  }
  tb_heap_unlock(&h->lock, taken);
  if (stay) return p;
  /* Moving: the new block gets twice the size asked (when that fits), so
   * a block that keeps growing is copied O(log size) times, not on every
   * call: vector-style growth, as any allocator may do. */
  int e = errno;
  void *q = n <= TB_MAX_REQUEST / 2 ? bump_take_locked(h, TB_ALIGN_SIZE, 2 * n) : NULL;
  errno = e;
  if (!q) q = bump_malloc(h, n);
  if (q) memcpy(q, p, cap); /* cap < n here */
  return q;
}

static void *bump_aligned(tb_heap_t *h, size_t a, size_t n) {
  if (a == 0 || (a & (a - 1))) {
    errno = EINVAL;
    return NULL;
  }
  return bump_take_locked(h, a < TB_ALIGN_SIZE ? TB_ALIGN_SIZE : a, n);
}

static bool bump_check(tb_heap_t *h, char *why, size_t len) {
  bool taken = tb_heap_lock(&h->lock, h->locked);
  const char *bad = NULL;
  size_t n = bump_nblocks(h), at = 0;
  if (!(h->base <= h->cur && h->cur <= h->lim && h->cur % TB_ALIGN_SIZE == 0))
    bad = "not base <= cur <= lim, cur 16-aligned";
  else if (!(h->tbl <= h->tnext && h->tnext <= h->tend))
    bad = "table pointers out of order";
  else if ((size_t)(h->tend - h->tbl) < (h->lim - h->base) / TB_ALIGN_SIZE)
    bad = "table smaller than one entry per 16 bytes of the block region";
  else
    for (; at < n && !bad; at++)
      if ((at && h->tbl[at] <= h->tbl[at - 1]) || ((size_t)h->tbl[at] << TB_ALIGN_SHIFT) >= h->cur - h->base)
        bad = "table entries not increasing below cur";
  if (bad && why && len)
    snprintf(why, len, "bump: %s (cur %zu, lim %zu, %zu blocks, entry %zu)", bad, (size_t)(h->cur - h->base),
             (size_t)(h->lim - h->base), n, at ? at - 1 : 0);
  tb_heap_unlock(&h->lock, taken);
  return !bad;
}

static void bump_stats(tb_heap_t *h, tb_stats_t *st) {
  tb_stats_clear(st);
  if (h->fixed) {
    /* A fixed space is the caller's, handed over whole (the harness gives
     * bump a pre-faulted one sized for the worst case): count the pages
     * bump has used of it, blocks and table, as its own space would have
     * committed them. */
    size_t pg = h->space->page_size;
    st->committed_bytes = tb_align_up(h->cur - h->base, pg) + tb_align_up(bump_nblocks(h) * sizeof(uint32_t), pg);
  } else {
    st->committed_bytes = h->space->committed + h->tspace.committed;
  }
  st->peak_committed_bytes = st->committed_bytes; /* bump never gives memory back */
  st->metadata_bytes = bump_nblocks(h) * sizeof(uint32_t);
  st->top_bytes = h->lim - h->cur;
  st->largest_free = st->top_bytes;
  st->mallocs = bump_nblocks(h);
  st->grows = h->space->grows;
}

size_t tb_bump_request_bytes(tb_bump_req_t kind, size_t n, size_t align) {
  size_t sz = tb_align_up(n ? n : 1, TB_ALIGN_SIZE);
  switch (kind) {
  case TB_BUMP_REALLOC:
    /* grown in place to sz, or moved into a new block of twice n */
    return 2 * sz;
  case TB_BUMP_ALIGNED:
    return sz + (align > TB_ALIGN_SIZE ? align - TB_ALIGN_SIZE : 0); /* the lead before an aligned start */
  default:
    return sz;
  }
}

size_t tb_bump_fixed_space_bytes(size_t bytes, size_t page_size) {
  /* bump_create gives the block region four fifths of a fixed space and
   * its table the top fifth: one 4-byte entry per 16 bytes of region. */
  size_t region = tb_align_up(bytes, TB_ALIGN_SIZE) + TB_ALIGN_SIZE;
  return tb_align_up(region + region / 4 + TB_ALIGN_SIZE, page_size);
}

const tb_allocator_t tb_bump_ops = {
    .name = "bump",
    .description = "null baseline: bump pointer, free does nothing (measures the harness)",
    .caps = TB_CAP_SPACE | TB_CAP_STATS,
    .check_level = -1,
    .create = bump_create,
    .destroy = bump_destroy,
    .malloc = bump_malloc,
    .free = bump_free,
    .calloc = bump_calloc,
    .realloc = bump_realloc,
    .aligned_alloc = bump_aligned,
    .usable_size = bump_usable,
    .check = bump_check,
    .stats = bump_stats,
};
