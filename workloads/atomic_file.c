/* atomic_file.c: write to a temporary, sync, rename (see atomic_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "tmpfiles.h"

static void release(tb_atomic_t *a) {
  free(a->path);
  free(a->tmp);
  a->path = a->tmp = NULL;
  a->f = NULL;
}

FILE *tb_atomic_open(const char *path, tb_atomic_t *a) {
  memset(a, 0, sizeof *a);
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) + 1 : 0, n = strlen(path);
  if (n == dl) { /* "dir/": no file name */
    errno = EISDIR;
    return NULL;
  }
  a->path = strdup(path);
  a->tmp = malloc(n + 9);
  if (!a->path || !a->tmp) {
    release(a);
    errno = ENOMEM;
    return NULL;
  }
  /* dir/.NAME.XXXXXX: same directory (rename stays in one file system) */
  memcpy(a->tmp, path, dl);
  a->tmp[dl] = '.';
  memcpy(a->tmp + dl + 1, path + dl, n - dl);
  memcpy(a->tmp + n + 1, ".XXXXXX", 8);
  int fd = mkstemp(a->tmp);
  if (fd < 0) {
    int e = errno;
    release(a);
    errno = e;
    return NULL;
  }
  tb_tmp_register(a->tmp, false);
  fchmod(fd, 0644);
  if (!(a->f = fdopen(fd, "w"))) {
    int e = errno;
    close(fd);
    tb_atomic_abort(a);
    errno = e;
    return NULL;
  }
  return a->f;
}

int tb_atomic_finish(tb_atomic_t *a) {
  if (!a->tmp) { /* aborted, committed or a failed open */
    errno = a->err ? a->err : EBADF;
    return -1;
  }
  if (a->f) {
    FILE *f = a->f;
    a->f = NULL;
    errno = 0;
    if (fflush(f) != 0 && !a->err) a->err = errno ? errno : EIO; /* a failed write fails again here, with its errno */
    if (ferror(f) && !a->err) a->err = EIO;
    if (!a->err && fsync(fileno(f)) != 0 && errno != EINVAL && errno != ENOTSUP) a->err = errno;
    if (fclose(f) != 0 && !a->err) a->err = errno ? errno : EIO;
  }
  if (a->err) {
    int e = a->err;
    tb_atomic_abort(a);
    errno = e;
    return -1;
  }
  return 0;
}

int tb_atomic_commit(tb_atomic_t *a) {
  if (tb_atomic_finish(a)) {
    int e = errno;
    release(a);
    errno = e;
    return -1;
  }
  if (rename(a->tmp, a->path) != 0) {
    int e = errno;
    tb_atomic_abort(a);
    release(a);
    errno = e;
    return -1;
  }
  tb_tmp_forget(a->tmp);
  /* The rename itself reaches the disk with the directory (best effort). */
  char *slash = strrchr(a->path, '/');
  if (slash) *slash = 0;
  int dfd = open(slash ? (*a->path ? a->path : "/") : ".", O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  release(a);
  return 0;
}

void tb_atomic_abort(tb_atomic_t *a) {
  if (a->f) fclose(a->f);
  a->f = NULL;
  if (a->tmp) {
    unlink(a->tmp);
    tb_tmp_forget(a->tmp);
  }
  int e = a->err;
  release(a);
  a->err = e;
}
