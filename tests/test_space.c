/* test_space.c: the space layer's contract (space.h). */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "space.h"
#include "tb_testutil.h"

START_TEST(t_page_size_from_system) {
  long p = sysconf(_SC_PAGESIZE);
  ck_assert_uint_eq(space_system_page_size(), (size_t)p);
  space_t s;
  ck_assert_int_eq(space_init_mmap(&s, NULL), 0);
  ck_assert_uint_eq(s.page_size, (size_t)p);
  ck_assert_uint_eq((uintptr_t)s.base % s.page_size, 0);
  ck_assert_uint_eq(s.committed % s.page_size, 0);
  space_destroy(&s);
}
END_TEST

START_TEST(t_growth_policy) {
  space_t s;
  space_config_t c = {.initial = 128 << 10, .reserve = 64 << 20};
  ck_assert_int_eq(space_init_mmap(&s, &c), 0);
  size_t first = s.committed;
  ck_assert_uint_eq(first, space_page_round(&s, 128 << 10));
  uint8_t *base = s.base;
  memset(s.base, 1, s.committed);
  ck_assert_int_eq(space_grow_to(&s, first + 1), 0);
  ck_assert_uint_eq(s.committed, 2 * first); /* doubles */
  ck_assert_int_eq(space_grow_to(&s, 5 * first), 0);
  ck_assert_uint_eq(s.committed, 8 * first); /* power-of-two multiple covering the need */
  ck_assert_ptr_eq(s.base, base);            /* never moves */
  ck_assert_uint_eq(s.base[0], 1);           /* content kept */
  memset(s.base, 2, s.committed);            /* all of it writable */
  ck_assert_uint_eq(s.grows, 2);
  ck_assert_int_eq(space_grow_to(&s, s.reserved + 1), ENOMEM);
  ck_assert_int_eq(space_grow_to(&s, s.reserved), 0); /* capped at the reservation */
  ck_assert_uint_eq(s.committed, s.reserved);
  ck_assert_int_eq(space_trim(&s, 1), 0);
  ck_assert_uint_eq(s.committed, first); /* trim keeps the initial commit */
  ck_assert_uint_eq(s.base[0], 2);
  space_destroy(&s);
}
END_TEST

START_TEST(t_growth_shift) {
  space_t s;
  space_config_t c = {.initial = 1, .reserve = 1 << 30, .growth_shift = 2};
  ck_assert_int_eq(space_init_mmap(&s, &c), 0);
  ck_assert_uint_eq(s.committed, s.page_size);
  ck_assert_int_eq(space_grow_to(&s, s.page_size + 1), 0);
  ck_assert_uint_eq(s.committed, 4 * s.page_size);
  space_destroy(&s);
}
END_TEST

START_TEST(t_injected_failures) {
  space_os_failing_t f;
  space_os_failing_init(&f, NULL);
  space_t s;
  space_config_t c = {.os = &f.os};
  f.reserves_left = 0;
  ck_assert_int_eq(space_init_mmap(&s, &c), ENOMEM);
  f.reserves_left = -1;
  f.commits_left = 0;
  ck_assert_int_ne(space_init_mmap(&s, &c), 0); /* first commit fails: nothing leaks */
  f.commits_left = 1;
  ck_assert_int_eq(space_init_mmap(&s, &c), 0);
  size_t before = s.committed;
  ck_assert_int_eq(space_grow_to(&s, before + 1), ENOMEM);
  ck_assert_uint_eq(s.committed, before); /* unchanged on failure */
  f.maps_left = 0;
  ck_assert_ptr_null(space_map(&s, 1 << 20));
  ck_assert(f.failures == 4);
  f.commits_left = -1;
  f.maps_left = -1;
  ck_assert_int_eq(space_grow_to(&s, before + 1), 0);
  void *m = space_map(&s, 1 << 20);
  ck_assert_ptr_nonnull(m);
  memset(m, 3, 1 << 20);
  space_unmap(&s, m, 1 << 20);
  space_destroy(&s);
}
END_TEST

START_TEST(t_fixed_space) {
  static _Alignas(16) unsigned char buf[10000];
  space_t s;
  ck_assert_int_eq(space_init_fixed(&s, buf + 1, 100), EINVAL);
  ck_assert_int_eq(space_init_fixed(&s, buf, sizeof buf), 0);
  ck_assert_uint_eq(s.committed, 10000 & ~15u);
  ck_assert_int_eq(space_grow_to(&s, s.committed), 0);
  ck_assert_int_eq(space_grow_to(&s, s.committed + 1), ENOMEM);
  ck_assert(space_contains(&s, buf));
  ck_assert(!space_contains(&s, buf + s.committed));
  space_destroy(&s);
}
END_TEST

START_TEST(t_bad_config) {
  space_t s;
  space_config_t c = {.initial = 1 << 20, .reserve = 1 << 16};
  ck_assert_int_eq(space_init_mmap(&s, &c), EINVAL);
  space_config_t d = {.growth_shift = 9};
  ck_assert_int_eq(space_init_mmap(&s, &d), EINVAL);
}
END_TEST

/* The region hook: told every new space's reservation with its tag, every
 * space_map block as BLOCKS, and what space_tell is given; nothing once it
 * is removed. */
static struct {
  const void *base[8];
  size_t len[8];
  space_tag_t tag[8];
  int n;
} told;
static void hook(const void *base, size_t len, space_tag_t tag) {
  if (told.n < 8) told.base[told.n] = base, told.len[told.n] = len, told.tag[told.n] = tag;
  told.n++;
}

START_TEST(t_region_hook) {
  memset(&told, 0, sizeof told);
  space_set_region_hook(hook);
  space_t a, m;
  ck_assert_int_eq(space_init_mmap(&a, NULL), 0);
  space_config_t c = {.tag = SPACE_TAG_META, .reserve = 1 << 20};
  ck_assert_int_eq(space_init_mmap(&m, &c), 0);
  ck_assert_int_eq(m.tag, SPACE_TAG_META);
  ck_assert_int_eq(a.tag, SPACE_TAG_BLOCKS);
  ck_assert_int_eq(space_grow_to(&m, m.committed + 1), 0); /* growth is not told again */
  void *p = space_map(&a, 100);
  ck_assert_ptr_nonnull(p);
  int d;
  space_tell(&d, sizeof d, SPACE_TAG_DESC);
  ck_assert_int_eq(told.n, 4);
  ck_assert_ptr_eq(told.base[0], a.base);
  ck_assert_uint_eq(told.len[0], a.reserved);
  ck_assert_int_eq(told.tag[0], SPACE_TAG_BLOCKS);
  ck_assert_ptr_eq(told.base[1], m.base);
  ck_assert_uint_eq(told.len[1], m.reserved);
  ck_assert_int_eq(told.tag[1], SPACE_TAG_META);
  ck_assert_ptr_eq(told.base[2], p);
  ck_assert_uint_eq(told.len[2], a.page_size);
  ck_assert_int_eq(told.tag[2], SPACE_TAG_BLOCKS);
  ck_assert_ptr_eq(told.base[3], &d);
  ck_assert_int_eq(told.tag[3], SPACE_TAG_DESC);
  space_unmap(&a, p, 100);
  space_set_region_hook(NULL);
  space_t b;
  ck_assert_int_eq(space_init_mmap(&b, &c), 0);
  ck_assert_int_eq(told.n, 4);
  space_destroy(&b);
  space_destroy(&m);
  space_destroy(&a);
}
END_TEST

int main(void) {
  Suite *su = suite_create("space");
  TCase *tc = tcase_create("space");
  tcase_add_test(tc, t_page_size_from_system);
  tcase_add_test(tc, t_growth_policy);
  tcase_add_test(tc, t_growth_shift);
  tcase_add_test(tc, t_injected_failures);
  tcase_add_test(tc, t_fixed_space);
  tcase_add_test(tc, t_bad_config);
  tcase_add_test(tc, t_region_hook);
  suite_add_tcase(su, tc);
  return tb_test_run(su, NULL);
}
