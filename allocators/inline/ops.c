/* ops.c: the operations table of `inline` at this copy's check level. */
#include "inl.h"

const tb_allocator_t TB_OPS_SYMBOL(inl) = {
    .name = "inline",
    .description = "boundary tags in the blocks (dlmalloc style), immediate coalescing",
    .caps = TB_CAP_FREE | TB_CAP_SPACE | TB_CAP_CHECK | TB_CAP_DETECT_FREE | TB_CAP_STATS,
    TB_OPS_FUNCTIONS(inl),
};
