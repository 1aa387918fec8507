/* cmd_gen.c: `testbed gen NAME [--seed S] [KEY=VALUE...] -o FILE`: writes a
 * generated trace (workloads/gen.h); the same name, parameters and seed
 * always give the same file. */
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "tb_cli.h"
#include "trace.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed gen NAME [--seed S] [KEY=VALUE...] -o FILE [--format text|binary]\n"
          "                        [--compress none|gzip|zstd]\n"
          "       testbed gen --list\n\n"
          "Writes a synthetic trace, deterministic for the seed (default 1). The\n"
          "format and compression default from FILE's name (see testbed convert).\n"
          "The same spec works in testbed run as --workload gen:NAME:KEY=VALUE:...\n"
          "Exit status: 0 done, 1 the output cannot be written, 2 bad usage or a bad\n"
          "parameter.\n\n"
          "generators (parameters with their defaults):\n");
  const tb_generator_t *g;
  for (size_t i = 0; (g = tb_generator_at(i)) != NULL; i++) fprintf(f, "  %-16s %s\n", g->name, g->summary);
}

static int gen_main(int argc, char **argv) {
  const char *name = NULL;
  tb_cli_trace_out_t o = {0};
  tb_gen_params_t p = {0};
  char err[512];
  for (int i = 1; i < argc; i++) {
    if (tb_cli_is_help(argv[i]) || !strcmp(argv[i], "--list")) {
      usage(stdout);
      return 0;
    } else if (tb_cli_trace_out_opt(argc, argv, &i, &o)) {
      continue;
    } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      char kv[96];
      snprintf(kv, sizeof kv, "seed=%s", argv[++i]);
      if (tb_gen_param_add(&p, kv, err, sizeof err)) return tb_cli_usage_error("gen", "%s", err);
    } else if (argv[i][0] == '-') {
      return tb_cli_usage_error("gen", "unknown option '%s'", argv[i]);
    } else if (!name) {
      name = argv[i];
    } else if (tb_gen_param_add(&p, argv[i], err, sizeof err)) {
      return tb_cli_usage_error("gen", "%s", err);
    }
  }
  if (!name || !o.out) return tb_cli_usage_error("gen", "needs a generator NAME and -o FILE");
  const tb_generator_t *g = tb_generator_find(name);
  if (!g) return tb_cli_usage_error("gen", "unknown generator '%s'", name);
  tb_trace_format_t fmt;
  tb_compress_t comp;
  if (tb_cli_trace_out_form("gen", &o, &fmt, &comp)) return TB_EXIT_BAD;
  if (tb_cli_out_writable("gen", o.out)) return TB_EXIT_FAIL;
  if (tb_gen_to_file(g, &p, o.out, fmt, comp, err, sizeof err)) {
    fprintf(stderr, "testbed gen: %s: %s\n", name, err);
    /* the output was writable (checked above): a bad parameter, unless writing failed midway */
    return strstr(err, o.out) && strstr(err, "write") ? TB_EXIT_FAIL : TB_EXIT_BAD;
  }
  return TB_EXIT_OK;
}

const tb_command_t tb_cmd_gen = {"gen", "generate a synthetic trace (deterministic for a seed)", gen_main};
