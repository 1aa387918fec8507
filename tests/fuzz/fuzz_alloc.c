/* fuzz_alloc.c: differential fuzz target of the allocator API.
 *
 * The input is decoded into a sequence of operations (malloc, calloc,
 * realloc, aligned_alloc, free, usable_size) on 64 slots, with sizes drawn
 * from classes that matter to the policy (tiny, small bins, the small/large
 * bin boundary, large bins, around TB_LARGE_THRESHOLD, beyond it, and huge
 * requests that must fail). The sequence runs on every registered design
 * (every allocator whose caps include TB_CAP_CHECK and TB_CAP_SPACE: the
 * registry decides, so a design added later is fuzzed without an edit
 * here) at check level 3, each on its own fixed space of the same size and
 * alignment. Checked after every operation, for every design:
 *   - the common API's rules (tb_alloc.h): alignment, usable size >= the
 *     request, calloc zeroed, realloc keeps the content and fails leaving
 *     the block live, realloc(p, 0) frees, NULL with ENOMEM / EINVAL as
 *     stated, malloc(0) unique;
 *   - every block lies inside the space and overlaps no other live block;
 *   - a pattern written into every live block is intact (the blocks next
 *     to the one operated on are re-read after every operation, all blocks
 *     every 16 operations and at the end);
 *   - the heap validates (ops->check) every 16 operations and at the end;
 * and between designs that the policy says place alike (same placement
 * group below: inline and oob-m32 share inline's minimum block, oob and
 * oob-array differ only in how bins are held): the same results at the
 * same offsets from the space's base, and the same usable sizes.
 * oob-map is oob without the back-pointer word: a request of n bytes takes
 * a block of n rounded up to 16 (oob: n + 8 rounded up), minimum 16 in
 * both, and both keep the same offsets (oob-map's user pointer is where
 * oob's is). So while every request so far took blocks of the same size in
 * both (n = 0 or n mod 16 in 1..8, or a request both must refuse), the two
 * make the same decisions: the same results at the same offsets, and
 * oob-map's usable size is oob's + 8. The first request whose blocks differ
 * ends the comparison for that input (layouts part from there on).
 *
 * Any violation prints what and where and aborts: a crash for the fuzzer.
 *
 * Input format: byte 0 selects the space size (one of four, low 2 bits);
 * its bit 2 snaps every request to one that oob and oob-map take alike
 * (n mod 16 in 1..8; calloc as one element of the product), so that the
 * oob/oob-map comparison runs for the whole input. Then each operation is
 * one byte (low 3 bits: kind; high 5 bits: the slot) followed by its size
 * bytes (see get_size). A missing byte reads as 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_fuzz.h"

#define NSLOT 32
#define MAX_DESIGNS 16
#define LARGE ((size_t)256 << 10) /* TB_LARGE_THRESHOLD (allocators/common/tb_policy.h) */
#define SPACE_MAX ((size_t)4 << 20)

typedef struct {
  unsigned char *p; /* NULL: slot empty */
  size_t req;       /* bytes asked */
  unsigned seed;    /* pattern seed */
} blk_t;

typedef struct {
  const tb_allocator_t *a;
  tb_heap_t *h;
  space_t space;
  unsigned char *buf;
  int group; /* placement group, -1: none */
  blk_t slot[NSLOT];
} inst_t;

/* Designs that must place every block alike (tb_policy.h; DESIGN.md). */
static const struct {
  const char *name;
  int group;
} groups[] = {{"inline", 0}, {"oob-m32", 0}, {"oob", 1}, {"oob-array", 1}};

static inst_t inst[MAX_DESIGNS];
static size_t ninst;
static int oob_at = -1, map_at = -1; /* inst[] of oob and oob-map, -1: not registered */
static _Alignas(4096) unsigned char bufs[MAX_DESIGNS][SPACE_MAX];
static unsigned long long op_no;

static void fail(const inst_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fail(const inst_t *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fuzz_alloc: %s: op %llu: ", d ? d->a->name : "-", op_no);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* The pattern of a block with seed s: word j (bytes 8j..8j+7) holds W(j, s),
 * so a block moved onto another's place, or shifted by a word, is caught. */
static inline uint64_t W(size_t j, unsigned s) {
  uint64_t z = (uint64_t)j * 0x9E3779B97F4A7C15ull + (uint64_t)s * 0xD6E8FEB86659FD93ull;
  return z ^ (z >> 29);
}

/* The words of an n-byte block the pattern covers: all of a block up to
 * 512 B; of a larger one the first and last 256 B and a word every 4 KiB
 * (a 1 MiB block costs ~300 words, not 128 Ki, per check). */
#define EDGE_WORDS 32
static inline size_t next_j(size_t j, size_t nw) {
  if (j + 1 < EDGE_WORDS || j + 1 + EDGE_WORDS >= nw) return j + 1;
  size_t k = (j + 512) & ~(size_t)511;
  return k < nw - EDGE_WORDS ? k : nw - EDGE_WORDS;
}

static void fill(unsigned char *p, size_t n, unsigned s) {
  size_t nw = (n + 7) / 8;
  for (size_t j = 0; j < nw; j = next_j(j, nw)) {
    uint64_t w = W(j, s);
    size_t k = n - 8 * j < 8 ? n - 8 * j : 8;
    memcpy(p + 8 * j, &w, k);
  }
}

/* First byte below lim of the n-byte pattern that differs, or SIZE_MAX. */
static size_t verify(const unsigned char *p, size_t n, size_t lim, unsigned s) {
  if (lim > n) lim = n;
  size_t nw = (n + 7) / 8;
  for (size_t j = 0; j < nw && 8 * j < lim; j = next_j(j, nw)) {
    uint64_t w = W(j, s);
    size_t k = lim - 8 * j < 8 ? lim - 8 * j : 8;
    if (k == 8) {
      uint64_t v;
      memcpy(&v, p + 8 * j, 8);
      if (v == w) continue;
    } else if (!memcmp(p + 8 * j, &w, k)) {
      continue;
    }
    for (size_t b = 0; b < k; b++)
      if (p[8 * j + b] != ((const unsigned char *)&w)[b]) return 8 * j + b;
  }
  return SIZE_MAX;
}

static void check_block(inst_t *d, int i, const char *what) {
  blk_t *b = &d->slot[i];
  if (((uintptr_t)b->p & (TB_ALIGN - 1)) != 0) fail(d, "%s: block %p not 16-byte aligned", what, (void *)b->p);
  if (b->p < d->space.base || b->p + b->req > d->space.base + d->space.committed)
    fail(d, "%s: block [%p, +%zu) outside the fixed space", what, (void *)b->p, b->req);
  size_t u = d->a->usable_size(d->h, b->p);
  if (u < b->req) fail(d, "%s: usable size %zu < %zu asked", what, u, b->req);
  /* no overlap with another live block (usable sizes) */
  for (int j = 0; j < NSLOT; j++) {
    const blk_t *c = &d->slot[j];
    if (j == i || !c->p) continue;
    size_t uc = d->a->usable_size(d->h, c->p);
    size_t ub = u ? u : 1, ucc = uc ? uc : 1;
    if (b->p < c->p + ucc && c->p < b->p + ub)
      fail(d, "%s: slot %d [%p, +%zu) overlaps slot %d [%p, +%zu)", what, i, (void *)b->p, u, j, (void *)c->p, uc);
  }
}

static void verify_slot(inst_t *d, int j, const char *what) {
  blk_t *c = &d->slot[j];
  size_t k = verify(c->p, c->req, SIZE_MAX, c->seed);
  if (k != SIZE_MAX) fail(d, "after %s: pattern of slot %d (%zu B) damaged at byte %zu", what, j, c->req, k);
}

static void verify_all(inst_t *d, const char *what) {
  for (int j = 0; j < NSLOT; j++)
    if (d->slot[j].p) verify_slot(d, j, what);
}

/* After an operation at address a: the live blocks next to a in address
 * order (where a design's metadata writes land: headers, footers, merges,
 * splits); every block is verified every 16 operations. */
static void verify_near(inst_t *d, const unsigned char *a, const char *what) {
  int below = -1, above = -1;
  for (int j = 0; j < NSLOT; j++) {
    const unsigned char *p = d->slot[j].p;
    if (!p) continue;
    if (p <= a && (below < 0 || p > d->slot[below].p)) below = j;
    if (p > a && (above < 0 || p < d->slot[above].p)) above = j;
  }
  if (below >= 0) verify_slot(d, below, what);
  if (above >= 0) verify_slot(d, above, what);
}

static void validate(inst_t *d, const char *what) {
  char why[256] = "";
  if (!d->a->check(d->h, why, sizeof why)) fail(d, "after %s: heap check failed: %s", what, why);
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct {
  const uint8_t *p, *end;
} in_t;

static unsigned get(in_t *in) { return in->p < in->end ? *in->p++ : 0; }
static unsigned get16(in_t *in) { return get(in) | get(in) << 8; }

/* A size from its class (the high 3 bits of the first byte). */
static size_t get_size(in_t *in, size_t space) {
  unsigned b = get(in), cls = b >> 5, lo = b & 31;
  switch (cls) {
  case 0: return lo;                                   /* 0..31: the minimum blocks */
  case 1: return get16(in) % 1024;                     /* small bins */
  case 2: return 1008 + lo - 16 + (get(in) % 4) * 16;  /* around the last small bin (1008) and 1 KiB */
  case 3: return 1024 + (size_t)get16(in) * 3 % (LARGE - 1024); /* large bins */
  case 4: return LARGE - 64 + lo * 4 + get(in) % 4 - 2; /* around the large threshold */
  case 5: return LARGE + (size_t)get16(in) * 16 % (space - LARGE); /* large, may or may not fit */
  case 6: { /* huge: must fail */
    static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, (size_t)1 << 40, ((size_t)1 << 32) + 1};
    return lo < 5 ? huge[lo] : space + lo;
  }
  default: return (size_t)lo * 8 + get(in); /* 0..503: a mix */
  }
}

static size_t get_align(in_t *in) {
  unsigned b = get(in);
  if (b >= 240) return (size_t)(b - 200); /* 40..55: not powers of two, mostly: EINVAL unless one */
  return (size_t)1 << (b % 21);           /* 1 B .. 1 MiB */
}

/* ---- one operation on one design -------------------------------------------- */

typedef enum { K_MALLOC, K_CALLOC, K_REALLOC, K_ALIGNED, K_FREE, K_FREE2, K_USABLE, K_MALLOC2 } kind_t;

typedef struct {
  kind_t kind;
  int slot;
  size_t n, m, align; /* sizes; calloc: n elements of m */
} op_t;

/* Result of the operation on a design: the block it gave (or NULL), for
 * comparison within a placement group. */
static unsigned char *run_op(inst_t *d, const op_t *o, unsigned seed) {
  blk_t *b = &d->slot[o->slot];
  const tb_allocator_t *a = d->a;
  unsigned char *r = NULL, *was = b->p;
  const char *name = "";
  switch (o->kind) {
  case K_MALLOC:
  case K_MALLOC2:
  case K_CALLOC:
  case K_ALIGNED: {
    if (b->p) { /* free the slot's block first */
      a->free(d->h, b->p);
      b->p = NULL;
    }
    errno = 0;
    size_t req = o->n;
    if (o->kind == K_CALLOC) {
      name = "calloc";
      r = a->calloc(d->h, o->n, o->m);
      if (o->m && o->n > SIZE_MAX / o->m) {
        if (r || errno != ENOMEM) fail(d, "calloc(%zu, %zu) overflows: wanted NULL and ENOMEM", o->n, o->m);
        break;
      }
      req = o->n * o->m;
    } else if (o->kind == K_ALIGNED) {
      name = "aligned_alloc";
      r = a->aligned_alloc(d->h, o->align, o->n);
      if (o->align & (o->align - 1)) {
        if (r || errno != EINVAL) fail(d, "aligned_alloc(%zu, %zu): not a power of two: wanted NULL and EINVAL", o->align, o->n);
        break;
      }
      if (r && ((uintptr_t)r & (o->align - 1))) fail(d, "aligned_alloc(%zu, %zu) = %p: misaligned", o->align, o->n, (void *)r);
    } else {
      name = "malloc";
      r = a->malloc(d->h, o->n);
    }
    if (!r) {
      if (errno != ENOMEM) fail(d, "%s of %zu B failed with errno %d, not ENOMEM", name, req, errno);
      break;
    }
    if (req > d->space.committed) fail(d, "%s of %zu B succeeded on a %zu B fixed space", name, req, d->space.committed);
    b->p = r;
    b->req = req;
    b->seed = seed;
    check_block(d, o->slot, name);
    if (o->kind == K_CALLOC) { /* zeroed: the words the pattern covers */
      size_t nw = (req + 7) / 8;
      for (size_t j = 0; j < nw; j = next_j(j, nw))
        for (size_t k = 8 * j; k < 8 * j + 8 && k < req; k++)
          if (r[k]) fail(d, "calloc(%zu, %zu): byte %zu is not zero", o->n, o->m, k);
    }
    fill(r, req, seed);
    break;
  }
  case K_REALLOC: {
    name = "realloc";
    errno = 0;
    r = a->realloc(d->h, b->p, o->n);
    if (!b->p) { /* realloc(NULL, n) is malloc(n) */
      if (!r) {
        if (errno != ENOMEM) fail(d, "realloc(NULL, %zu) failed with errno %d", o->n, errno);
        break;
      }
    } else if (o->n == 0) { /* frees, returns NULL */
      if (r) fail(d, "realloc(p, 0) returned %p, not NULL", (void *)r);
      b->p = NULL;
      break;
    } else if (!r) { /* failed: the block stays live and intact */
      if (errno != ENOMEM) fail(d, "realloc to %zu failed with errno %d, not ENOMEM", o->n, errno);
      break;
    } else {
      size_t k = verify(r, b->req, o->n, b->seed);
      if (k != SIZE_MAX) fail(d, "realloc %zu -> %zu B: content lost at byte %zu", b->req, o->n, k);
    }
    b->p = r;
    b->req = o->n;
    b->seed = seed;
    check_block(d, o->slot, name);
    fill(r, o->n, seed);
    break;
  }
  case K_FREE:
  case K_FREE2:
    name = "free";
    a->free(d->h, b->p); /* free(NULL) included: nothing */
    b->p = NULL;
    break;
  case K_USABLE:
    name = "usable_size";
    if (b->p) {
      check_block(d, o->slot, name);
      size_t u = a->usable_size(d->h, b->p);
      /* writable in full: the bytes past the request */
      for (size_t k = b->req; k < u; k++) b->p[k] = (unsigned char)(k * 131u + b->seed);
      r = b->p;
    }
    break;
  }
  if (was) verify_near(d, was, name);
  if (r && r != was) verify_near(d, r, name);
  return r;
}

/* ---- the target --------------------------------------------------------------- */

static void setup(void) {
  if (ninst) return;
  const tb_allocator_t *a;
  for (size_t i = 0; (a = tb_allocator_at(i, 3)) != NULL; i++) {
    if ((a->caps & (TB_CAP_CHECK | TB_CAP_SPACE)) != (TB_CAP_CHECK | TB_CAP_SPACE)) continue;
    if (ninst == MAX_DESIGNS) {
      fprintf(stderr, "fuzz_alloc: more than %d designs: raise MAX_DESIGNS\n", MAX_DESIGNS);
      abort();
    }
    inst_t *d = &inst[ninst];
    d->a = a;
    d->buf = bufs[ninst];
    d->group = -1;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
      if (!strcmp(groups[g].name, a->name)) d->group = groups[g].group;
    if (!strcmp(a->name, "oob")) oob_at = (int)ninst;
    if (!strcmp(a->name, "oob-map")) map_at = (int)ninst;
    ninst++;
  }
  if (ninst == 0) {
    fprintf(stderr, "fuzz_alloc: no design registered\n");
    abort();
  }
  if (getenv("TB_FUZZ_VERBOSE"))
    for (size_t i = 0; i < ninst; i++) fprintf(stderr, "fuzz_alloc: design %s (group %d)\n", inst[i].a->name, inst[i].group);
}

/* ---- oob against oob-map ------------------------------------------------------ */

/* Requests this large fail in both (no fixed space holds them) before
 * anything that decides placement changes. */
#define BOTH_REFUSE ((size_t)1 << 40)

/* Whether a request of n bytes takes blocks of one size in oob (n + 8
 * rounded up to 16) and oob-map (n rounded up), both at least 16. */
static bool same_block(size_t n) {
  if (n >= BOTH_REFUSE) return true;
  size_t with_word = (n + 8 + 15) & ~(size_t)15, bare = (n + 15) & ~(size_t)15;
  return (with_word < 16 ? 16 : with_word) == (bare < 16 ? 16 : bare);
}

/* n changed as little as possible to a request that same_block accepts. */
static size_t snap(size_t n) {
  if (n >= BOTH_REFUSE || same_block(n)) return n;
  size_t r = n % 16; /* 0 or 9..15 */
  return r == 0 ? n - 8 : n - r + 8;
}

/* The bytes an operation asks for, for same_block (0: it asks for none). */
static size_t op_request(const op_t *o) {
  switch (o->kind) {
  case K_CALLOC: return o->m && o->n > SIZE_MAX / o->m ? SIZE_MAX : o->n * o->m;
  case K_MALLOC:
  case K_MALLOC2:
  case K_REALLOC:
  case K_ALIGNED: return o->n;
  default: return 0;
  }
}

/* The results of one operation in oob (x, result rx) and oob-map (y, ry),
 * while both have taken the same blocks: the same offset, and oob-map's
 * usable size 8 bytes more (no back-pointer word in its block). */
static void compare_map(const op_t *o, unsigned char *rx, unsigned char *ry) {
  inst_t *x = &inst[oob_at], *y = &inst[map_at];
  if (!rx != !ry || (rx && rx - x->buf != ry - y->buf))
    fail(y, "decided otherwise than oob on the same blocks: offset %td vs oob's %td (kind %d, size %zu)",
         ry ? ry - y->buf : (ptrdiff_t)-1, rx ? rx - x->buf : (ptrdiff_t)-1, (int)o->kind, o->n);
  if (rx) {
    size_t ux = x->a->usable_size(x->h, rx), uy = y->a->usable_size(y->h, ry);
    if (uy != ux + 8) fail(y, "usable size %zu, oob's %zu: wanted oob's + 8", uy, ux);
  }
}

const char *tb_fuzz_name = "alloc";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  in_t in = {data, data + size};
  static const size_t spaces[] = {(size_t)1 << 16, (size_t)1 << 20, (size_t)3 << 19, SPACE_MAX};
  unsigned b0 = get(&in);
  size_t space = spaces[b0 % 4];
  bool snapping = b0 & 4, lockstep = oob_at >= 0 && map_at >= 0;
  op_no = 0;
  for (size_t i = 0; i < ninst; i++) {
    inst_t *d = &inst[i];
    memset(d->slot, 0, sizeof d->slot);
    if (space_init_fixed(&d->space, d->buf, space)) fail(d, "space_init_fixed failed");
    tb_heap_opts_t opts = {.mode = TB_MODE_SINGLE, .space = &d->space};
    d->h = d->a->create(&opts);
    if (!d->h) fail(d, "create on a %zu B fixed space failed (errno %d)", space, errno);
  }
  unsigned char *res[MAX_DESIGNS];
  unsigned seed = 1;
  while (in.p < in.end && op_no < 4096) {
    op_no++;
    unsigned b = get(&in);
    op_t o = {.kind = (kind_t)(b & 7), .slot = (int)(b >> 3) % NSLOT};
    switch (o.kind) {
    case K_CALLOC:
      o.n = get(&in) & 1 ? get_size(&in, space) : get(&in) % 16;
      o.m = get(&in) & 1 ? get_size(&in, space) : 1 + get(&in) % 64;
      break;
    case K_ALIGNED:
      o.align = get_align(&in);
      o.n = get_size(&in, space);
      break;
    case K_MALLOC:
    case K_MALLOC2:
    case K_REALLOC:
      o.n = get_size(&in, space);
      break;
    default:
      break;
    }
    if (snapping) {
      if (o.kind == K_CALLOC && op_request(&o) < BOTH_REFUSE) { /* one element of the product */
        o.n = snap(o.n * o.m);
        o.m = 1;
      } else if (o.kind != K_CALLOC) {
        o.n = snap(o.n);
      }
    }
    if (!same_block(op_request(&o))) lockstep = false;
    seed++;
    for (size_t i = 0; i < ninst; i++) res[i] = run_op(&inst[i], &o, seed);
    if (lockstep) compare_map(&o, res[oob_at], res[map_at]);
    /* Placement groups: the same offsets and usable sizes. */
    for (size_t i = 0; i < ninst; i++)
      for (size_t j = i + 1; j < ninst; j++) {
        inst_t *x = &inst[i], *y = &inst[j];
        if (x->group < 0 || x->group != y->group) continue;
        if (!res[i] != !res[j] || (res[i] && res[i] - x->buf != res[j] - y->buf))
          fail(x, "placement differs from %s: offset %td vs %td (kind %d, size %zu)", y->a->name,
               res[i] ? res[i] - x->buf : (ptrdiff_t)-1, res[j] ? res[j] - y->buf : (ptrdiff_t)-1, (int)o.kind, o.n);
        if (res[i] && x->a->usable_size(x->h, res[i]) != y->a->usable_size(y->h, res[j]))
          fail(x, "usable size %zu differs from %s's %zu", x->a->usable_size(x->h, res[i]), y->a->name,
               y->a->usable_size(y->h, res[j]));
      }
    if (op_no % 16 == 0)
      for (size_t i = 0; i < ninst; i++) {
        validate(&inst[i], "every 16th op");
        verify_all(&inst[i], "every 16th op");
      }
  }
  for (size_t i = 0; i < ninst; i++) {
    inst_t *d = &inst[i];
    validate(d, "the last op");
    verify_all(d, "the last op");
    for (int s = 0; s < NSLOT; s++)
      if (d->slot[s].p) d->a->free(d->h, d->slot[s].p);
    validate(d, "freeing every block");
    d->a->destroy(d->h);
    space_destroy(&d->space);
  }
  return 0;
}
