/* tb_fuzz.h: what every fuzz target in tests/fuzz/ provides and may use.
 *
 * A target defines LLVMFuzzerTestOneInput (libFuzzer's entry point) and
 * tb_fuzz_name. It is linked either with libFuzzer (clang -fsanitize=fuzzer,
 * `./reproduce.sh fuzz`) or with driver.c, a plain main that replays seed
 * files and then mutates them for a time budget (the regression tests in
 * ctest, any compiler, native, sanitizers and qemu alike). A target reports
 * a violated property by abort(): a crash to both.
 */
#ifndef TB_FUZZ_H
#define TB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const char *tb_fuzz_name;

/* A scratch path for this process: <dir>/tbfuzz.<pid>.<tag>, in /dev/shm
 * when it exists, else $TMPDIR or /tmp. */
const char *tb_fuzz_path(const char *tag);
/* Write data[0..n) to path (abort on failure: the machine, not the input). */
void tb_fuzz_put(const char *path, const void *data, size_t n);

#endif
