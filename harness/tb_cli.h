/* tb_cli.h: what a `testbed` subcommand looks like, and helpers every
 * subcommand shares. run() gets argv with the subcommand name as argv[0];
 * it returns the process exit status, one convention for the whole tool
 * (stated in `testbed --help`): TB_EXIT_OK 0 success; TB_EXIT_FAIL 1 a
 * failure while working (an output that cannot be written, out of memory,
 * a program or measurement that failed); TB_EXIT_BAD 2 bad usage or bad
 * input (the message names the file and the line or op). */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stdbool.h>

#include "trace.h"

enum { TB_EXIT_OK = 0, TB_EXIT_FAIL = 1, TB_EXIT_BAD = 2 };

typedef struct tb_command_s {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} tb_command_t;

/* Whether argument s asks for help (-h, --help). */
bool tb_cli_is_help(const char *s);

/* Print "testbed <cmd>: <message>" to stderr; returns 2 (bad usage). */
int tb_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a whole non-negative decimal number; false if s is not one. */
bool tb_cli_parse_u64(const char *s, unsigned long long *out);

/* The options of a subcommand that writes a trace: -o OUT, --format
 * text|binary, --compress none|gzip|zstd. */
typedef struct tb_cli_trace_out_s {
  const char *out, *format, *compress;
} tb_cli_trace_out_t;

/* If argv[*i] is one of those options and its value follows, take both,
 * leave *i at the value and return true; otherwise false. */
bool tb_cli_trace_out_opt(int argc, char **argv, int *i, tb_cli_trace_out_t *o);

/* The output form: from OUT's name (tb_trace_form_from_name), then the
 * options. 0, or 2 after a usage error naming the bad value. */
int tb_cli_trace_out_form(const char *cmd, const tb_cli_trace_out_t *o, tb_trace_format_t *fmt, tb_compress_t *comp);

/* Whether output file out can be written (its directory exists and is
 * writable, out is not a directory), checked before any work: 0, or
 * TB_EXIT_FAIL after "testbed <cmd>: OUT: cannot write there: why". */
int tb_cli_out_writable(const char *cmd, const char *out);

#endif
