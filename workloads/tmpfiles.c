/* tmpfiles.c: removing temporary names when a signal ends the process
 * (see tmpfiles.h). The table is fixed (no allocation) and the handler
 * calls only async-signal-safe functions (kill, waitpid, unlink, rmdir,
 * signal, raise). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmpfiles.h"

#define NSLOTS 64

static struct {
  char path[PATH_MAX];
  bool dir;
  atomic_int used; /* 1 while path is registered (set after path is written) */
} slots[NSLOTS];

static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
static atomic_int child; /* tb_tmp_child's pid, 0: none */

static void on_signal(int sig) {
  pid_t c = (pid_t)atomic_load_explicit(&child, memory_order_acquire);
  if (c > 0 && kill(c, sig) == 0)
    while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {}
  for (int pass = 0; pass < 2; pass++) /* files first, then the directories they were in */
    for (int i = NSLOTS - 1; i >= 0; i--)
      if (atomic_load_explicit(&slots[i].used, memory_order_acquire) == 1 && slots[i].dir == (pass == 1)) {
        if (pass == 0) unlink(slots[i].path);
        else rmdir(slots[i].path);
      }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install(void) {
  static atomic_int done;
  if (atomic_exchange(&done, 1)) return;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old, sa;
    if (sigaction(sigs[i], NULL, &old) || old.sa_handler != SIG_DFL) continue;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t j = 0; j < sizeof sigs / sizeof sigs[0]; j++) sigaddset(&sa.sa_mask, sigs[j]);
    sigaction(sigs[i], &sa, NULL);
  }
}

int tb_tmp_register(const char *path, bool dir) {
  if (!path || strlen(path) >= PATH_MAX) return -1;
  install();
  for (int i = 0; i < NSLOTS; i++) {
    int zero = 0;
    /* claim the slot with a value the handler ignores (2), fill it, publish it (1) */
    if (atomic_compare_exchange_strong(&slots[i].used, &zero, 2)) {
      strcpy(slots[i].path, path);
      slots[i].dir = dir;
      atomic_store_explicit(&slots[i].used, 1, memory_order_release);
      return 0;
    }
  }
  return -1;
}

void tb_tmp_forget(const char *path) {
  if (!path) return;
  for (int i = 0; i < NSLOTS; i++)
    if (atomic_load_explicit(&slots[i].used, memory_order_acquire) == 1 && !strcmp(slots[i].path, path)) {
      atomic_store_explicit(&slots[i].used, 0, memory_order_release);
      return;
    }
}

void tb_tmp_child(pid_t pid) { atomic_store_explicit(&child, (int)pid, memory_order_release); }
