/* tb_cli.h: what a `testbed` subcommand looks like. run() gets argv with
 * the subcommand name as argv[0]; it returns the process exit status
 * (0 success, 1 failure while working, 2 bad usage or bad input). */
#ifndef TB_CLI_H
#define TB_CLI_H

typedef struct tb_command_s {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} tb_command_t;

#endif
