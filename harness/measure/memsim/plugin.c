/* plugin.c: memsim, a data cache and data TLB simulator as a QEMU TCG plugin
 * (plugin API version 1, qemu-user 7.2), loaded by the memsim backend
 * (harness/measure/memsim.c) into qemu-x86_64 or qemu-aarch64.
 *
 * Model (README.md in harness/measure has the full statement):
 *   - every guest data access (loads and stores alike) of every guest
 *     thread, from the process's first instruction, goes through
 *     L1D -> L2 -> L3 (when configured) and L1 DTLB -> L2 TLB;
 *   - L1D, L2 and both TLBs are private to a guest thread (QEMU vcpu), the
 *     L3 is shared by all (under a mutex);
 *   - set-associative, true LRU in every level, write-allocate; a miss in
 *     one level is looked up in the next and fills every level it missed
 *     in (no back-invalidation: non-inclusive, non-exclusive);
 *   - an access that crosses a line (page) boundary looks up every line
 *     (page) it covers; each one that misses is a miss;
 *   - QEMU splits 16- and 32-byte vector accesses into 8-byte pieces; each
 *     piece is one access, and a piece that falls in the line (page) the
 *     thread's previous lookup found is a hit without a lookup (under LRU
 *     that line is its set's most recent, so a second lookup could only
 *     hit): lines are never counted twice;
 *   - only accesses between the WINDOW_BEGIN and WINDOW_END markers are
 *     counted, by the thread's mode (markers.h) and by the data region of
 *     the address (accesses and misses alike; a thread keeps the interval
 *     of its last lookup, so most accesses need no search).
 *   - no prefetchers, no instruction fetches, no kernel accesses, no
 *     coherence traffic between the private caches.
 *
 * Arguments (qemu -plugin libtb_memsim.so,KEY=VALUE,...):
 *   out=FILE            where the counts go, written at exit
 *   l1d=SIZE:WAYS:LINE  also l2=, l3= (optional); WAYS 0 = fully associative
 *   tlb1=ENTRIES:WAYS   L1 DTLB, tlb2= L2 TLB (both optional)
 *   page=BYTES          the page size the TLBs translate
 *
 *   window=all          count every access of the process (no markers: testbed
 *                       exec); default: between the window markers
 *   code=LO-HI:PATH     (repeatable, up to 8) attribution by code address: an
 *                       access made by an instruction in [base+LO, base+HI)
 *                       (hex) of the file PATH, where base is the address the
 *                       guest mapped PATH's offset 0 at (a shared library
 *                       loaded by the guest's ld.so), is the allocator's,
 *                       every other access the program's; the marker stores
 *                       are then ignored
 *   pidout=1            write to out.PID (the process's pid): a forked child
 *                       writes its own file, with its counts from the fork on
 *
 * Output (text, one record a line): "memsim 1", "target NAME", "vcpus N",
 * "windows BEGUN ENDED", "markers 0|1", "simulated N" (every access
 * simulated, counted or not), then "count MODE EVENT N" and
 * "region MODE REGION EVENT N" for every mode, region and event.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qemu-plugin.h>

#include "markers.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* ---- LRU sets ---------------------------------------------------------------
 * A level is `sets` sets of `ways` keys (line or page numbers), each set
 * kept in recency order (most recent first, EMPTY in unused ways). A
 * fully associative level of more than FA_LINEAR ways (the DTLBs, and the
 * TLBs of unknown associativity) is a hash table over an LRU list instead:
 * a linear search of 64 ways on every page change cost more than the rest
 * of the simulation. */
#define EMPTY UINT64_MAX
#define FA_LINEAR 16

typedef struct {
  uint64_t key;
  uint32_t prev, next;
} fa_node_t;

typedef struct {
  uint64_t *key;     /* sets * ways, recency order per set */
  uint64_t sets, ways, mask; /* mask: sets - 1 when sets is a power of two, else 0 */
  bool pow2;
  /* big fully associative */
  fa_node_t *node;   /* ways nodes; node[head] most recent */
  uint32_t *hash;    /* hsize slots of node index + 1, 0 = free */
  uint32_t hsize, head, tail, used;
} lru_t;

static uint32_t hslot(const lru_t *c, uint64_t k) {
  k *= 0x9e3779b97f4a7c15ull;
  return (uint32_t)(k >> 32) & (c->hsize - 1);
}

static int lru_init(lru_t *c, uint64_t entries, uint64_t ways) {
  memset(c, 0, sizeof *c);
  if (ways == 0 || ways > entries) ways = entries;
  if (entries == 0 || entries % ways) return -1;
  c->ways = ways;
  c->sets = entries / ways;
  c->pow2 = (c->sets & (c->sets - 1)) == 0;
  c->mask = c->pow2 ? c->sets - 1 : 0;
  if (c->sets == 1 && ways > FA_LINEAR) {
    c->node = calloc(ways, sizeof *c->node);
    for (c->hsize = 1; c->hsize < 2 * ways; c->hsize <<= 1) {}
    c->hash = calloc(c->hsize, sizeof *c->hash);
    c->head = c->tail = UINT32_MAX;
    return c->node && c->hash ? 0 : -1;
  }
  c->key = malloc(entries * sizeof *c->key);
  if (!c->key) return -1;
  for (uint64_t i = 0; i < entries; i++) c->key[i] = EMPTY;
  return 0;
}

#define NONE UINT32_MAX

static void fa_unlink(lru_t *c, uint32_t i) {
  fa_node_t *n = &c->node[i];
  if (n->prev == NONE) c->head = n->next; else c->node[n->prev].next = n->next;
  if (n->next == NONE) c->tail = n->prev; else c->node[n->next].prev = n->prev;
}

static void fa_push_front(lru_t *c, uint32_t i) {
  c->node[i].prev = NONE;
  c->node[i].next = c->head;
  if (c->head == NONE) c->tail = i; else c->node[c->head].prev = i;
  c->head = i;
}

/* Remove key from the hash (linear probing, backward-shift deletion). */
static void fa_hash_del(lru_t *c, uint64_t key) {
  uint32_t m = c->hsize - 1, i = hslot(c, key);
  while (c->hash[i] && c->node[c->hash[i] - 1].key != key) i = (i + 1) & m;
  if (!c->hash[i]) return;
  uint32_t j = i;
  for (;;) {
    c->hash[i] = 0;
    for (;;) {
      j = (j + 1) & m;
      if (!c->hash[j]) return;
      uint32_t h = hslot(c, c->node[c->hash[j] - 1].key);
      /* move j back to i unless its home lies cyclically in (i, j] */
      if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) break;
    }
    c->hash[i] = c->hash[j];
    i = j;
  }
}

static bool fa_access(lru_t *c, uint64_t key) {
  uint32_t m = c->hsize - 1, i = hslot(c, key);
  while (c->hash[i]) {
    uint32_t n = c->hash[i] - 1;
    if (c->node[n].key == key) {
      if (c->head != n) {
        fa_unlink(c, n);
        fa_push_front(c, n);
      }
      return true;
    }
    i = (i + 1) & m;
  }
  uint32_t n;
  if (c->used < c->ways) {
    n = c->used++;
  } else {
    n = c->tail; /* least recent: evict */
    fa_hash_del(c, c->node[n].key);
    fa_unlink(c, n);
    /* the probe chain may have changed: find a free slot again */
    i = hslot(c, key);
    while (c->hash[i]) i = (i + 1) & m;
  }
  c->node[n].key = key;
  fa_push_front(c, n);
  c->hash[i] = n + 1;
  return false;
}

/* Look key up; true on a hit. Either way key becomes its set's most recent. */
static inline bool lru_access(lru_t *c, uint64_t key) {
  if (c->node) return fa_access(c, key);
  uint64_t set = c->pow2 ? key & c->mask : key % c->sets;
  uint64_t *s = c->key + set * c->ways;
  if (s[0] == key) return true;
  uint64_t w = c->ways, i = 1;
  if (w < 2) { /* direct mapped */
    s[0] = key;
    return false;
  }
  while (i < w && s[i] != key) i++;
  bool hit = i < w;
  if (!hit) i = w - 1; /* the least recent way is replaced */
  for (; i > 0; i--) s[i] = s[i - 1]; /* ways are few: a loop beats a call to memmove */
  s[0] = key;
  return hit;
}

/* ---- configuration ----------------------------------------------------------- */

enum { EV_ACC, EV_L1, EV_L2, EV_L3, EV_T1, EV_T2, NEV };
static const char *const ev_name[NEV] = {"accesses", "l1d_misses", "l2_misses", "l3_misses", "dtlb_misses",
                                         "l2tlb_misses"};
static const char *const mode_name[TB_NMODES] = {"harness", "allocator", "program"};
static const char *const region_name[TB_NREGIONS] = {"other", "blocks", "harness", "stack", "meta", "desc"};

typedef struct {
  uint64_t size, ways, line; /* size 0: absent */
} level_cfg_t;

static struct {
  level_cfg_t l1, l2, l3, t1, t2; /* for TLBs size = entries */
  uint64_t page;
  unsigned line_shift, page_shift;
  char out[1024];
  bool aarch64;
  bool window_all, pidout;
} cfg;

/* Attribution by code (code=): the files, their ranges relative to the load
 * base, and the ranges in the guest once the file is mapped (0 before). */
#define MAX_CODE 8
typedef struct {
  char path[1024];
  uint64_t lo, hi;
  _Atomic uint64_t glo, ghi;
} code_t;
static code_t code[MAX_CODE];
static unsigned ncode;

static unsigned log2u(uint64_t v) {
  unsigned s = 0;
  while ((1ull << s) < v) s++;
  return s;
}

static bool parse_level(const char *v, level_cfg_t *l, bool tlb) {
  unsigned long long a, b, c = 0;
  int n = tlb ? sscanf(v, "%llu:%llu", &a, &b) : sscanf(v, "%llu:%llu:%llu", &a, &b, &c);
  if (n != (tlb ? 2 : 3) || a == 0) return false;
  l->size = a;
  l->ways = b;
  l->line = tlb ? 1 : c;
  return tlb || (c && !(c & (c - 1)) && a % c == 0);
}

/* ---- per-thread state ---------------------------------------------------------- */

typedef struct {
  lru_t l1, l2, t1, t2;
  uint64_t last_line, last_page; /* most recent L1 line and L1 DTLB page looked up */
  unsigned mode;
  uint64_t simulated;
  uint64_t n[TB_NMODES][NEV];
  uint64_t rg[TB_NMODES][TB_NREGIONS][NEV];
  uint64_t rg_lo, rg_hi, rg_gen; /* the interval (or gap) of the last region lookup, at generation rg_gen */
  unsigned rg_kind;
  int64_t sys_num; /* the syscall in flight and its arguments */
  uint64_t sys_a1, sys_a2, sys_a3, sys_a4, sys_a5, sys_a6;
} vcpu_t;

#define MAX_VCPUS 1024
static _Atomic(vcpu_t *) vcpus[MAX_VCPUS];
static pthread_mutex_t vcpu_lock = PTHREAD_MUTEX_INITIALIZER;

static lru_t l3;
static bool have_l3;
static pthread_mutex_t l3_lock = PTHREAD_MUTEX_INITIALIZER;

static _Atomic uint64_t marker = 1; /* not page-aligned: matches no page until HELLO */
static atomic_bool counting;
static atomic_uint windows_begun, windows_ended;
static atomic_bool vcpu_overflow;

/* ---- regions: sorted disjoint intervals, under a rwlock ---------------------------- */

typedef struct {
  uint64_t lo, hi;
  unsigned kind;
} interval_t;

static interval_t *iv;
static size_t niv, capiv;
static pthread_rwlock_t iv_lock = PTHREAD_RWLOCK_INITIALIZER;
static uint64_t cur_brk;
static _Atomic uint64_t iv_gen = 1; /* bumped by every change of the intervals */

/* The kind of a's interval; *plo, *phi: that interval, or the gap around a
 * (kind OTHER). */
static unsigned region_find(uint64_t a, uint64_t *plo, uint64_t *phi) {
  unsigned k = TB_RG_OTHER;
  uint64_t glo = 0, ghi = UINT64_MAX;
  pthread_rwlock_rdlock(&iv_lock);
  size_t lo = 0, hi = niv;
  while (lo < hi) {
    size_t m = (lo + hi) / 2;
    if (iv[m].hi <= a) lo = m + 1, glo = iv[m].hi;
    else if (iv[m].lo > a) hi = m, ghi = iv[m].lo;
    else {
      k = iv[m].kind;
      glo = iv[m].lo, ghi = iv[m].hi;
      break;
    }
  }
  pthread_rwlock_unlock(&iv_lock);
  *plo = glo, *phi = ghi;
  return k;
}

static unsigned region_of(uint64_t a) {
  uint64_t lo, hi;
  return region_find(a, &lo, &hi);
}

/* region_of through the thread's one-interval cache: accesses mostly stay
 * in the interval of the previous one. */
static inline unsigned region_v(vcpu_t *v, uint64_t a) {
  uint64_t g = atomic_load_explicit(&iv_gen, memory_order_acquire);
  if (g == v->rg_gen && a >= v->rg_lo && a < v->rg_hi) return v->rg_kind;
  v->rg_kind = region_find(a, &v->rg_lo, &v->rg_hi);
  v->rg_gen = g;
  return v->rg_kind;
}

/* [lo, hi) becomes kind; what it overlaps is cut away. */
static void region_set(uint64_t lo, uint64_t hi, unsigned kind) {
  if (lo >= hi || kind >= TB_NREGIONS) return;
  pthread_rwlock_wrlock(&iv_lock);
  if (niv + 2 > capiv) {
    size_t nc = capiv ? capiv * 2 : 64;
    interval_t *n = realloc(iv, nc * sizeof *n);
    if (!n) {
      pthread_rwlock_unlock(&iv_lock);
      return;
    }
    iv = n;
    capiv = nc;
  }
  interval_t *out = malloc((niv + 2) * sizeof *out);
  if (!out) {
    pthread_rwlock_unlock(&iv_lock);
    return;
  }
  size_t k = 0;
  bool placed = false;
  for (size_t i = 0; i < niv; i++) {
    interval_t c = iv[i];
    if (c.hi <= lo || c.lo >= hi) {
      if (!placed && c.lo >= hi) {
        out[k++] = (interval_t){lo, hi, kind};
        placed = true;
      }
      out[k++] = c;
      continue;
    }
    if (c.lo < lo) out[k++] = (interval_t){c.lo, lo, c.kind};
    if (!placed) {
      out[k++] = (interval_t){lo, hi, kind};
      placed = true;
    }
    if (c.hi > hi) out[k++] = (interval_t){hi, c.hi, c.kind};
  }
  if (!placed) out[k++] = (interval_t){lo, hi, kind};
  if (k > capiv) { /* cannot happen: each interval splits into at most 2 plus the new one once */
    free(out);
    pthread_rwlock_unlock(&iv_lock);
    return;
  }
  memcpy(iv, out, k * sizeof *out);
  niv = k;
  atomic_fetch_add_explicit(&iv_gen, 1, memory_order_release);
  free(out);
  pthread_rwlock_unlock(&iv_lock);
}

/* ---- the simulation ------------------------------------------------------------------ */

static vcpu_t *vcpu_new(void) {
  vcpu_t *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  if (lru_init(&v->l1, cfg.l1.size / cfg.l1.line, cfg.l1.ways) ||
      (cfg.l2.size && lru_init(&v->l2, cfg.l2.size / cfg.l2.line, cfg.l2.ways)) ||
      (cfg.t1.size && lru_init(&v->t1, cfg.t1.size, cfg.t1.ways)) ||
      (cfg.t2.size && lru_init(&v->t2, cfg.t2.size, cfg.t2.ways)))
    return NULL;
  v->last_line = v->last_page = EMPTY;
  return v;
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int idx) {
  if (idx >= MAX_VCPUS) {
    atomic_store(&vcpu_overflow, true);
    return;
  }
  pthread_mutex_lock(&vcpu_lock);
  if (!atomic_load_explicit(&vcpus[idx], memory_order_acquire)) {
    vcpu_t *v = vcpu_new();
    if (!v) {
      fprintf(stderr, "memsim: out of memory for the caches of guest thread %u\n", idx);
      abort();
    }
    atomic_store_explicit(&vcpus[idx], v, memory_order_release);
  }
  pthread_mutex_unlock(&vcpu_lock);
}

/* One line through L1 -> L2 -> L3. */
static inline void cache_line(vcpu_t *v, uint64_t line, bool cnt, uint64_t addr) {
  if (line == v->last_line) return;
  v->last_line = line;
  if (lru_access(&v->l1, line)) return;
  int lvl = EV_L1;
  if (cfg.l2.size && !lru_access(&v->l2, line)) {
    lvl = EV_L2;
    if (have_l3) {
      pthread_mutex_lock(&l3_lock);
      bool hit = lru_access(&l3, line);
      pthread_mutex_unlock(&l3_lock);
      if (!hit) lvl = EV_L3;
    }
  }
  if (!cnt) return;
  unsigned r = region_v(v, addr);
  for (int e = EV_L1; e <= lvl; e++) {
    v->n[v->mode][e]++;
    v->rg[v->mode][r][e]++;
  }
}

static inline void tlb_page(vcpu_t *v, uint64_t page, bool cnt, uint64_t addr) {
  if (page == v->last_page) return;
  v->last_page = page;
  if (lru_access(&v->t1, page)) return;
  int lvl = EV_T1;
  if (cfg.t2.size && !lru_access(&v->t2, page)) lvl = EV_T2;
  if (!cnt) return;
  unsigned r = region_v(v, addr);
  for (int e = EV_T1; e <= lvl; e++) {
    v->n[v->mode][e]++;
    v->rg[v->mode][r][e]++;
  }
}

static void mem_cb(unsigned int idx, qemu_plugin_meminfo_t info, uint64_t va, void *ud) {
  if (idx >= MAX_VCPUS) return;
  vcpu_t *v = atomic_load_explicit(&vcpus[idx], memory_order_acquire);
  if (!v) return;
  if (ud) v->mode = (unsigned)((uintptr_t)ud - 1); /* attribution by code: fixed per instruction */
  uint64_t mk = atomic_load_explicit(&marker, memory_order_relaxed);
  if ((va & ~(uint64_t)(TB_MK_PAGE - 1)) == mk) {
    unsigned m = (unsigned)((va - mk) >> 3);
    if (qemu_plugin_mem_is_store(info) && m < TB_NMODES) v->mode = m;
    return;
  }
  uint64_t size = 1ull << qemu_plugin_mem_size_shift(info);
  bool cnt = atomic_load_explicit(&counting, memory_order_relaxed);
  v->simulated++;
  if (cnt) {
    v->n[v->mode][EV_ACC]++;
    v->rg[v->mode][region_v(v, va)][EV_ACC]++;
  }
  uint64_t end = va + size - 1;
  for (uint64_t l = va >> cfg.line_shift, le = end >> cfg.line_shift; l <= le; l++)
    cache_line(v, l, cnt, l == va >> cfg.line_shift ? va : l << cfg.line_shift);
  if (cfg.t1.size)
    for (uint64_t p = va >> cfg.page_shift, pe = end >> cfg.page_shift; p <= pe; p++)
      tlb_page(v, p, cnt, p == va >> cfg.page_shift ? va : p << cfg.page_shift);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    void *ud = NULL;
    if (ncode) { /* the mode, as 1 + TB_MODE_*, for every access of this instruction */
      uint64_t pc = qemu_plugin_insn_vaddr(insn);
      unsigned m = TB_MODE_PROGRAM;
      for (unsigned c = 0; c < ncode; c++)
        if (pc >= atomic_load_explicit(&code[c].glo, memory_order_acquire) &&
            pc < atomic_load_explicit(&code[c].ghi, memory_order_acquire))
          m = TB_MODE_ALLOC;
      ud = (void *)(uintptr_t)(m + 1);
    }
    qemu_plugin_register_vcpu_mem_cb(insn, mem_cb, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, ud);
  }
}

/* ---- syscalls: markers and the allocator's mappings ----------------------------------- */

static int64_t nr_mmap, nr_mremap, nr_brk, nr_clone, nr_clone3, nr_fork, nr_vfork;
static pid_t cur_pid;

/* An mmap of a file at offset 0: if the file is one of the code= files,
 * its ranges in the guest start at the mapping (ld.so maps a library's
 * offset 0 at its load base, with MAP_FIXED too when it first reserved an
 * aligned range). The guest's descriptors are the host's under qemu-user. */
static void code_mapped(uint64_t fd, uint64_t off, uint64_t addr) {
  if (!ncode || (int64_t)fd < 0 || off != 0) return;
  char link[64], path[1024];
  snprintf(link, sizeof link, "/proc/self/fd/%d", (int)fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return;
  path[n] = 0;
  for (unsigned c = 0; c < ncode; c++)
    if (!strcmp(path, code[c].path)) {
      atomic_store_explicit(&code[c].ghi, addr + code[c].hi, memory_order_release);
      atomic_store_explicit(&code[c].glo, addr + code[c].lo, memory_order_release);
    }
}

/* After a clone/fork that returned 0: in a new process (not a new thread)
 * the counts inherited from the parent are cleared, so each process's file
 * (pidout=1) counts its own accesses. */
static void maybe_forked(void) {
  pid_t p = getpid();
  if (p == cur_pid) return;
  cur_pid = p;
  for (unsigned i = 0; i < MAX_VCPUS; i++) {
    vcpu_t *v = atomic_load_explicit(&vcpus[i], memory_order_acquire);
    if (!v) continue;
    v->simulated = 0;
    memset(v->n, 0, sizeof v->n);
    memset(v->rg, 0, sizeof v->rg);
  }
}
#define MAP_FIXED_FLAG 0x10 /* MAP_FIXED, the same on x86_64 and aarch64 */

static void sys_cb(qemu_plugin_id_t id, unsigned int idx, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
                   uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
  vcpu_t *v = idx < MAX_VCPUS ? atomic_load_explicit(&vcpus[idx], memory_order_acquire) : NULL;
  if (v) {
    v->sys_num = num;
    v->sys_a1 = a1;
    v->sys_a2 = a2;
    v->sys_a3 = a3;
    v->sys_a4 = a4;
    v->sys_a5 = a5;
    v->sys_a6 = a6;
  }
  if (num != TB_MK_SYSCALL) return;
  switch (a1) {
  case TB_MK_HELLO:
    if (!(a2 & (TB_MK_PAGE - 1))) atomic_store(&marker, a2);
    break;
  case TB_MK_WINDOW_BEGIN:
    atomic_fetch_add(&windows_begun, 1);
    atomic_store(&counting, true);
    break;
  case TB_MK_WINDOW_END:
    atomic_store(&counting, false);
    atomic_fetch_add(&windows_ended, 1);
    break;
  case TB_MK_REGION:
    region_set(a2, a3, (unsigned)a4);
    break;
  }
}

static void sys_ret_cb(qemu_plugin_id_t id, unsigned int idx, int64_t num, int64_t ret) {
  vcpu_t *v = idx < MAX_VCPUS ? atomic_load_explicit(&vcpus[idx], memory_order_acquire) : NULL;
  if (!v || v->sys_num != num) return;
  if (ret == 0 && (num == nr_clone || num == nr_clone3 || num == nr_fork || num == nr_vfork)) maybe_forked();
  if (num == nr_mmap && ret >= 0 && (uint64_t)ret < (uint64_t)-4096) code_mapped(v->sys_a5, v->sys_a6, (uint64_t)ret);
  bool alloc = v->mode == TB_MODE_ALLOC && !ncode;
  if (num == nr_brk) {
    uint64_t old = cur_brk;
    if (ret > 0) cur_brk = (uint64_t)ret;
    if (alloc && old && cur_brk > old) region_set(old, cur_brk, TB_RG_BLOCKS);
  } else if (alloc && ret >= 0 && (uint64_t)ret < (uint64_t)-4096) {
    /* A MAP_FIXED mmap over a range already told (a space decommitting
     * pages keeps its reservation) leaves its region as it was. */
    if (num == nr_mmap && !((v->sys_a4 & MAP_FIXED_FLAG) && region_of((uint64_t)ret) != TB_RG_OTHER))
      region_set((uint64_t)ret, (uint64_t)ret + v->sys_a2, TB_RG_BLOCKS);
    else if (num == nr_mremap) region_set((uint64_t)ret, (uint64_t)ret + v->sys_a3, TB_RG_BLOCKS);
  }
}

/* ---- the output ------------------------------------------------------------------------- */

static void at_exit(qemu_plugin_id_t id, void *ud) {
  char path[1100];
  if (cfg.pidout) snprintf(path, sizeof path, "%s.%d", cfg.out, (int)getpid());
  else snprintf(path, sizeof path, "%s", cfg.out);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "memsim: cannot write %s\n", path);
    return;
  }
  uint64_t n[TB_NMODES][NEV] = {{0}}, rg[TB_NMODES][TB_NREGIONS][NEV] = {{{0}}}, sim = 0;
  unsigned nv = 0;
  for (unsigned i = 0; i < MAX_VCPUS; i++) {
    vcpu_t *v = atomic_load_explicit(&vcpus[i], memory_order_acquire);
    if (!v) continue;
    nv++;
    sim += v->simulated;
    for (int m = 0; m < TB_NMODES; m++)
      for (int e = 0; e < NEV; e++) {
        n[m][e] += v->n[m][e];
        for (int r = 0; r < TB_NREGIONS; r++) rg[m][r][e] += v->rg[m][r][e];
      }
  }
  fprintf(f, "memsim 1\ntarget %s\nvcpus %u\nvcpu_overflow %d\nwindows %u %u\nmarkers %d\nsimulated %" PRIu64 "\n",
          cfg.aarch64 ? "aarch64" : "x86_64", nv, atomic_load(&vcpu_overflow) ? 1 : 0, atomic_load(&windows_begun),
          atomic_load(&windows_ended), atomic_load(&marker) != 1, sim);
  for (int m = 0; m < TB_NMODES; m++)
    for (int e = 0; e < NEV; e++) fprintf(f, "count %s %s %" PRIu64 "\n", mode_name[m], ev_name[e], n[m][e]);
  for (int m = 0; m < TB_NMODES; m++)
    for (int r = 0; r < TB_NREGIONS; r++)
      for (int e = EV_ACC; e < NEV; e++)
        fprintf(f, "region %s %s %s %" PRIu64 "\n", mode_name[m], region_name[r], ev_name[e], rg[m][r][e]);
  fprintf(f, "end\n");
  fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  if (info->system_emulation) {
    fprintf(stderr, "memsim: qemu-user only\n");
    return -1;
  }
  if (!strcmp(info->target_name, "x86_64")) {
    nr_mmap = 9, nr_mremap = 25, nr_brk = 12, nr_clone = 56, nr_fork = 57, nr_vfork = 58, nr_clone3 = 435;
  } else if (!strcmp(info->target_name, "aarch64")) {
    nr_mmap = 222, nr_mremap = 216, nr_brk = 214, nr_clone = 220, nr_clone3 = 435, nr_fork = nr_vfork = -1;
    cfg.aarch64 = true;
  } else {
    fprintf(stderr, "memsim: target %s is not x86_64 or aarch64\n", info->target_name);
    return -1;
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    if (!eq) goto bad;
    size_t k = (size_t)(eq - a);
    const char *v = eq + 1;
    bool ok;
    if (k == 3 && !strncmp(a, "out", 3)) ok = snprintf(cfg.out, sizeof cfg.out, "%s", v) < (int)sizeof cfg.out;
    else if (k == 3 && !strncmp(a, "l1d", 3)) ok = parse_level(v, &cfg.l1, false);
    else if (k == 2 && !strncmp(a, "l2", 2)) ok = parse_level(v, &cfg.l2, false);
    else if (k == 2 && !strncmp(a, "l3", 2)) ok = parse_level(v, &cfg.l3, false);
    else if (k == 4 && !strncmp(a, "tlb1", 4)) ok = parse_level(v, &cfg.t1, true);
    else if (k == 4 && !strncmp(a, "tlb2", 4)) ok = parse_level(v, &cfg.t2, true);
    else if (k == 4 && !strncmp(a, "page", 4)) {
      char *end;
      cfg.page = strtoull(v, &end, 10);
      ok = !*end && cfg.page >= 1024 && !(cfg.page & (cfg.page - 1));
    } else if (k == 6 && !strncmp(a, "window", 6)) {
      ok = !strcmp(v, "all");
      cfg.window_all = true;
    } else if (k == 6 && !strncmp(a, "pidout", 6)) {
      ok = !strcmp(v, "1");
      cfg.pidout = true;
    } else if (k == 4 && !strncmp(a, "code", 4)) {
      unsigned long long lo, hi;
      int off = 0;
      ok = ncode < MAX_CODE && sscanf(v, "%llx-%llx:%n", &lo, &hi, &off) == 2 && off > 0 && lo < hi && v[off] == '/' &&
           snprintf(code[ncode].path, sizeof code[ncode].path, "%s", v + off) < (int)sizeof code[ncode].path;
      if (ok) code[ncode].lo = lo, code[ncode].hi = hi, ncode++;
    } else
      goto bad;
    if (!ok) goto bad;
    continue;
  bad:
    fprintf(stderr, "memsim: bad plugin argument '%s'\n", a);
    return -1;
  }
  if (!cfg.out[0] || !cfg.l1.size || (cfg.t1.size && !cfg.page) || (cfg.t2.size && !cfg.t1.size) ||
      (cfg.l3.size && !cfg.l2.size)) {
    fprintf(stderr, "memsim: needs out=, l1d= (l2= before l3=, tlb1= before tlb2=, page= with a TLB)\n");
    return -1;
  }
  if ((cfg.l2.size && cfg.l2.line != cfg.l1.line) || (cfg.l3.size && cfg.l3.line != cfg.l1.line)) {
    fprintf(stderr, "memsim: every cache level must have the same line size\n");
    return -1;
  }
  cfg.line_shift = log2u(cfg.l1.line);
  cfg.page_shift = cfg.page ? log2u(cfg.page) : 12;
  have_l3 = cfg.l3.size != 0;
  cur_pid = getpid();
  if (cfg.window_all) {
    atomic_store(&counting, true);
    atomic_store(&windows_begun, 1);
    atomic_store(&windows_ended, 1);
  }
  if (have_l3 && lru_init(&l3, cfg.l3.size / cfg.l3.line, cfg.l3.ways)) {
    fprintf(stderr, "memsim: bad l3 geometry\n");
    return -1;
  }
  /* check the private geometry once, so a bad one fails here, not in a thread */
  vcpu_t *probe = vcpu_new();
  if (!probe) {
    fprintf(stderr, "memsim: bad cache or TLB geometry\n");
    return -1;
  }
  free(probe->l1.key);
  free(probe->l2.key);
  free(probe->t1.key), free(probe->t1.node), free(probe->t1.hash);
  free(probe->t2.key), free(probe->t2.node), free(probe->t2.hash);
  free(probe);
  qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
  qemu_plugin_register_vcpu_syscall_cb(id, sys_cb);
  qemu_plugin_register_vcpu_syscall_ret_cb(id, sys_ret_cb);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
