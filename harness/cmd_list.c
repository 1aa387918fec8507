/* cmd_list.c: `testbed list`: what this build can measure with. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "gen.h"
#include "profiles.h"
#include "results.h"
#include "tb_alloc.h"
#include "tb_cli.h"

static int list_main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      printf("usage: testbed list [--columns]\n\nLists the registered allocators with their capabilities, the measurement\nbackends (available here or not, and why) and the machine profiles.\n\n"
             "  --columns  print only the header row of results.csv (harness/results.h),\n"
             "             the one place the column list is written\n");
      return 0;
    }
    if (!strcmp(argv[i], "--columns")) {
      if (argc > 2) return tb_cli_usage_error("list", "--columns takes no other option ('%s')", argv[i == 1 ? 2 : 1]);
      printf("%s\n", TB_RESULTS_HEADER);
      return 0;
    }
    return tb_cli_usage_error("list", "unknown option '%s'", argv[i]);
  }
  printf("allocators (check level used by default: %d; statistics %s):\n", tb_default_check_level(),
         tb_stats_enabled() ? "on" : "off");
  const tb_allocator_t *a;
  int wname = 0;
  for (size_t i = 0; (a = tb_allocator_at(i, 0)) != NULL; i++)
    if ((int)strlen(a->name) > wname) wname = (int)strlen(a->name);
  for (size_t i = 0; (a = tb_allocator_at(i, 0)) != NULL; i++) {
    char caps[64];
    snprintf(caps, sizeof caps, "%s%s%s%s", (a->caps & TB_CAP_FREE) ? "free " : "", (a->caps & TB_CAP_SPACE) ? "space " : "",
             (a->caps & TB_CAP_CHECK) ? "check " : "", (a->caps & TB_CAP_DETECT_FREE) ? "detect-free " : "");
    printf("  %-*s %-30s %s\n", wname, a->name, caps, a->description);
  }
  /* workloads: generators (workloads/gen.c); trace files are named by path */
  printf("workloads (--workload FILE, or gen:NAME[:KEY=VALUE...]; testbed gen --help):\n");
  const tb_generator_t *g;
  for (size_t i = 0; (g = tb_generator_at(i)) != NULL; i++) printf("  gen:%-15s %s\n", g->name, g->summary);
  /* measurement backends (harness/measure) */
  char choice[128], reason[512], why[512];
  printf("backends (--backend NAME[:PROFILE]):\n");
  const tb_backend_t *b;
  for (size_t i = 0; (b = tb_backend_at(i)) != NULL; i++) {
    bool ok = b->available ? b->available(why, sizeof why) : true;
    printf("  %-10s %-13s %s\n  %-10s %-13s %s\n", b->name, ok ? "available" : "unavailable", b->summary, "", "",
           b->available ? why : "");
  }
  tb_backend_default(choice, sizeof choice, reason, sizeof reason);
  printf("  default here: %s (%s)\n", choice, reason);
  char err[512];
  if (tb_profiles_list(stdout, err, sizeof err)) {
    fprintf(stderr, "testbed list: %s\n", err);
    return 2;
  }
  return 0;
}

const tb_command_t tb_cmd_list = {"list", "list allocators (and workloads, backends, profiles)", list_main};
