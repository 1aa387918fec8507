/* tbrecord_raw.h: the raw log written by the recording library
 * (libtbrecord.so) and read by `testbed record`. Format spec in
 * workloads/recorder/README.md.
 *
 * Objects and terms:
 *   image   - one process image: a process from its start or its last
 *             exec until it ends or execs again. Each image writes one
 *             raw log, <dir>/raw.<pid>.<k> (k = 0, 1, ... per exec).
 *   record  - one interposed call (tb_raw_rec_t), 40 bytes, host endian.
 *   seq     - the global sequence number of a record, from one atomic
 *             counter per process (inherited across fork, restarted at
 *             exec). Records of a log are written in per-thread chunks,
 *             so the file is NOT in seq order; sort by seq to merge.
 *   thread  - number of the thread in its process, in order of the
 *             thread's first recorded call (not the OS tid).
 *
 * Invariant the seq order gives: a call that releases memory (free,
 * realloc(p, 0)) takes its seq BEFORE calling the real function and a
 * call that obtains memory takes it AFTER, so when an address is freed by
 * one thread and handed out again to another, the free sorts first.
 * realloc takes its seq after the call (a moving realloc racing with
 * another thread's reuse of the old address can therefore sort late; the
 * merger repairs and counts that).
 */
#ifndef TBRECORD_RAW_H
#define TBRECORD_RAW_H

#include <stdint.h>

#define TB_RAW_MAGIC "TBRAWLG1" /* 8 bytes, no NUL stored */
#define TB_RAW_VERSION 1u
#define TB_RAW_EXE_MAX 256u /* bytes for the executable's path, NUL-padded */

typedef enum {
  TB_RAW_MALLOC = 1,         /* ptr = result, size */
  TB_RAW_CALLOC = 2,         /* ptr = result, size = nmemb * size (saturated) */
  TB_RAW_REALLOC = 3,        /* ptr = result, old = argument, size */
  TB_RAW_FREE = 4,           /* ptr = argument */
  TB_RAW_MEMALIGN = 5,       /* ptr = result, size, align */
  TB_RAW_POSIX_MEMALIGN = 6, /* ptr = result (NULL on error), size, align */
  TB_RAW_ALIGNED_ALLOC = 7,  /* ptr = result, size, align */
  TB_RAW_VALLOC = 8,         /* ptr = result, size, align = page size */
  TB_RAW_PVALLOC = 9,        /* ptr = result, size (as asked), align = page size */
  TB_RAW_USABLE_SIZE = 10    /* ptr = argument, size = the answer */
} tb_raw_op_t;

/* File header: 288 bytes. */
typedef struct tb_raw_header_s {
  char magic[8];      /* TB_RAW_MAGIC */
  uint32_t version;   /* TB_RAW_VERSION */
  uint32_t rec_size;  /* sizeof(tb_raw_rec_t) */
  uint32_t pid;       /* process id */
  uint32_t ppid;      /* parent's process id at start */
  uint32_t image;     /* k in raw.<pid>.<k>: number of execs before this image */
  uint32_t page_size; /* bytes */
  char exe[TB_RAW_EXE_MAX]; /* /proc/self/exe at start, NUL-padded */
} tb_raw_header_t;

/* One call: 40 bytes. */
typedef struct tb_raw_rec_s {
  uint64_t seq;    /* global order in the process */
  uint64_t ptr;    /* result of an allocating call, or the argument of free / usable_size */
  uint64_t old;    /* realloc's pointer argument; else 0 */
  uint64_t size;   /* bytes asked (calloc: nmemb * size) or usable_size's answer */
  uint32_t thread; /* thread number in the process */
  uint8_t op;      /* tb_raw_op_t */
  uint8_t align;   /* log2 of the alignment asked, rounded up to a power of two */
  uint16_t flags;  /* reserved, 0 */
} tb_raw_rec_t;

_Static_assert(sizeof(tb_raw_header_t) == 288, "raw header is 288 bytes");
_Static_assert(sizeof(tb_raw_rec_t) == 40, "raw record is 40 bytes");

#endif /* TBRECORD_RAW_H */
