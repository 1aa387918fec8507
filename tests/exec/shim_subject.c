/* shim_subject.c: a program run with a libtb-<design>.so preloaded by
 * test_shim.c. argv[1] names what it does; it exits 0 when everything it
 * checked held, and prints the first thing that did not to stderr. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c)                                                         \
  do {                                                                   \
    if (!(c)) {                                                          \
      fprintf(stderr, "shim_subject: %s:%d: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                           \
    }                                                                    \
  } while (0)

extern void *__libc_malloc(size_t);

static void fill(unsigned char *p, size_t n, unsigned s) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 31 + s);
}
static int same(const unsigned char *p, size_t n, unsigned s) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(i * 31 + s)) return 0;
  return 1;
}

/* Every function of the family, with glibc's documented answers. */
static int family(void) {
  void *p = malloc(0);
  CHECK(p);
  free(p);
  free(NULL);
  unsigned char *a = malloc(100);
  CHECK(a && ((uintptr_t)a & 15) == 0 && malloc_usable_size(a) >= 100);
  fill(a, 100, 1);
  unsigned char *b = realloc(a, 5000);
  CHECK(b && same(b, 100, 1));
  b = realloc(b, 50);
  CHECK(b && same(b, 50, 1));
  CHECK(realloc(b, 0) == NULL);
  unsigned char *c = calloc(1000, 3);
  CHECK(c);
  for (int i = 0; i < 3000; i++) CHECK(c[i] == 0);
  free(c);
  volatile size_t huge = SIZE_MAX / 2; /* not a constant: no compile-time warning */
  errno = 0;
  CHECK(calloc(huge, 3) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(reallocarray(NULL, huge, 3) == NULL && errno == ENOMEM);
  void *r = reallocarray(NULL, 10, 10);
  CHECK(r && malloc_usable_size(r) >= 100);
  free(r);
  for (size_t al = 16; al <= ((size_t)1 << 20); al <<= 1) {
    void *m = memalign(al, 77);
    CHECK(m && ((uintptr_t)m & (al - 1)) == 0);
    void *q = aligned_alloc(al, 3 * al);
    CHECK(q && ((uintptr_t)q & (al - 1)) == 0);
    void *s = NULL;
    CHECK(posix_memalign(&s, al, 1000) == 0 && s && ((uintptr_t)s & (al - 1)) == 0);
    fill(q, 3 * al, 2);
    free(m);
    free(q);
    free(s);
  }
  void *s = (void *)1;
  CHECK(posix_memalign(&s, 24, 10) == EINVAL && s == (void *)1);
  errno = 0;
  CHECK(aligned_alloc(24, 10) == NULL && errno == EINVAL);
  void *m = memalign(48, 10); /* rounded up to 64, as glibc does */
  CHECK(m && ((uintptr_t)m & 63) == 0);
  free(m);
  long pg = sysconf(_SC_PAGESIZE);
  void *v = valloc(10), *pv = pvalloc(pg + 1);
  CHECK(v && ((uintptr_t)v % (uintptr_t)pg) == 0);
  CHECK(pv && ((uintptr_t)pv % (uintptr_t)pg) == 0 && malloc_usable_size(pv) >= (size_t)(2 * pg));
  free(v);
  free(pv);
  /* a large block (straight from the system) */
  unsigned char *big = malloc(3 << 20);
  CHECK(big);
  fill(big, 3 << 20, 3);
  big = realloc(big, 5 << 20);
  CHECK(big && same(big, 3 << 20, 3) && malloc_usable_size(big) >= (5u << 20));
  free(big);
  CHECK(malloc_trim(0) == 0);
  struct mallinfo2 mi = mallinfo2();
  CHECK(mi.arena > 0);
  /* strdup and friends inside libc come here too */
  char *d = strdup("hello");
  CHECK(d && malloc_usable_size(d) >= 6);
  free(d);
  return 0;
}

/* C++ operator new/delete (libstdc++) go through the family. */
static int cxx(void) {
  void *lib = dlopen("libstdc++.so.6", RTLD_NOW);
  if (!lib) {
    printf("skip: no libstdc++.so.6\n");
    return 0;
  }
  void *(*nw)(size_t) = (void *(*)(size_t))dlsym(lib, "_Znwm");
  void (*del)(void *) = (void (*)(void *))dlsym(lib, "_ZdlPv");
  void *(*nwa)(size_t, size_t) = (void *(*)(size_t, size_t))dlsym(lib, "_ZnwmSt11align_val_t");
  void (*dela)(void *, size_t) = (void (*)(void *, size_t))dlsym(lib, "_ZdlPvSt11align_val_t");
  CHECK(nw && del && nwa && dela);
  void *p = nw(100);
  CHECK(p && malloc_usable_size(p) >= 100); /* a foreign pointer would abort here */
  free(p);
  p = malloc(200);
  del(p);
  p = nwa(1000, 4096);
  CHECK(p && ((uintptr_t)p & 4095) == 0 && malloc_usable_size(p) >= 1000);
  dela(p, 4096);
  return 0;
}

static void *worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void *keep[64] = {0};
  for (int i = 0; i < 20000; i++) {
    seed = seed * 1103515245u + 12345u;
    int k = (int)((seed >> 16) % 64);
    if (keep[k]) {
      CHECK(same(keep[k], 16, k));
      free(keep[k]);
      keep[k] = NULL;
    } else {
      size_t n = 16 + (seed >> 8) % 2000;
      keep[k] = (seed & 1) ? malloc(n) : calloc(1, n);
      CHECK(keep[k]);
      fill(keep[k], 16, (unsigned)k);
    }
  }
  for (int k = 0; k < 64; k++) free(keep[k]);
  return NULL;
}

/* Four threads allocating at once, and a block freed by another thread. */
static int threads(void) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
  for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], NULL) == 0);
  return 0;
}

static void *spinner(void *arg) {
  volatile int *stop = arg;
  while (!*stop) free(malloc(64));
  return NULL;
}

/* fork while other threads allocate: the child can allocate. */
static int forks(void) {
  volatile int stop = 0;
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, spinner, (void *)&stop) == 0);
  for (int i = 0; i < 20; i++) {
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
      for (int k = 0; k < 1000; k++) free(malloc((size_t)k + 1));
      void *p = malloc(1 << 20);
      _exit(p ? 0 : 3);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  stop = 1;
  for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
  return 0;
}

static void *late;
static void at_end(void) {
  void *p = malloc(1000); /* after main returned */
  CHECK(p);
  free(late);
  free(p);
  printf("after main\n");
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "family";
  if (!strcmp(m, "family")) return family();
  if (!strcmp(m, "cxx")) return cxx();
  if (!strcmp(m, "threads")) return threads();
  if (!strcmp(m, "fork")) return forks();
  if (!strcmp(m, "atexit")) {
    late = malloc(100);
    atexit(at_end);
    return 0;
  }
  if (!strcmp(m, "foreign")) { /* a block the library did not hand out */
    void *p = __libc_malloc(48);
    printf("%p\n", p);
    fflush(stdout);
    free(p);
    return 0;
  }
  if (!strcmp(m, "foreign-quiet")) { /* the same, output the same on every run */
    void *p = __libc_malloc(48);
    free(p);
    return 0;
  }
  if (!strcmp(m, "foreign-realloc")) {
    static char buf[64];
    printf("%p\n", (void *)(buf + 16));
    fflush(stdout);
    char *volatile q = buf + 16; /* hidden from the compiler's checks */
    return realloc(q, 100) != NULL;
  }
  if (!strcmp(m, "double-free")) {
    void *p = malloc(40), *q = malloc(40);
    printf("%p\n", p);
    fflush(stdout);
    void *volatile again = p;
    free(p);
    free(again);
    free(q);
    return 0;
  }
  if (!strcmp(m, "stats")) { /* known counts: 1000 mallocs and frees of our own */
    for (int i = 0; i < 1000; i++) {
      void *volatile p = malloc(24);
      free(p);
    }
    return 0;
  }
  fprintf(stderr, "shim_subject: unknown mode %s\n", m);
  return 2;
}
