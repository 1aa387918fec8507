/* driver.c: a main for the fuzz targets without libFuzzer (tb_fuzz.h).
 *
 *   fuzz_<name> [-t SECONDS] [-s SEED] [-m MAXLEN] PATH...
 *
 * Runs the target on every file named, and on every file of every
 * directory named (one level), then, for SECONDS (default 0), on mutations
 * of those inputs: bit flips, random and boundary bytes, insertions,
 * deletions and copies of a piece, up to MAXLEN bytes (default 4096),
 * from a seeded generator (default seed 1), so a run is repeatable. A
 * property the target checks that fails aborts (the test fails); the
 * mutated input is written first to fuzz-<name>-last-input in the current
 * directory, to be kept as a test case. Prints how many inputs ran.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tb_fuzz.h"

typedef struct {
  unsigned char *p;
  size_t n;
} input_t;

static input_t *inputs;
static size_t ninputs, capinputs;

static void add_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  input_t in = {0};
  size_t cap = 0;
  for (;;) {
    if (in.n == cap) {
      cap = cap ? cap * 2 : 4096;
      in.p = realloc(in.p, cap);
      if (!in.p) abort();
    }
    size_t k = fread(in.p + in.n, 1, cap - in.n, f);
    if (!k) break;
    in.n += k;
  }
  fclose(f);
  if (ninputs == capinputs) {
    capinputs = capinputs ? capinputs * 2 : 64;
    inputs = realloc(inputs, capinputs * sizeof *inputs);
    if (!inputs) abort();
  }
  inputs[ninputs++] = in;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_path(const char *path) {
  struct stat st;
  if (stat(path, &st)) {
    perror(path);
    exit(2);
  }
  if (!S_ISDIR(st.st_mode)) {
    add_file(path);
    return;
  }
  DIR *d = opendir(path);
  if (!d) {
    perror(path);
    exit(2);
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    names = realloc(names, (n + 1) * sizeof *names);
    size_t l = strlen(path) + strlen(e->d_name) + 2;
    names[n] = malloc(l);
    if (!names || !names[n]) abort();
    snprintf(names[n], l, "%s/%s", path, e->d_name);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str); /* the same order everywhere */
  for (size_t i = 0; i < n; i++) {
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) add_file(names[i]);
    free(names[i]);
  }
  free(names);
}

static uint64_t rng;
static uint64_t rnd(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static size_t mutate(unsigned char *b, size_t n, size_t max) {
  static const unsigned char special[] = {0, 1, 0x7f, 0x80, 0xff, '\n', ' ', '0', '9', 'x', '-', '+', '#'};
  int k = 1 + (int)(rnd() % 4);
  while (k--) {
    size_t at = n ? rnd() % n : 0;
    switch (rnd() % 7) {
    case 0:
      if (n) b[at] ^= (unsigned char)(1u << (rnd() % 8));
      break;
    case 1:
      if (n) b[at] = (unsigned char)rnd();
      break;
    case 2:
      if (n) b[at] = special[rnd() % sizeof special];
      break;
    case 3: /* insert a byte */
      if (n < max) {
        memmove(b + at + 1, b + at, n - at);
        b[at] = (unsigned char)rnd();
        n++;
      }
      break;
    case 4: { /* delete a piece */
      size_t len = n > at ? 1 + rnd() % (n - at < 16 ? n - at : 16) : 0;
      memmove(b + at, b + at + len, n - at - len);
      n -= len;
      break;
    }
    case 5: { /* copy a piece elsewhere (overwrite) */
      if (n < 2) break;
      size_t from = rnd() % n, len = 1 + rnd() % 32;
      if (from + len > n) len = n - from;
      if (at + len > n) len = n - at;
      memmove(b + at, b + from, len);
      break;
    }
    default: /* cut */
      n = at;
      break;
    }
  }
  return n;
}

int main(int argc, char **argv) {
  double budget = 0;
  size_t max = 4096;
  rng = 1;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (i + 1 >= argc) break;
    if (!strcmp(argv[i], "-t")) budget = atof(argv[++i]);
    else if (!strcmp(argv[i], "-s")) rng = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "-m")) max = strtoull(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: %s [-t SECONDS] [-s SEED] [-m MAXLEN] PATH...\n", argv[0]);
      return 2;
    }
  }
  for (; i < argc; i++) add_path(argv[i]);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t k = 0; k < ninputs; k++) LLVMFuzzerTestOneInput(inputs[k].p, inputs[k].n);
  unsigned long long runs = 0;
  char keep[256];
  snprintf(keep, sizeof keep, "fuzz-%s-last-input", tb_fuzz_name);
  unsigned char *b = malloc(max + 1);
  if (!b) abort();
  if (budget > 0 && ninputs == 0) add_file("/dev/null");
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9;
    if (el >= budget) break;
    for (int r = 0; r < 64; r++) {
      const input_t *in = &inputs[rnd() % ninputs];
      size_t n = in->n < max ? in->n : max;
      memcpy(b, in->p, n);
      n = mutate(b, n, max);
      tb_fuzz_put(keep, b, n); /* the input that crashed, if it does */
      LLVMFuzzerTestOneInput(b, n);
      runs++;
    }
  }
  remove(keep);
  free(b);
  printf("fuzz_%s: %zu seed inputs and %llu mutations ran, no property failed\n", tb_fuzz_name, ninputs, runs);
  return 0;
}
