/* cmd_convert.c: `testbed convert IN -o OUT`: a trace from one form to the
 * other (text <-> binary varints, optionally gzip/zstd), losslessly: the
 * ops, their threads and global order, and the provenance are kept. The
 * input is loaded and validated in full first, so a bad input gives an
 * error and no output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_cli.h"
#include "trace.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: testbed convert IN -o OUT [--format text|binary] [--compress none|gzip|zstd]\n\n"
          "Converts a trace between the text form (\"testbed-trace 1\") and the binary\n"
          "varint form; either may be gzip- or zstd-compressed. The output format and\n"
          "compression default from OUT's name: .txt/.trace text, .tbt binary, with\n"
          ".gz or .zst added for compression (other names: binary, uncompressed).\n"
          "The input form is detected from its content; the input must be a regular\n"
          "file (a FIFO or device is refused). Exit status: 0 done, 1 the output\n"
          "cannot be written, 2 bad usage or a bad input (the error names the line\n"
          "or op).\n");
}

static int convert_main(int argc, char **argv) {
  const char *in = NULL;
  tb_cli_trace_out_t o = {0};
  for (int i = 1; i < argc; i++) {
    if (tb_cli_is_help(argv[i])) {
      usage(stdout);
      return 0;
    } else if (tb_cli_trace_out_opt(argc, argv, &i, &o)) {
      continue;
    } else if (argv[i][0] == '-') {
      return tb_cli_usage_error("convert", "unknown option '%s'", argv[i]);
    } else if (!in) {
      in = argv[i];
    } else {
      return tb_cli_usage_error("convert", "more than one input ('%s')", argv[i]);
    }
  }
  if (!in || !o.out) return tb_cli_usage_error("convert", "needs an input and -o OUT");
  tb_trace_format_t fmt;
  tb_compress_t comp;
  if (tb_cli_trace_out_form("convert", &o, &fmt, &comp)) return TB_EXIT_BAD;
  if (tb_cli_out_writable("convert", o.out)) return TB_EXIT_FAIL;
  char err[512];
  tb_trace_t t;
  if (tb_trace_load(in, &t, err, sizeof err)) {
    fprintf(stderr, "testbed convert: %s\n", err);
    return TB_EXIT_BAD;
  }
  int rc = tb_trace_save(&t, o.out, fmt, comp, err, sizeof err);
  tb_trace_free(&t);
  if (rc) {
    fprintf(stderr, "testbed convert: %s\n", err);
    return TB_EXIT_FAIL;
  }
  return TB_EXIT_OK;
}

const tb_command_t tb_cmd_convert = {"convert", "convert a trace between text and binary (and compressions)", convert_main};
