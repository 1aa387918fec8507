/* tmpfiles.h: temporary files and directories that an interrupted process
 * removes. Whatever writes under a temporary name and renames at the end
 * (trace writers, results, record's raw logs) registers the name; when
 * SIGINT, SIGTERM or SIGHUP ends the process, a handler unlinks every
 * registered file and removes every registered (empty) directory, then the
 * signal takes its default action, so the exit status still says which
 * signal it was. The handler is installed at the first registration, and
 * only for signals whose action is the default (an ignored SIGHUP under
 * nohup stays ignored). A name is forgotten once renamed or removed.
 * A child process that writes into a registered directory is named with
 * tb_tmp_child: the handler first passes the signal on to it and waits for
 * it to end, so the child's files are gone (or left to this process's
 * cleanup) before the directory is removed.
 */
#ifndef TB_TMPFILES_H
#define TB_TMPFILES_H

#include <stdbool.h>
#include <sys/types.h>

/* Remember path (a file, or an empty directory when dir). 0, or -1 when
 * the table (64 names) is full: the name is then not cleaned up. */
int tb_tmp_register(const char *path, bool dir);
/* Forget path (NULL: nothing). */
void tb_tmp_forget(const char *path);
/* The child to pass a signal on to and wait for before the cleanup (0:
 * none); one at a time. */
void tb_tmp_child(pid_t pid);

#endif
