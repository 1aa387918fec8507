/* fuzz_util.c: scratch files for the fuzz targets (tb_fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_fuzz.h"

static char paths[8][512];
static int npaths;

static void cleanup(void) {
  for (int i = 0; i < npaths; i++) {
    unlink(paths[i]);
    /* what a trace writer may leave beside it after a crash is the crash's */
  }
}

const char *tb_fuzz_path(const char *tag) {
  static const char *tags[8];
  int n = npaths;
  if (n == 0) atexit(cleanup);
  for (int i = 0; i < n; i++)
    if (!strcmp(tags[i], tag)) return paths[i];
  if (n == 8) abort();
  struct stat st;
  const char *dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  snprintf(paths[n], sizeof paths[n], "%s/tbfuzz.%ld.%s", dir, (long)getpid(), tag);
  tags[n] = tag;
  npaths = n + 1;
  return paths[n];
}

void tb_fuzz_put(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
    perror(path);
    abort();
  }
}
