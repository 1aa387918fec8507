/* testbed.c: the `testbed` command: one tool, one subcommand per task.
 * Each subcommand lives in its own file (tb_cmd_<name>) and prints its own
 * --help; this file only dispatches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_alloc.h"
#include "tb_cli.h"

static int cmd_list(int argc, char **argv);

static const tb_command_t commands[] = {
    {"list", "list allocators, their capabilities and check levels", cmd_list},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed <command> [options]\n"
          "       testbed <command> --help\n\n"
          "An allocator-metadata testbed: inline boundary tags vs out-of-band\n"
          "metadata, measured on replayed workloads.\n\ncommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

static int cmd_list(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: testbed list\n\nLists the registered allocators with their capabilities.\n");
      return 0;
    }
    fprintf(stderr, "testbed list: unknown option '%s' (see testbed list --help)\n", argv[i]);
    return 2;
  }
  printf("allocators (check level used by default: %d; statistics %s):\n", tb_default_check_level(),
         tb_stats_enabled() ? "on" : "off");
  const tb_allocator_t *a;
  for (size_t i = 0; (a = tb_allocator_at(i, 0)) != NULL; i++) {
    printf("  %-8s %s%s%s%s  %s\n", a->name, (a->caps & TB_CAP_FREE) ? "free " : "",
           (a->caps & TB_CAP_SPACE) ? "space " : "", (a->caps & TB_CAP_CHECK) ? "check " : "",
           (a->caps & TB_CAP_DETECT_FREE) ? "detect-free " : "", a->description);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "testbed: unknown command '%s' (see testbed --help)\n", argv[1]);
  return 2;
}
