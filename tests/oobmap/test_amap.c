/* test_amap.c: the address map of oob-map (allocators/oob-map/amap.h) on
 * its own: the flat table (cover, get/set, count, growth and its failure)
 * and the large map (put/get/del against a model, growth, backward-shift
 * deletion keeping every other key findable, growth failure). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amap.h"
#include "tb_testutil.h"

START_TEST(t_flat_basic) {
  amap_t m;
  size_t reserve = (size_t)64 << 20, committed = (size_t)128 << 10;
  ck_assert_int_eq(amap_init(&m, reserve, committed, NULL), 0);
  ck_assert_uint_ge(m.cover, committed);
  ck_assert_uint_eq(amap_committed(&m), m.cover >> AMAP_RATIO_SHIFT);
  ck_assert_uint_eq(amap_count(&m, m.cover), 0);
  /* Every granule distinct; neighbours do not disturb each other. */
  for (uint64_t off = 0; off < committed; off += 16) amap_set(&m, off, (uint32_t)(off / 16 * 7 + 1));
  for (uint64_t off = 0; off < committed; off += 16) {
    if (amap_get(&m, off) != (uint32_t)(off / 16 * 7 + 1)) ck_abort_msg("entry at offset %llu wrong", (unsigned long long)off);
  }
  /* An unaligned offset names its granule. */
  ck_assert_uint_eq(amap_get(&m, 16 * 5 + 9), 5 * 7 + 1);
  ck_assert_uint_eq(amap_count(&m, committed), committed / 16);
  for (uint64_t off = 0; off < committed; off += 32) amap_set(&m, off, 0);
  ck_assert_uint_eq(amap_count(&m, committed), committed / 32);
  /* Growth keeps entries and covers the new size. */
  size_t big = (size_t)8 << 20;
  ck_assert_int_eq(amap_cover(&m, big), 0);
  ck_assert_uint_ge(m.cover, big);
  ck_assert_uint_eq(amap_get(&m, 16), 1 * 7 + 1);
  ck_assert_uint_eq(amap_get(&m, big - 16), 0);
  amap_set(&m, big - 16, 42);
  ck_assert_uint_eq(amap_get(&m, big - 16), 42);
  ck_assert_int_eq(amap_cover(&m, 16), 0); /* already covered: no-op */
  /* Beyond the reservation: refused, unchanged. */
  size_t before = m.cover;
  ck_assert_int_eq(amap_cover(&m, reserve * 2), ENOMEM);
  ck_assert_uint_eq(m.cover, before);
  amap_destroy(&m);
}
END_TEST

START_TEST(t_flat_commit_fails) {
  space_os_failing_t f;
  space_os_failing_init(&f, &space_os_system);
  amap_t m;
  ck_assert_int_eq(amap_init(&m, (size_t)64 << 20, (size_t)64 << 10, &f.os), 0);
  amap_set(&m, 4096, 9);
  size_t before = m.cover;
  f.commits_left = 0;
  ck_assert_int_eq(amap_cover(&m, (size_t)4 << 20), ENOMEM);
  ck_assert_uint_eq(m.cover, before);
  ck_assert_uint_eq(amap_get(&m, 4096), 9);
  f.commits_left = -1;
  ck_assert_int_eq(amap_cover(&m, (size_t)4 << 20), 0);
  ck_assert_uint_eq(amap_get(&m, 4096), 9);
  amap_destroy(&m);
  /* A reservation that fails leaves nothing behind. */
  f.reserves_left = 0;
  ck_assert_int_ne(amap_init(&m, (size_t)64 << 20, (size_t)64 << 10, &f.os), 0);
}
END_TEST

/* The large map against a model: keys at 64 KiB steps (they collide in
 * probe runs often enough at load 1/2), random puts and deletes. */
START_TEST(t_large_model) {
  amap_large_t l;
  ck_assert_int_eq(amap_large_init(&l, NULL), 0);
  enum { K = 3000 };
  static uint32_t model[K]; /* record of key k, 0: absent */
  memset(model, 0, sizeof model);
  tb_rng_t r = {0xa11a9e5u + (uint64_t)_i};
  size_t n = 0;
  long mismatches = 0;
  for (long op = 0; op < 60000; op++) {
    unsigned k = (unsigned)(tb_rand(&r) % K);
    const void *p = (const void *)(uintptr_t)(((uintptr_t)k + 1) << 16);
    if (model[k]) {
      if (amap_large_get(&l, p) != model[k]) mismatches++;
      amap_large_del(&l, p);
      model[k] = 0;
      n--;
    } else {
      if (amap_large_get(&l, p) != 0) mismatches++;
      ck_assert(amap_large_ready(&l));
      uint32_t v = (uint32_t)(op + 1);
      amap_large_put(&l, p, v);
      model[k] = v;
      n++;
    }
    ck_assert_uint_eq(l.n, n);
    ck_assert_uint_le(2 * l.n, l.cap);
    if (op % 5000 == 0) { /* every key findable, absent ones absent */
      for (unsigned j = 0; j < K; j++)
        if (amap_large_get(&l, (const void *)(uintptr_t)(((uintptr_t)j + 1) << 16)) != model[j]) mismatches++;
    }
  }
  ck_assert_msg(mismatches == 0, "%ld lookups disagreed with the model", mismatches);
  ck_assert_uint_gt(l.cap, AMAP_LARGE_CAP0); /* it grew */
  amap_large_destroy(&l);
}
END_TEST

START_TEST(t_large_grow_fails) {
  space_os_failing_t f;
  space_os_failing_init(&f, &space_os_system);
  amap_large_t l;
  ck_assert_int_eq(amap_large_init(&l, &f.os), 0);
  size_t k = 0;
  /* Fill until the next growth needs a commit. */
  while (2 * (l.n + 1) <= l.cap || l.used + 2 * l.cap * sizeof(amap_slot_t) <= l.space.committed) {
    ck_assert(amap_large_ready(&l));
    amap_large_put(&l, (const void *)(uintptr_t)((k + 1) << 20), (uint32_t)(k + 1));
    k++;
  }
  f.commits_left = 0;
  ck_assert(!amap_large_ready(&l));
  for (size_t j = 0; j < k; j++)
    ck_assert_uint_eq(amap_large_get(&l, (const void *)(uintptr_t)((j + 1) << 20)), j + 1);
  f.commits_left = -1;
  ck_assert(amap_large_ready(&l));
  for (size_t j = 0; j < k; j++)
    ck_assert_uint_eq(amap_large_get(&l, (const void *)(uintptr_t)((j + 1) << 20)), j + 1);
  amap_large_destroy(&l);
}
END_TEST

int main(void) {
  Suite *s = suite_create("amap");
  TCase *tc = tcase_create("amap");
  tcase_add_test(tc, t_flat_basic);
  tcase_add_test(tc, t_flat_commit_fails);
  tcase_add_loop_test(tc, t_large_model, 0, 3);
  tcase_add_test(tc, t_large_grow_fails);
  suite_add_tcase(s, tc);
  return tb_test_run(s, NULL);
}
