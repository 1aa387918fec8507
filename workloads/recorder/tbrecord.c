/* tbrecord.c: libtbrecord.so, the allocation recorder. Preloaded
 * (LD_PRELOAD) into a dynamically linked program, it interposes malloc,
 * calloc, realloc, free, memalign, posix_memalign, aligned_alloc, valloc,
 * pvalloc and malloc_usable_size, forwards each to the next definition
 * (glibc's, found with dlsym(RTLD_NEXT)) and logs the call into a
 * per-thread buffer; full buffers are appended to the process image's raw
 * log $TB_RECORD_DIR/raw.<pid>.<k> (format: tbrecord_raw.h). Without
 * TB_RECORD_DIR it only forwards.
 *
 * Why it is safe:
 *   - bootstrap: calls made before the real functions are known (or by
 *     dlsym while we look them up) are served from a static arena and not
 *     logged; free() of an arena block is ignored.
 *   - it never calls malloc itself: buffers come from mmap, file names and
 *     numbers are formatted by hand, libc calls that might allocate
 *     (pthread_setspecific, pthread_atfork, dlsym) run with the thread's
 *     re-entry flag set, so their allocations are forwarded unlogged.
 *   - exit from any thread: the destructor flushes every thread's buffer
 *     (each under its own lock, so a thread still appending is safe) and
 *     switches the process to direct mode, where each later record is
 *     written at once. A thread flushes its own buffer when it exits
 *     (pthread key destructor) and gives the buffer back for reuse;
 *     _exit/_Exit and the exec family flush before they leave.
 *   - fork: the child drops the parent's unflushed records (the parent
 *     writes them), resets every buffer lock and opens its own log.
 *   - exec: the new image is preloaded again (LD_PRELOAD stays in the
 *     environment) and opens a new log raw.<pid>.<k+1>.
 * Not covered: a process killed by a signal loses its unflushed buffers;
 * raw system calls (clone without exec, syscall(SYS_exit)) bypass us.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tbrecord_raw.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- the real functions -------------------------------------------------- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);
static size_t (*real_usable_size)(void *);

/* ---- bootstrap arena: serves calls made before the real ones are known --- */

#define BOOT_SIZE (64u * 1024u)
static _Alignas(64) unsigned char boot_arena[BOOT_SIZE];
static _Atomic size_t boot_used;

static bool in_boot(const void *p) {
  return (const unsigned char *)p >= boot_arena && (const unsigned char *)p < boot_arena + BOOT_SIZE;
}

/* Each arena block has its size in the 16 bytes before it. */
static void *boot_alloc(size_t size, size_t align) {
  if (align < 16) align = 16;
  if (size > BOOT_SIZE) return NULL;
  size_t cur = atomic_load_explicit(&boot_used, memory_order_relaxed);
  for (;;) {
    size_t start = (cur + 16 + align - 1) & ~(align - 1);
    size_t end = start + ((size + 15) & ~(size_t)15);
    if (end > BOOT_SIZE) return NULL;
    if (atomic_compare_exchange_weak_explicit(&boot_used, &cur, end, memory_order_relaxed, memory_order_relaxed)) {
      *(size_t *)(void *)(boot_arena + start - 16) = size;
      return boot_arena + start; /* static storage: already zero */
    }
  }
}

static size_t boot_size(const void *p) { return *(const size_t *)(const void *)((const unsigned char *)p - 16); }

/* ---- state ---------------------------------------------------------------- */

#define BUF_BYTES (128u * 1024u)

/* A thread's buffer. The owner appends at recs[count] and publishes with a
 * release store of count; a flush (owner when full, or anyone at exit)
 * holds `lock` and writes recs[done, count). Only the owner resets count
 * and done to 0, under the lock. Buffers are never unmapped: a thread
 * that exits hands its buffer to the next new thread. */
typedef struct tbuf_s {
  _Atomic uint32_t count;
  uint32_t done;
  _Atomic int lock;
  _Atomic int in_use;
  struct tbuf_s *next; /* registry list, push-only */
  tb_raw_rec_t recs[];
} tbuf_t;

#define BUF_CAP ((BUF_BYTES - sizeof(tbuf_t)) / sizeof(tb_raw_rec_t))

static _Atomic int init_state; /* 0 not yet, 1 in progress, 2 done */
static bool enabled;           /* TB_RECORD_DIR set: log */
static char log_dir[512];
static _Atomic uint64_t g_seq;
static _Atomic uint32_t g_threads;
static _Atomic(tbuf_t *) g_bufs;
static _Atomic int g_direct; /* after the final flush: write each record at once */
static _Atomic int g_lock;   /* the log file: open and write */
static int g_fd = -1;
static uint32_t g_image;
static long g_page = 4096;
static pid_t g_pid; /* the process whose memory this is; a vfork child shares it */
static pthread_key_t g_key;
static bool g_key_ok;

static TLS int t_in;           /* re-entry: inside our own work, forward unlogged */
static TLS int t_exited;       /* past this thread's key destructor */
static TLS tbuf_t *t_buf;
static TLS uint32_t t_thread;
static TLS int t_numbered;     /* t_thread is assigned */

static void spin_lock(_Atomic int *l) {
  while (atomic_exchange_explicit(l, 1, memory_order_acquire)) {
    while (atomic_load_explicit(l, memory_order_relaxed)) {
    }
  }
}
static void spin_unlock(_Atomic int *l) { atomic_store_explicit(l, 0, memory_order_release); }

/* ---- the log file --------------------------------------------------------- */

static char *put_str(char *d, const char *end, const char *s) {
  while (*s && d < end) *d++ = *s++;
  return d;
}
static char *put_u(char *d, const char *end, unsigned long v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n && d < end) *d++ = tmp[--n];
  return d;
}

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* disk full or the like: nothing sensible to do inside malloc */
    }
    c += w;
    n -= (size_t)w;
  }
}

/* Open raw.<pid>.<k> with the first free k. Called with g_lock held. */
static void open_log(void) {
  if (g_fd >= 0 || !enabled) return;
  int saved = errno;
  pid_t pid = getpid();
  for (uint32_t k = 0; k < 1000; k++) {
    char path[640];
    char *end = path + sizeof path - 1, *d = path;
    d = put_str(d, end, log_dir);
    d = put_str(d, end, "/raw.");
    d = put_u(d, end, (unsigned long)pid);
    d = put_str(d, end, ".");
    d = put_u(d, end, k);
    *d = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      break;
    }
    tb_raw_header_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, TB_RAW_MAGIC, 8);
    h.version = TB_RAW_VERSION;
    h.rec_size = sizeof(tb_raw_rec_t);
    h.pid = (uint32_t)pid;
    h.ppid = (uint32_t)getppid();
    h.image = k;
    h.page_size = (uint32_t)g_page;
    ssize_t n = readlink("/proc/self/exe", h.exe, sizeof h.exe - 1);
    if (n < 0) h.exe[0] = 0;
    write_all(fd, &h, sizeof h);
    g_fd = fd;
    g_image = k;
    break;
  }
  errno = saved;
}

static void file_write(const void *p, size_t n) {
  int saved = errno;
  spin_lock(&g_lock);
  open_log();
  if (g_fd >= 0) write_all(g_fd, p, n);
  spin_unlock(&g_lock);
  errno = saved;
}

/* Write out what is published in b and not yet written. */
static void flush_buf(tbuf_t *b, bool owner_reset) {
  spin_lock(&b->lock);
  uint32_t n = atomic_load_explicit(&b->count, memory_order_acquire);
  if (n > b->done) file_write(&b->recs[b->done], (size_t)(n - b->done) * sizeof(tb_raw_rec_t));
  b->done = n;
  if (owner_reset) {
    b->done = 0;
    atomic_store_explicit(&b->count, 0, memory_order_relaxed);
  }
  spin_unlock(&b->lock);
}

static void flush_all(void) {
  for (tbuf_t *b = atomic_load_explicit(&g_bufs, memory_order_acquire); b; b = b->next) flush_buf(b, false);
}

/* ---- threads ------------------------------------------------------------ */

static void thread_gone(void *arg) {
  tbuf_t *b = arg;
  t_in++;
  flush_buf(b, true);
  t_buf = NULL;
  t_exited = 1; /* later calls of this thread go straight to the file */
  atomic_store_explicit(&b->in_use, 0, memory_order_release);
  t_in--;
}

static tbuf_t *get_buf(void) {
  tbuf_t *b;
  for (b = atomic_load_explicit(&g_bufs, memory_order_acquire); b; b = b->next) {
    int zero = 0;
    if (atomic_load_explicit(&b->in_use, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong_explicit(&b->in_use, &zero, 1, memory_order_acquire, memory_order_relaxed))
      break;
  }
  if (!b) {
    void *m = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    b = m;
    atomic_store_explicit(&b->in_use, 1, memory_order_relaxed);
    tbuf_t *head = atomic_load_explicit(&g_bufs, memory_order_relaxed);
    do {
      b->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&g_bufs, &head, b, memory_order_release, memory_order_relaxed));
  }
  /* A reused buffer was flushed and reset by its previous owner. */
  if (!t_numbered) {
    t_thread = atomic_fetch_add_explicit(&g_threads, 1, memory_order_relaxed);
    t_numbered = 1;
  }
  t_buf = b;
  if (g_key_ok) pthread_setspecific(g_key, b); /* may calloc: t_in is set by our caller */
  return b;
}

/* ---- logging ------------------------------------------------------------ */

static inline uint8_t log2_up(size_t a) {
  uint8_t l = 0;
  while (l < 63 && ((size_t)1 << l) < a) l++;
  return l;
}

/* seq: the record's sequence number, taken by the caller (before a release,
 * after an acquisition: see tbrecord_raw.h). */
static inline uint64_t next_seq(void) { return atomic_fetch_add_explicit(&g_seq, 1, memory_order_relaxed); }

static void log_rec(uint64_t seq, uint8_t op, const void *ptr, const void *old, size_t size, uint8_t align) {
  t_in++;
  tbuf_t *b = t_buf;
  if (!b && !t_exited && !atomic_load_explicit(&g_direct, memory_order_relaxed)) b = get_buf();
  tb_raw_rec_t r = {seq, (uint64_t)(uintptr_t)ptr, (uint64_t)(uintptr_t)old, (uint64_t)size, 0, op, align, 0};
  if (!b || atomic_load_explicit(&g_direct, memory_order_relaxed)) {
    if (!t_numbered) {
      t_thread = atomic_fetch_add_explicit(&g_threads, 1, memory_order_relaxed);
      t_numbered = 1;
    }
    r.thread = t_thread;
    file_write(&r, sizeof r);
    t_in--;
    return;
  }
  r.thread = t_thread;
  uint32_t n = atomic_load_explicit(&b->count, memory_order_relaxed);
  if (n == BUF_CAP) {
    flush_buf(b, true);
    n = 0;
  }
  b->recs[n] = r;
  atomic_store_explicit(&b->count, n + 1, memory_order_release);
  t_in--;
}

#define RECORDING() (enabled && !t_in)

/* ---- fork, exit, exec --------------------------------------------------- */

static void fork_prepare(void) { spin_lock(&g_lock); }
static void fork_parent(void) { spin_unlock(&g_lock); }
static void fork_child(void) {
  /* Only the forking thread lives on. Its own and every other buffer's
   * unflushed records belong to the parent, which writes them. */
  for (tbuf_t *b = atomic_load_explicit(&g_bufs, memory_order_relaxed); b; b = b->next) {
    atomic_store_explicit(&b->lock, 0, memory_order_relaxed);
    atomic_store_explicit(&b->count, 0, memory_order_relaxed);
    b->done = 0;
    if (b != t_buf) atomic_store_explicit(&b->in_use, 0, memory_order_relaxed);
  }
  if (g_fd >= 0) close(g_fd);
  g_fd = -1;
  g_pid = getpid();
  spin_unlock(&g_lock);
}

/* A vfork child (same memory, its own file table) must not touch the
 * parent's buffers or log: the parent writes them itself. */
static bool is_owner(void) { return getpid() == g_pid; }

static void final_flush(void) {
  if (!is_owner()) return;
  t_in++;
  flush_all();
  atomic_store_explicit(&g_direct, 1, memory_order_release);
  flush_all(); /* whatever was appended while the first pass ran */
  t_in--;
}

/* ---- initialisation ----------------------------------------------------- */

static void resolve(void) {
  real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
  real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
  real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
  real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
  real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
  real_valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
  real_pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
  real_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
}

/* Returns true once the real functions are usable; false while this thread
 * is resolving them (its calls then go to the arena). */
static bool ready(void) {
  int s = atomic_load_explicit(&init_state, memory_order_acquire);
  if (s == 2) return true;
  if (t_in) return false; /* our own lookups: serve from the arena */
  int zero = 0;
  if (atomic_compare_exchange_strong_explicit(&init_state, &zero, 1, memory_order_acq_rel, memory_order_acquire)) {
    int saved = errno;
    t_in++;
    resolve();
    long pg = sysconf(_SC_PAGESIZE);
    if (pg > 0) g_page = pg;
    const char *dir = getenv("TB_RECORD_DIR");
    if (dir && *dir && strlen(dir) < sizeof log_dir) {
      memcpy(log_dir, dir, strlen(dir) + 1);
      enabled = true;
    }
    g_pid = getpid();
    if (enabled) {
      g_key_ok = pthread_key_create(&g_key, thread_gone) == 0;
      pthread_atfork(fork_prepare, fork_parent, fork_child);
      /* Every recorded image has a log, even one that never allocates. */
      spin_lock(&g_lock);
      open_log();
      spin_unlock(&g_lock);
    }
    t_in--;
    errno = saved;
    atomic_store_explicit(&init_state, 2, memory_order_release);
    return true;
  }
  while (atomic_load_explicit(&init_state, memory_order_acquire) != 2) {
  }
  return true;
}

__attribute__((constructor)) static void tbrecord_init(void) { (void)ready(); }
__attribute__((destructor)) static void tbrecord_fini(void) {
  if (enabled) final_flush();
}

/* ---- the interposed functions ------------------------------------------- */

EXPORT void *malloc(size_t size) {
  if (!ready()) return boot_alloc(size, 16);
  void *p = real_malloc(size);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_MALLOC, p, NULL, size, 0);
  return p;
}

EXPORT void *calloc(size_t nmemb, size_t size) {
  if (!ready()) {
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) return NULL;
    return boot_alloc(total, 16);
  }
  void *p = real_calloc(nmemb, size);
  if (RECORDING()) {
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) total = SIZE_MAX;
    log_rec(next_seq(), TB_RAW_CALLOC, p, NULL, total, 0);
  }
  return p;
}

EXPORT void free(void *p) {
  if (!p || in_boot(p)) return;
  if (!ready()) return; /* cannot happen: p came from somewhere real */
  if (RECORDING()) log_rec(next_seq(), TB_RAW_FREE, p, NULL, 0, 0);
  real_free(p);
}

EXPORT void *realloc(void *old, size_t size) {
  if (in_boot(old)) { /* an arena block moves to the real heap (or the arena) */
    void *p = malloc(size);
    if (p) {
      size_t n = boot_size(old);
      memcpy(p, old, n < size ? n : size);
    }
    return p;
  }
  if (!ready()) return old ? NULL : boot_alloc(size, 16);
  if (RECORDING() && old && size == 0) {
    /* glibc frees here: take the seq first, as for free */
    uint64_t s = next_seq();
    void *p = real_realloc(old, size);
    log_rec(s, TB_RAW_REALLOC, p, old, size, 0);
    return p;
  }
  void *p = real_realloc(old, size);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_REALLOC, p, old, size, 0);
  return p;
}

EXPORT void *memalign(size_t align, size_t size) {
  if (!ready()) return boot_alloc(size, align);
  void *p = real_memalign(align, size);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_MEMALIGN, p, NULL, size, log2_up(align));
  return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t size) {
  if (!ready()) {
    void *p = boot_alloc(size, align);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
  }
  int rc = real_posix_memalign(out, align, size);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_POSIX_MEMALIGN, rc == 0 ? *out : NULL, NULL, size, log2_up(align));
  return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t size) {
  if (!ready()) return boot_alloc(size, align);
  void *p = real_aligned_alloc(align, size);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_ALIGNED_ALLOC, p, NULL, size, log2_up(align));
  return p;
}

EXPORT void *valloc(size_t size) {
  if (!ready()) return boot_alloc(size, (size_t)g_page);
  void *p = real_valloc(size);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_VALLOC, p, NULL, size, log2_up((size_t)g_page));
  return p;
}

EXPORT void *pvalloc(size_t size) {
  if (!ready()) return boot_alloc(size, (size_t)g_page);
  void *p = real_pvalloc(size);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_PVALLOC, p, NULL, size, log2_up((size_t)g_page));
  return p;
}

EXPORT size_t malloc_usable_size(void *p) {
  if (!p) return 0;
  if (in_boot(p)) return boot_size(p);
  if (!ready()) return 0;
  size_t n = real_usable_size(p);
  if (RECORDING()) log_rec(next_seq(), TB_RAW_USABLE_SIZE, p, NULL, n, 0);
  return n;
}

/* ---- process exit and exec: flush first ------------------------------- */

EXPORT void _exit(int status) {
  static void (*real)(int);
  if (enabled) final_flush();
  if (!real) real = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
  real(status);
  __builtin_unreachable();
}

EXPORT void _Exit(int status) { _exit(status); }

/* Before an exec replaces the image, write everything (the records would
 * be lost otherwise; destructors do not run on exec). If exec fails we go
 * on recording through the buffers as before. */
static void before_exec(void) {
  if (!enabled || !is_owner()) return;
  t_in++;
  flush_all();
  t_in--;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  before_exec();
  return REAL("execve", int (*)(const char *, char *const[], char *const[]))(path, argv, envp);
}
EXPORT int execv(const char *path, char *const argv[]) {
  before_exec();
  return REAL("execv", int (*)(const char *, char *const[]))(path, argv);
}
EXPORT int execvp(const char *file, char *const argv[]) {
  before_exec();
  return REAL("execvp", int (*)(const char *, char *const[]))(file, argv);
}
EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  before_exec();
  return REAL("execvpe", int (*)(const char *, char *const[], char *const[]))(file, argv, envp);
}
EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  before_exec();
  return REAL("fexecve", int (*)(int, char *const[], char *const[]))(fd, argv, envp);
}

/* The execl family: count the arguments, build argv on the stack. */
#define COLLECT_ARGS(arg0, ap, argv, extra)                    \
  size_t n_ = 1;                                                \
  va_start(ap, arg0);                                           \
  while (va_arg(ap, const char *)) n_++;                        \
  va_end(ap);                                                   \
  char *argv[n_ + 1];                                           \
  va_start(ap, arg0);                                           \
  argv[0] = (char *)arg0;                                       \
  for (size_t i_ = 1; i_ <= n_; i_++) argv[i_] = va_arg(ap, char *); \
  extra;                                                        \
  va_end(ap)

EXPORT int execl(const char *path, const char *arg, ...) {
  va_list ap;
  COLLECT_ARGS(arg, ap, argv, (void)0);
  return execv(path, argv);
}
EXPORT int execlp(const char *file, const char *arg, ...) {
  va_list ap;
  COLLECT_ARGS(arg, ap, argv, (void)0);
  return execvp(file, argv);
}
EXPORT int execle(const char *path, const char *arg, ...) {
  va_list ap;
  char *const *envp;
  COLLECT_ARGS(arg, ap, argv, envp = va_arg(ap, char *const *));
  return execve(path, argv, envp);
}
