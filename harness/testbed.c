/* testbed.c: the `testbed` command: one tool, one subcommand per task.
 * Each subcommand lives in its own file (tb_cmd_<name>) and prints its own
 * --help; this file only dispatches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_cli.h"

#include "tb_commands.inc" /* generated: one entry per harness/cmd_*.c */
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed <command> [options]\n"
          "       testbed <command> --help\n\n"
          "An allocator-metadata testbed: inline boundary tags vs out-of-band\n"
          "metadata, measured on replayed workloads.\n\ncommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(f,
          "\nexit status (every command):\n"
          "  0  success\n"
          "  1  failure while working: an output that cannot be written, out of memory,\n"
          "     a program or a measurement that failed\n"
          "  2  bad usage or bad input: the message names the option, or the file and\n"
          "     its line or op\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return TB_EXIT_BAD;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (!strcmp(argv[1], commands[i]->name)) return commands[i]->run(argc - 1, argv + 1);
  fprintf(stderr, "testbed: unknown command '%s' (see testbed --help)\n", argv[1]);
  return TB_EXIT_BAD;
}
