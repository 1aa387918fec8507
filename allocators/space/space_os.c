/* space_os.c: the thin OS layer under the space layer: the POSIX mmap
 * family behind space_os_t, and a failure-injecting wrapper for tests. */
#include "space.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

/* The page size: sysconf's, or $TB_SPACE_PAGE_SIZE when that is a power of
 * two multiple of it (the memsim backend sets it in a simulated run so the
 * space commits in the page size its TLBs model, e.g. 64 KiB on a 4 KiB
 * host). */
size_t space_system_page_size(void) {
  static _Atomic size_t cached;
  size_t p = atomic_load_explicit(&cached, memory_order_relaxed);
  if (p == 0) {
    long v = sysconf(_SC_PAGESIZE);
    p = v > 0 ? (size_t)v : 4096u;
    const char *e = getenv("TB_SPACE_PAGE_SIZE");
    if (e && *e) {
      char *end;
      unsigned long long o = strtoull(e, &end, 10);
      if (!*end && o >= p && !(o & (o - 1)) && o <= ((size_t)1 << 30)) p = (size_t)o;
    }
    atomic_store_explicit(&cached, p, memory_order_relaxed);
  }
  return p;
}

static void *sys_reserve(void *ctx, size_t size) {
  (void)ctx;
  size_t page = space_system_page_size();
  long v = sysconf(_SC_PAGESIZE);
  size_t os_page = v > 0 ? (size_t)v : 4096u;
  size_t extra = page > os_page ? page - os_page : 0; /* room to align the base to a larger page */
  if (size > SIZE_MAX - extra) return NULL;
  void *p = mmap(NULL, size + extra, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if (extra) {
    uintptr_t a = (uintptr_t)p, b = (a + page - 1) & ~(uintptr_t)(page - 1);
    if (b > a) munmap(p, b - a);
    if (a + extra > b) munmap((void *)(b + size), a + extra - b);
    p = (void *)b;
  }
  return p;
}

static int sys_commit(void *ctx, void *addr, size_t size) {
  (void)ctx;
  return mprotect(addr, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

static int sys_decommit(void *ctx, void *addr, size_t size) {
  (void)ctx;
  /* Remapping PROT_NONE over the range drops the pages and the commit
   * charge in one call, and keeps the reservation. */
  void *p = mmap(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  return p == MAP_FAILED ? errno : 0;
}

static int sys_release(void *ctx, void *addr, size_t size) {
  (void)ctx;
  return munmap(addr, size) == 0 ? 0 : errno;
}

static void *sys_map(void *ctx, size_t size) {
  (void)ctx;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static size_t sys_page_size(void *ctx) {
  (void)ctx;
  return space_system_page_size();
}

const space_os_t space_os_system = {
    sys_reserve, sys_commit, sys_decommit, sys_release, sys_map, sys_page_size, NULL,
};

/* ---- failure injection ---------------------------------------------------- */

static bool take(space_os_failing_t *f, long *left) {
  if (*left < 0) return true;
  if (*left == 0) {
    f->failures++;
    return false;
  }
  (*left)--;
  return true;
}

static void *fail_reserve(void *ctx, size_t size) {
  space_os_failing_t *f = ctx;
  return take(f, &f->reserves_left) ? f->inner->reserve(f->inner->ctx, size) : NULL;
}
static int fail_commit(void *ctx, void *addr, size_t size) {
  space_os_failing_t *f = ctx;
  return take(f, &f->commits_left) ? f->inner->commit(f->inner->ctx, addr, size) : ENOMEM;
}
static int fail_decommit(void *ctx, void *addr, size_t size) {
  space_os_failing_t *f = ctx;
  return f->inner->decommit(f->inner->ctx, addr, size);
}
static int fail_release(void *ctx, void *addr, size_t size) {
  space_os_failing_t *f = ctx;
  return f->inner->release(f->inner->ctx, addr, size);
}
static void *fail_map(void *ctx, size_t size) {
  space_os_failing_t *f = ctx;
  return take(f, &f->maps_left) ? f->inner->map(f->inner->ctx, size) : NULL;
}
static size_t fail_page_size(void *ctx) {
  space_os_failing_t *f = ctx;
  return f->inner->page_size(f->inner->ctx);
}

void space_os_failing_init(space_os_failing_t *f, const space_os_t *inner) {
  f->inner = inner ? inner : &space_os_system;
  f->commits_left = f->reserves_left = f->maps_left = -1;
  f->failures = 0;
  f->os = (space_os_t){fail_reserve, fail_commit, fail_decommit, fail_release,
                       fail_map,     fail_page_size, f};
}
