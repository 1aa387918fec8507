/* ops.c: the operations table of `inline` at this copy's check level. */
#include "inl.h"

const tb_allocator_t TB_OPS_SYMBOL(inl) = {
    .name = "inline",
    .description = "boundary tags in the blocks (dlmalloc style), immediate coalescing",
    .caps = TB_CAP_FREE | TB_CAP_SPACE | TB_CAP_CHECK | TB_CAP_DETECT_FREE | TB_CAP_STATS,
    .check_level = TB_CHECK_LEVEL,
    .create = inl_create,
    .destroy = inl_destroy,
    .malloc = inl_malloc,
    .free = inl_free,
    .calloc = inl_calloc,
    .realloc = inl_realloc,
    .aligned_alloc = inl_aligned_alloc,
    .usable_size = inl_usable_size,
    .check = inl_check_op,
    .stats = inl_stats,
};
