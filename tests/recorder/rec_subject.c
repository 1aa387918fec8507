/* rec_subject.c: the program tests/recorder records. It makes a known
 * sequence of allocator calls (no stdio, which would add its own), so the
 * test can compare the trace with what the program did.
 *
 *   rec_subject basic   fixed single-thread sequence, then 4 threads with
 *                       1000 malloc/free pairs each (sizes 10000*(t+1)+i%100),
 *                       one object (4242 B) malloc'd by main and freed by
 *                       thread 0, then a fork whose child mallocs and frees
 *                       777 B and leaves with _exit.
 *   rec_subject texit   main mallocs 500 x 3333 B (kept in its buffer), a
 *                       thread mallocs 100 x 5555 B and calls exit() while
 *                       main waits: nothing may be lost.
 *   rec_subject exec    mallocs 200 x 2222 B, then execs itself as
 *                       `rec_subject after`, which mallocs 300 x 1111 B.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <malloc.h>

static void *volatile sink; /* keeps the compiler from removing calls */
static void *shared;

static void *worker(void *arg) {
  uintptr_t t = (uintptr_t)arg;
  for (int i = 0; i < 1000; i++) {
    void *p = malloc(10000 * (t + 1) + (size_t)(i % 100));
    sink = p;
    free(p);
  }
  if (t == 0) free(shared); /* cross-thread free */
  return NULL;
}

static void basic(void) {
  void *p1 = malloc(100);
  void *p2 = calloc(10, 30);
  void *p3 = realloc(p1, 1000);
  void *p4 = NULL;
  if (posix_memalign(&p4, 64, 200)) _exit(3);
  void *p5 = aligned_alloc(256, 512);
  sink = p2;
  sink = p4;
  sink = p5;
  free(p2);
  void *p6 = realloc(NULL, 50);
  sink = p6;
  sink = realloc(p6, 0); /* glibc: frees, returns NULL */
  void *p7 = memalign(4096, 10);
  sink = p7;
  free(p3);
  free(p4);
  free(p5);
  free(p7);
  free(NULL); /* not a call the trace sees */

  shared = malloc(4242);
  pthread_t th[4];
  for (uintptr_t t = 0; t < 4; t++)
    if (pthread_create(&th[t], NULL, worker, (void *)t)) _exit(4);
  for (int t = 0; t < 4; t++) pthread_join(th[t], NULL);

  pid_t c = fork();
  if (c == 0) {
    void *q = malloc(777);
    sink = q;
    free(q);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
}

static void *exiter(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) sink = malloc(5555);
  exit(0);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  if (!strcmp(argv[1], "basic")) {
    basic();
  } else if (!strcmp(argv[1], "texit")) {
    for (int i = 0; i < 500; i++) sink = malloc(3333);
    pthread_t th;
    if (pthread_create(&th, NULL, exiter, NULL)) return 4;
    pthread_join(th, NULL); /* never returns: the thread exits the process */
    return 5;
  } else if (!strcmp(argv[1], "exec")) {
    for (int i = 0; i < 200; i++) sink = malloc(2222);
    char *args[] = {argv[0], "after", NULL};
    execv("/proc/self/exe", args);
    return 6;
  } else if (!strcmp(argv[1], "after")) {
    for (int i = 0; i < 300; i++) sink = malloc(1111);
  } else {
    return 2;
  }
  return 0;
}
