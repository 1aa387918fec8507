/* tb_cli.h: what a `testbed` subcommand looks like, and helpers every
 * subcommand shares. run() gets argv with the subcommand name as argv[0];
 * it returns the process exit status: 0 success, 1 failure while working,
 * 2 bad usage or bad input (errors name the file and line). */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stdbool.h>

typedef struct tb_command_s {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} tb_command_t;

/* Whether argument s asks for help (-h, --help). */
bool tb_cli_is_help(const char *s);

/* Print "testbed <cmd>: <message>" to stderr; returns 2 (bad usage). */
int tb_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a whole non-negative decimal number; false if s is not one. */
bool tb_cli_parse_u64(const char *s, unsigned long long *out);

#endif
