/* ms_offsets.c: the allocator's decisions for a trace, as one digest, so
 * that the x86_64 build and the aarch64 build memsim runs can be compared
 * (tests/memsim/memsim_same.sh): every allocation of the trace, replayed in
 * order on a heap over a fixed 1 MiB-aligned space, gives its block's
 * offset in the space (or "outside" for a block mapped on its own), and
 * the offsets are hashed (FNV-1a) in trace order. Touches are skipped: they
 * do not change decisions.
 *   ms_offsets ALLOCATOR TRACE   prints "ALLOCATOR allocations N outside M digest HEX" */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tb_alloc.h"
#include "trace.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: ms_offsets ALLOCATOR TRACE\n");
    return 2;
  }
  const tb_allocator_t *a = tb_allocator_find(argv[1], 0);
  if (!a || !(a->caps & TB_CAP_SPACE)) {
    fprintf(stderr, "ms_offsets: %s: no such allocator on a given space\n", argv[1]);
    return 2;
  }
  tb_trace_t t;
  char err[512];
  if (tb_trace_load(argv[2], &t, err, sizeof err)) {
    fprintf(stderr, "ms_offsets: %s\n", err);
    return 2;
  }
  if (t.nthreads != 1) {
    fprintf(stderr, "ms_offsets: %s: one stream only\n", argv[2]);
    return 2;
  }
  size_t size = (size_t)1 << 30, align = (size_t)1 << 20;
  uint8_t *raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return 2;
  uint8_t *buf = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
  space_t sp;
  if (space_init_fixed(&sp, buf, size)) return 2;
  tb_heap_opts_t ho = {.mode = TB_MODE_SINGLE, .space = &sp};
  tb_heap_t *h = a->create(&ho);
  void **ptr = calloc(t.nobjects ? t.nobjects : 1, sizeof *ptr);
  if (!h || !ptr) return 2;
  uint64_t digest = 0xcbf29ce484222325ull, n = 0, outside = 0;
  for (size_t i = 0; i < t.nops[0]; i++) {
    const tb_op_t *op = &t.ops[0][i];
    void *p = NULL;
    switch (op->code) {
    case TB_OP_MALLOC: p = a->malloc(h, op->arg); break;
    case TB_OP_CALLOC: p = a->calloc(h, 1, op->arg); break;
    case TB_OP_ALIGNED: p = a->aligned_alloc(h, (size_t)1 << op->align, op->arg); break;
    case TB_OP_REALLOC: p = a->realloc(h, ptr[op->id], op->arg); break;
    case TB_OP_FREE: a->free(h, ptr[op->id]); ptr[op->id] = NULL; continue;
    default: continue;
    }
    if (!p && op->arg) {
      fprintf(stderr, "ms_offsets: op %zu: allocation failed\n", i);
      return 1;
    }
    ptr[op->id] = p;
    uint64_t off = (uint8_t *)p >= buf && (uint8_t *)p < buf + size ? (uint64_t)((uint8_t *)p - buf) : UINT64_MAX;
    outside += off == UINT64_MAX;
    for (int k = 0; k < 8; k++) digest = (digest ^ ((off >> (8 * k)) & 0xff)) * 0x100000001b3ull;
    n++;
  }
  printf("%s allocations %llu outside %llu digest %016llx\n", a->name, (unsigned long long)n,
         (unsigned long long)outside, (unsigned long long)digest);
  return 0;
}
