/* cmd_import.c: `testbed import --from mtrace FILE -o OUT`: a trace from
 * another tool's log (workloads/import.h). */
#include <stdio.h>
#include <string.h>

#include "import.h"
#include "tb_cli.h"
#include "trace.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed import --from mtrace FILE -o OUT [--format text|binary]\n"
          "                      [--compress none|gzip|zstd] [--quiet]\n\n"
          "Reads glibc's mtrace log (MALLOC_TRACE=FILE; on glibc >= 2.34 with\n"
          "LD_PRELOAD=libc_malloc_debug.so.0) and writes a trace. Addresses become\n"
          "object ids; frees of blocks allocated before tracing are dropped and\n"
          "allocations at a still-live address get the missing free, both counted\n"
          "in the summary on stderr. Exit status: 0 done, 1 the output cannot be\n"
          "written, 2 bad usage or a bad log (the error names the line).\n");
}

static int import_main(int argc, char **argv) {
  const char *from = NULL, *in = NULL;
  tb_cli_trace_out_t o = {0};
  bool quiet = false;
  for (int i = 1; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
      from = argv[++i];
    } else if (tb_cli_trace_out_opt(argc, argv, &i, &o)) {
      continue;
    } else if (!strcmp(argv[i], "--quiet")) {
      quiet = true;
    } else if (argv[i][0] == '-') {
      return tb_cli_usage_error("import", "unknown option '%s'", argv[i]);
    } else if (!in) {
      in = argv[i];
    } else {
      return tb_cli_usage_error("import", "more than one input ('%s')", argv[i]);
    }
  }
  if (!from || !in || !o.out) return tb_cli_usage_error("import", "needs --from FORMAT, FILE and -o OUT");
  if (strcmp(from, "mtrace")) return tb_cli_usage_error("import", "unknown log format '%s' (known: mtrace)", from);
  tb_trace_format_t fmt;
  tb_compress_t comp;
  if (tb_cli_trace_out_form("import", &o, &fmt, &comp)) return TB_EXIT_BAD;
  if (tb_cli_out_writable("import", o.out)) return TB_EXIT_FAIL;
  tb_import_stats_t st;
  char err[512];
  int rc = tb_import_mtrace(in, o.out, fmt, comp, &st, err, sizeof err);
  if (rc) {
    fprintf(stderr, "testbed import: %s\n", err);
    return rc == 2 ? TB_EXIT_BAD : TB_EXIT_FAIL;
  }
  if (!quiet)
    fprintf(stderr,
            "testbed import: %llu lines, %llu ops; repaired: %llu frees of unknown addresses dropped, %llu "
            "allocations at a live address; %llu failed reallocs\n",
            (unsigned long long)st.lines, (unsigned long long)st.ops, (unsigned long long)st.dropped_frees,
            (unsigned long long)st.reused_live, (unsigned long long)st.failed_reallocs);
  return 0;
}

const tb_command_t tb_cmd_import = {"import", "import a trace from glibc's mtrace log", import_main};
