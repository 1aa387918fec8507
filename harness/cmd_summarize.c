/* cmd_summarize.c: `testbed summarize DIR [-o FILE] [--tex FILE]`: per-group
 * median, 95% CI of the median and n from a run set's results.csv. */
#include <stdio.h>
#include <string.h>

#include "summary.h"
#include "tb_cli.h"

static const char usage[] =
    "usage: testbed summarize DIR [-o FILE] [--tex FILE]\n"
    "\n"
    "Reads DIR/results.csv (a run set; DIR may also be the CSV itself), checks\n"
    "it (bad lines are reported as FILE:LINE, exit status 2), and writes one row\n"
    "per (experiment, allocator, workload, backend, profile, threads, metric):\n"
    "n, n_na, median, ci_low, ci_high (95% confidence interval of the MEDIAN,\n"
    "distribution-free, from order statistics), ci_level (its exact coverage:\n"
    "below 0.95 when n <= 5), mean, min, max. NA values are left out; a group\n"
    "that has only NA values stays NA.\n"
    "\n"
    "  -o FILE      summary CSV (default DIR/summary.csv; '-' for stdout)\n"
    "  --tex FILE   also write LaTeX macros for the paper (\\tbget{med@...})\n";

static int summarize_main(int argc, char **argv) {
  const char *dir = NULL, *out = NULL, *tex = NULL;
  for (int i = 1; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) {
      if (++i == argc) return tb_cli_usage_error("summarize", "%s needs a file", argv[i - 1]);
      out = argv[i];
    } else if (!strcmp(argv[i], "--tex")) {
      if (++i == argc) return tb_cli_usage_error("summarize", "--tex needs a file");
      tex = argv[i];
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return tb_cli_usage_error("summarize", "unknown option '%s'", argv[i]);
    } else if (dir) {
      return tb_cli_usage_error("summarize", "one run set at a time ('%s' and '%s')", dir, argv[i]);
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return tb_cli_usage_error("summarize", "which run set? give its folder");

  char cmdline[4096] = "testbed ";
  tb_summary_cmdline(argc, argv, cmdline + 8, sizeof cmdline - 8);
  char name[4096];

  tb_summary_t s;
  char err[1024];
  int rc = tb_summary_load(dir, &s, err, sizeof err);
  if (rc) {
    fprintf(stderr, "testbed summarize: %s\n", err);
    tb_summary_free(&s);
    return rc;
  }
  if (!out) {
    snprintf(name, sizeof name, "%s", s.source);
    char *slash = strrchr(name, '/');
    snprintf(slash ? slash + 1 : name, sizeof name - (size_t)(slash ? slash + 1 - name : 0), "summary.csv");
    out = name;
  }
  if (!strcmp(out, "-"))
    rc = tb_summary_write_csv(&s, stdout, cmdline);
  else
    rc = tb_summary_write_file(out, &s, cmdline, tb_summary_write_csv);
  if (!rc && tex) rc = tb_summary_write_file(tex, &s, cmdline, tb_summary_write_tex);
  if (!rc) {
    size_t na_groups = 0;
    for (size_t i = 0; i < s.ngroups; i++) na_groups += s.groups[i].n == 0;
    fprintf(stderr, "testbed summarize: %zu rows (+%zu derived), %zu groups (%zu only NA) -> %s%s%s\n", s.nrows - s.nderived, s.nderived, s.ngroups,
            na_groups, out, tex ? ", " : "", tex ? tex : "");
  }
  tb_summary_free(&s);
  return rc;
}

const tb_command_t tb_cmd_summarize = {"summarize", "median and 95% CI per metric of a run set (summary.csv, TeX macros)",
                                       summarize_main};
