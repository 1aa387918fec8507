/* touch.c: the workload's touches of its blocks (touch.h), alone in their
 * file: kept out of line (noinline, and no other file includes this code)
 * so that callgrind's debug info puts their cost, memset's included, under
 * this file. */
#include <string.h>

#include "touch.h"

__attribute__((noinline)) uint64_t tb_touch_read(const unsigned char *p, uint32_t len) {
  uint64_t sum = 0;
  for (uint32_t k = 0; k < len; k++) sum += p[k];
  return sum;
}

__attribute__((noinline)) void tb_touch_write(void *p, int byte, size_t len) { memset(p, byte, len); }
