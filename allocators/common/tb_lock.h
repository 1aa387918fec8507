/* tb_lock.h: the heap lock of TB_MODE_LOCKED heaps.
 *
 * A test-and-test-and-set spin lock on C11 atomics: acquire ordering when
 * taken, release ordering when dropped, so it is correct on ARM's weak
 * memory model as well as on x86. While waiting it spins on a relaxed load
 * with the CPU's spin hint (guarded per architecture), then yields.
 *
 * Like glibc, a locked heap skips the lock while the process has a single
 * thread (glibc's __libc_single_threaded, where the C library has it):
 * no other thread can then be inside the heap, and pthread_create orders
 * everything before it with the new thread. The flag never goes back to
 * true in glibc once a thread was created, so replays with threads always
 * lock. tb_lock_force_always() turns the skip off (measurements of the
 * lock's own cost).
 */
#ifndef TB_LOCK_H
#define TB_LOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define TB_HAVE_SINGLE_THREADED 1
#endif
#endif

typedef struct tb_lock_s {
  atomic_int held; /* 0 free, 1 held */
} tb_lock_t;

#define TB_LOCK_INIT {0}

extern atomic_bool tb_lock_always; /* set by tb_lock_force_always() */
void tb_lock_force_always(bool on);

static inline void tb_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* True when the lock may be skipped (process is single-threaded). */
static inline bool tb_lock_skippable(void) {
#ifdef TB_HAVE_SINGLE_THREADED
  return __libc_single_threaded && !atomic_load_explicit(&tb_lock_always, memory_order_relaxed);
#else
  return false;
#endif
}

static inline void tb_lock_acquire(tb_lock_t *l) {
  for (;;) {
    if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire)) return;
    for (unsigned spins = 0; atomic_load_explicit(&l->held, memory_order_relaxed); spins++) {
      if (spins < 64)
        tb_cpu_relax();
      else
        sched_yield();
    }
  }
}

static inline void tb_lock_release(tb_lock_t *l) {
  atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* Lock a heap for one call: returns whether the lock was taken, to be
 * handed to tb_heap_unlock. Single-threaded heaps touch no atomics. */
static inline bool tb_heap_lock(tb_lock_t *l, bool locked_mode) {
  if (!locked_mode || tb_lock_skippable()) return false;
  tb_lock_acquire(l);
  return true;
}

static inline void tb_heap_unlock(tb_lock_t *l, bool taken) {
  if (taken) tb_lock_release(l);
}

#endif /* TB_LOCK_H */
