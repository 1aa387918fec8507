/* ms_walk.c: a small known program for the memsim analytic tests
 * (memsim_analytic.sh), built for x86_64 and aarch64 and run under qemu
 * with the memsim plugin. It speaks the marker protocol itself
 * (harness/measure/memsim/markers.h): the counted window holds only its
 * walk, in program mode, with one pass before the window to warm the
 * caches and no other access between that pass and the counted ones.
 *
 *   ms_walk walk BYTES STRIDE PASSES seq|perm
 *       one byte load every STRIDE bytes of a 1 MiB-aligned area of BYTES,
 *       in address order (seq) or in the order k*A mod n (perm, A odd: a
 *       fixed scattered order), PASSES times
 *   ms_walk cross BYTES PASSES
 *       an 8-byte load at offset 60 of every 128 bytes: each one covers the
 *       last 4 bytes of one line and the first 4 of the next
 *   ms_walk vec BYTES PASSES
 *       a 16-byte vector load (movdqu, ldr q) at the start of every line
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "markers.h"

static volatile uint64_t *mk;

static void mk_call(long op) { syscall(TB_MK_SYSCALL, op, (long)(uintptr_t)mk, 0, 0); }

/* The same syscall without libc (which would store errno): no memory
 * access at all between the warm-up pass and the counted passes. */
static inline void mk_raw(long op) {
#if defined(__x86_64__)
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "0"((long)TB_MK_SYSCALL), "D"(op) : "rcx", "r11", "memory");
#else
  register long x8 __asm__("x8") = TB_MK_SYSCALL;
  register long x0 __asm__("x0") = op;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8) : "memory");
#endif
}

/* Each walk sets program mode itself, after its prologue and before its
 * epilogue, so that only its loop is charged to the program (the call's
 * return address and saved registers are not). */
#define PROGRAM() do { __asm__ volatile("" ::: "memory"); mp[TB_MODE_PROGRAM] = 0; __asm__ volatile("" ::: "memory"); } while (0)
#define HARNESS() do { __asm__ volatile("" ::: "memory"); mp[TB_MODE_HARNESS] = 0; __asm__ volatile("" ::: "memory"); } while (0)

static __attribute__((noinline)) uint64_t walk(volatile uint64_t *mp, const volatile unsigned char *a, size_t n,
                                              size_t stride, int passes, int perm) {
  uint64_t s = 0;
  PROGRAM();
  for (int p = 0; p <= passes; p++) {
    if (p == 1) mk_raw(TB_MK_WINDOW_BEGIN);
    for (size_t i = 0; i < n; i++) s += a[(perm ? (i * 0x9e3779b1u) & (n - 1) : i) * stride];
  }
  mk_raw(TB_MK_WINDOW_END);
  HARNESS();
  return s;
}

static __attribute__((noinline)) uint64_t cross(volatile uint64_t *mp, const unsigned char *a, size_t n, int passes) {
  uint64_t s = 0;
  PROGRAM();
  for (int p = 0; p <= passes; p++) {
    if (p == 1) mk_raw(TB_MK_WINDOW_BEGIN);
    for (size_t i = 0; i < n; i++) {
      uint64_t v;
      __asm__ volatile(
#if defined(__x86_64__)
          "movq (%1), %0"
#else
          "ldr %0, [%1]"
#endif
          : "=r"(v)
          : "r"(a + i * 128 + 60)
          : "memory");
      s += v;
    }
  }
  mk_raw(TB_MK_WINDOW_END);
  HARNESS();
  return s;
}

static __attribute__((noinline)) void vec(volatile uint64_t *mp, const unsigned char *a, size_t n, int passes) {
  PROGRAM();
  for (int p = 0; p <= passes; p++) {
    if (p == 1) mk_raw(TB_MK_WINDOW_BEGIN);
    for (size_t i = 0; i < n; i++)
#if defined(__x86_64__)
      __asm__ volatile("movdqu (%0), %%xmm0" : : "r"(a + i * 64) : "xmm0", "memory");
#else
      __asm__ volatile("ldr q0, [%0]" : : "r"(a + i * 64) : "v0", "memory");
#endif
  }
  mk_raw(TB_MK_WINDOW_END);
  HARNESS();
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ms_walk walk BYTES STRIDE PASSES seq|perm | cross BYTES PASSES | vec BYTES PASSES\n");
    return 2;
  }
  size_t bytes = strtoull(argv[2], NULL, 10);
  void *m = mmap(NULL, TB_MK_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  size_t align = 1u << 20;
  unsigned char *raw = mmap(NULL, bytes + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED || raw == MAP_FAILED) return 2;
  unsigned char *a = (unsigned char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
  memset(a, 1, bytes);
  mk = m;
  mk_call(TB_MK_HELLO);
  /* everything parsed before the marks: only the walk runs in program mode */
  int kind = !strcmp(argv[1], "walk") && argc == 6 ? 0 : !strcmp(argv[1], "cross") && argc == 4 ? 1
             : !strcmp(argv[1], "vec") && argc == 4 ? 2 : -1;
  if (kind < 0) return 2;
  int cpasses = atoi(argv[kind ? 3 : 4]);
  size_t stride = kind == 0 ? strtoull(argv[3], NULL, 10) : 64;
  int perm = kind == 0 && !strcmp(argv[5], "perm");
  uint64_t s = 0;
  /* one pass to warm up, then the counted passes (the window is marked inside the walk) */
  if (kind == 0) s = walk(mk, a, bytes / stride, stride, cpasses, perm);
  else if (kind == 1) s = cross(mk, a, bytes / 128, cpasses);
  else vec(mk, a, bytes / 64, cpasses);
  return kind != 2 && s == 0 ? 3 : 0; /* the loads were made */
}
