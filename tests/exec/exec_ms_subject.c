/* exec_ms_subject.c: a small real program for `testbed exec --backend
 * memsim` (exec_memsim.sh): a list of blocks allocated, grown with
 * realloc, walked and freed, in the process and in a forked child; prints
 * a checksum (the same on every allocator). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct node {
  struct node *next;
  size_t n;
  unsigned char *data;
} node_t;

static unsigned long work(unsigned seed, int count) {
  node_t *head = NULL;
  unsigned long sum = 0;
  for (int i = 0; i < count; i++) {
    node_t *x = malloc(sizeof *x);
    if (!x) exit(2);
    x->n = 16 + (size_t)((i * 37u + seed) % 200);
    x->data = malloc(x->n);
    if (!x->data) exit(2);
    memset(x->data, (int)(i & 0xff), x->n);
    if (i % 5 == 0) {
      unsigned char *d = realloc(x->data, x->n * 3);
      if (!d) exit(2);
      x->data = d;
    }
    x->next = head;
    head = x;
  }
  while (head) {
    node_t *x = head;
    head = x->next;
    sum += x->n + x->data[0];
    free(x->data);
    free(x);
  }
  return sum;
}

int main(void) {
  unsigned long s = work(1, 3000);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    printf("child %lu\n", work(2, 2000));
    fflush(stdout);
    _exit(0);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) return 1;
  printf("parent %lu\n", s);
  return 0;
}
