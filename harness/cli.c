/* cli.c: helpers shared by the testbed subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_cli.h"

bool tb_cli_is_help(const char *s) { return !strcmp(s, "-h") || !strcmp(s, "--help"); }

int tb_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "testbed %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see testbed %s --help)\n", cmd);
  va_end(ap);
  return 2;
}

bool tb_cli_parse_u64(const char *s, unsigned long long *out) {
  if (!s || !*s || *s == '-' || *s == '+') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}
