/* ops.c: the operations table of the oob design at this check level, for
 * the variant this copy is built with: the bin representation
 * (OOB_BINS_ARRAY), the minimum block (OOB_MIN_BLOCK_BYTES) and the address
 * map instead of back-pointers (OOB_MAP). */
#include "oob.h"

#if OOB_BINS_ARRAY
const tb_allocator_t TB_OPS_SYMBOL(oobarr) = {
    .name = "oob-array",
    .description = "out-of-band metadata as oob, bins as dense arrays scanned linearly",
#elif OOB_MAP
const tb_allocator_t TB_OPS_SYMBOL(oobmap) = {
    .name = "oob-map",
    .description = "oob without the back-pointer: blocks end to end, records found through an address map",
#elif OOB_MIN_BLOCK_BYTES == 32
const tb_allocator_t TB_OPS_SYMBOL(oobm32) = {
    .name = "oob-m32",
    .description = "oob with inline's 32-byte minimum block: every block placed where inline places it",
#else
const tb_allocator_t TB_OPS_SYMBOL(oob) = {
    .name = "oob",
    .description = "out-of-band metadata: dense record array, one back-pointer word per block",
#endif
    .caps = TB_CAP_FREE | TB_CAP_SPACE | TB_CAP_CHECK | TB_CAP_DETECT_FREE | TB_CAP_STATS,
    TB_OPS_FUNCTIONS(oob),
};
