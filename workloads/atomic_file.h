/* atomic_file.h: writing a result file all or nothing.
 *
 * A file is written under a temporary name in the directory of its final
 * name (".NAME.XXXXXX", mode 0644), and renamed onto the final name only
 * by tb_atomic_commit, after its data was flushed and synced: a reader
 * sees the old file or the whole new one, never a part. Any failure, and
 * tb_atomic_abort, removes the temporary: no partial file is left, and an
 * old file of the final name stays as it was. The temporary is registered
 * with tmpfiles.h while it exists, so a signal that ends the process
 * removes it too.
 *
 * Every result file of the testbed (trace files, results.csv and
 * meta.json, record's traces) is written this way. Several files that
 * must appear together (a run set's pair, record's traces) are each
 * finished with tb_atomic_finish first, then committed one after the
 * other; the caller undoes the committed ones if a later one fails.
 *
 *   tb_atomic_t a;
 *   FILE *f = tb_atomic_open("dir/out.csv", &a);  // NULL: errno says why
 *   fprintf(f, ...);
 *   if (tb_atomic_commit(&a)) ...  // -1, errno: nothing was left behind
 *   // or tb_atomic_abort(&a) on any error of the caller
 */
#ifndef TB_ATOMIC_FILE_H
#define TB_ATOMIC_FILE_H

#include <stdio.h>

typedef struct tb_atomic_s {
  char *path; /* the final name (a copy) */
  char *tmp;  /* the temporary name; NULL once renamed or removed */
  FILE *f;    /* the stream; NULL once finished */
  int err;    /* the first error seen (errno value), 0 while all is well */
} tb_atomic_t;

/* Create the temporary for path and return its stream ("w", binary safe),
 * or NULL with errno set (nothing is left; a is then as after abort). */
FILE *tb_atomic_open(const char *path, tb_atomic_t *a);

/* Flush, sync and close the stream, keeping the temporary (idempotent).
 * 0, or -1 with errno set: then the temporary is removed. */
int tb_atomic_finish(tb_atomic_t *a);

/* Finish (when not yet), then rename the temporary onto the final name.
 * 0, or -1 with errno set: the temporary is removed, the final name is
 * untouched. a's names are freed either way. */
int tb_atomic_commit(tb_atomic_t *a);

/* Close and remove the temporary; nothing when already committed or
 * aborted (safe to call twice, and after a failed open). */
void tb_atomic_abort(tb_atomic_t *a);

#endif
