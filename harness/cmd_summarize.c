/* cmd_summarize.c: `testbed summarize DIR [-o FILE] [--verdicts FILE]
 * [--tex FILE]`: per-group median, 95% CI of the median, n and the ratio to
 * inline from a run set's results.csv, and the verdicts of the design
 * steps (summary.h). */
#include <stdio.h>
#include <string.h>

#include "summary.h"
#include "tb_cli.h"

static const char usage[] =
    "usage: testbed summarize DIR [-o FILE] [--verdicts FILE] [--tex FILE]\n"
    "                         [--tex-exec FILE]\n"
    "\n"
    "Reads DIR/results.csv (a run set; DIR may also be the CSV itself), checks\n"
    "it (bad lines are reported as FILE:LINE, exit status 2), and writes one row\n"
    "per (experiment, allocator, workload, backend, profile, threads, metric):\n"
    "n, n_na, median, ci_low, ci_high (95% confidence interval of the MEDIAN,\n"
    "distribution-free, from order statistics), ci_level (its exact coverage:\n"
    "below 0.95 when n <= 5), mean, min, max. NA values are left out; a group\n"
    "that has only NA values stays NA. Each row also has its ratio to inline's\n"
    "group of the same key (ratio, ratio_lo, ratio_hi from the two CIs) and the\n"
    "direction: lower, higher (the ratio interval excludes 1; for one\n"
    "deterministic simulated run: the ratio differs from 1 by more than 1% and\n"
    "the misses by more than 0.001 per op), same, or NA.\n"
    "\n"
    "The verdicts (verdicts.csv) summarize each step of the design space\n"
    "(inline->oob-m32: where the metadata lives; oob-m32->oob: denser blocks;\n"
    "oob->oob-map: no back-pointer; oob->oob-array: arrays in the bins;\n"
    "inline->oob) per metric, backend, profile (and x86 / ARM: every profile\n"
    "running its own ISA at its own page size) and workload class: how many\n"
    "workloads were lower, the same or higher, and the geometric mean ratio.\n"
    "\n"
    "  -o FILE          summary CSV (default DIR/summary.csv; '-' for stdout)\n"
    "  --verdicts FILE  verdicts CSV (default: verdicts.csv beside the summary;\n"
    "                   none when the summary goes to stdout)\n"
    "  --tex FILE       also write LaTeX macros for the paper (\\tbget{med@...},\n"
    "                   \\tbv{word}{...}, tables)\n"
    "  --tex-exec FILE  DIR is an exec run set (experiments/exec.sh): write its\n"
    "                   macros (\\tbExec{gm}{ExecTime}{inline}, ...) and tables\n"
    "                   (\\tbTableWorkExecTime, ...) for the paper's section on\n"
    "                   real programs\n";

static int summarize_main(int argc, char **argv) {
  const char *dir = NULL, *out = NULL, *tex = NULL, *verd = NULL, *texx = NULL;
  for (int i = 1; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) {
      if (++i == argc) return tb_cli_usage_error("summarize", "%s needs a file", argv[i - 1]);
      out = argv[i];
    } else if (!strcmp(argv[i], "--verdicts")) {
      if (++i == argc) return tb_cli_usage_error("summarize", "--verdicts needs a file");
      verd = argv[i];
    } else if (!strcmp(argv[i], "--tex")) {
      if (++i == argc) return tb_cli_usage_error("summarize", "--tex needs a file");
      tex = argv[i];
    } else if (!strcmp(argv[i], "--tex-exec")) {
      if (++i == argc) return tb_cli_usage_error("summarize", "--tex-exec needs a file");
      texx = argv[i];
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
  char name[4096], vname[4200];

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
  if (!verd && strcmp(out, "-")) {
    snprintf(vname, sizeof vname, "%s", out);
    char *slash = strrchr(vname, '/');
    snprintf(slash ? slash + 1 : vname, sizeof vname - (size_t)(slash ? slash + 1 - vname : 0), "verdicts.csv");
    verd = vname;
  }
  if (!strcmp(out, "-"))
    rc = tb_summary_write_csv(&s, stdout, cmdline);
  else
    rc = tb_summary_write_file(out, &s, cmdline, tb_summary_write_csv);
  if (!rc && verd) rc = tb_summary_write_file(verd, &s, cmdline, tb_summary_write_verdicts);
  if (!rc && tex) rc = tb_summary_write_file(tex, &s, cmdline, tb_summary_write_tex);
  if (!rc && texx) rc = tb_summary_write_file(texx, &s, cmdline, tb_summary_write_exec_tex);
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
