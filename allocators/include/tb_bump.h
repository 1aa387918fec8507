/* tb_bump.h: what the harness may ask of bump, the null allocator
 * (allocators/bump/bump.c), without knowing its internals: how much space
 * a replay takes on it, so that the harness can give it a pre-faulted
 * fixed space and measure itself without the kernel's first-touch faults
 * (testbed run, harness/README.md "Harness overhead"). */
#ifndef TB_BUMP_H
#define TB_BUMP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  TB_BUMP_MALLOC,  /* malloc or calloc of n bytes */
  TB_BUMP_REALLOC, /* realloc to n bytes */
  TB_BUMP_ALIGNED  /* aligned_alloc of n bytes at alignment align */
} tb_bump_req_t;

/* The most bytes of bump's block region one request can take (bump never
 * reuses a block, so a replay takes at most the sum over its requests). */
size_t tb_bump_request_bytes(tb_bump_req_t kind, size_t n, size_t align);

/* The size of a fixed space (space_init_fixed) on which bump can hand out
 * blocks taking `bytes` of its block region in all: the region plus bump's
 * block table, rounded up to whole pages of page_size. */
size_t tb_bump_fixed_space_bytes(size_t bytes, size_t page_size);

#ifdef __cplusplus
}
#endif
#endif /* TB_BUMP_H */
