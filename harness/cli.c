/* cli.c: helpers shared by the testbed subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_cli.h"

bool tb_cli_is_help(const char *s) { return !strcmp(s, "-h") || !strcmp(s, "--help"); }

int tb_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "testbed %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see testbed %s --help)\n", cmd);
  va_end(ap);
  return TB_EXIT_BAD;
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

int tb_cli_out_writable(const char *cmd, const char *out) {
  struct stat st;
  const char *why = NULL;
  if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) why = "it is a directory";
  char d[4096];
  snprintf(d, sizeof d, "%s", out);
  char *s = strrchr(d, '/');
  if (!s) snprintf(d, sizeof d, ".");
  else if (s == d) s[1] = 0;
  else *s = 0;
  if (!why && access(d, W_OK) != 0) why = strerror(errno);
  if (!why) return 0;
  fprintf(stderr, "testbed %s: %s: cannot write there: %s\n", cmd, out, why);
  return TB_EXIT_FAIL;
}

bool tb_cli_trace_out_opt(int argc, char **argv, int *i, tb_cli_trace_out_t *o) {
  const char *a = argv[*i];
  const char **slot = !strcmp(a, "-o") ? &o->out : !strcmp(a, "--format") ? &o->format : !strcmp(a, "--compress") ? &o->compress : NULL;
  if (!slot || *i + 1 >= argc) return false;
  *slot = argv[++*i];
  return true;
}

int tb_cli_trace_out_form(const char *cmd, const tb_cli_trace_out_t *o, tb_trace_format_t *fmt, tb_compress_t *comp) {
  tb_trace_form_from_name(o->out, fmt, comp);
  if (o->format && tb_trace_parse_format(o->format, fmt)) return tb_cli_usage_error(cmd, "unknown format '%s'", o->format);
  if (o->compress && tb_trace_parse_compress(o->compress, comp))
    return tb_cli_usage_error(cmd, "unknown compression '%s'", o->compress);
  return 0;
}
