/* tmpfiles.h: temporary files and directories that an interrupted process
 * removes. Whatever writes under a temporary name and renames at the end
 * (trace writers, results, record's raw logs) registers the name; when
 * SIGINT, SIGTERM or SIGHUP ends the process, a handler unlinks every
 * registered file and removes every registered (empty) directory, then the
 * signal takes its default action, so the exit status still says which
 * signal it was. The handler is installed at the first registration, and
 * only for signals whose action is the default (an ignored SIGHUP under
 * nohup stays ignored). A name is forgotten once renamed or removed.
 */
#ifndef TB_TMPFILES_H
#define TB_TMPFILES_H

#include <stdbool.h>

/* Remember path (a file, or an empty directory when dir). 0, or -1 when
 * the table (64 names) is full: the name is then not cleaned up. */
int tb_tmp_register(const char *path, bool dir);
/* Forget path (NULL: nothing). */
void tb_tmp_forget(const char *path);

#endif
