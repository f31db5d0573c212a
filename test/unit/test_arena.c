/* Unit tests: the arena (alignment, oversized chunks, marks) with a counting allocator, so
 * that a chunk kept past a reset shows as a live allocation. */
#include "pgtest.h"
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long live;
static void *count_malloc(size_t n) { live++; return malloc(n); }
static void *count_calloc(size_t n, size_t k) { live++; return calloc(n, k); }
static void *count_realloc(void *p, size_t n) { if (p == NULL) live++; return realloc(p, n); }
static void count_free(void *p) { if (p != NULL) live--; free(p); }

static void setup(void)
{
	static const pgorm_allocator counting = { count_malloc, count_calloc, count_realloc, count_free };
	live = 0;
	pgorm_set_allocator(&counting);
}

static void teardown(void) { pgorm_set_allocator(NULL); }

START_TEST(test_alignment_and_strings)
{
	pgorm__arena a;
	pgorm__arena_init(&a);
	for (size_t n = 1; n < 100; n++) {
		void *p = pgorm__arena_alloc(&a, n);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 8, 0);
	}
	char *s = pgorm__arena_strndup(&a, "hello world", 5);
	ck_assert_str_eq(s, "hello");
	uint8_t *z = pgorm__arena_calloc(&a, 64);
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(z[i], 0);
	ck_assert_ptr_null(pgorm__arena_alloc(&a, SIZE_MAX - 4)); /* no overflow, no crash */
	pgorm__arena_free_all(&a);
	ck_assert_int_eq(live, 0);
}
END_TEST

START_TEST(test_oversized_chunk_keeps_bump_chunk)
{
	pgorm__arena a;
	pgorm__arena_init(&a);
	char *small = pgorm__arena_alloc(&a, 16);
	char *big = pgorm__arena_alloc(&a, 1 << 20);
	char *small2 = pgorm__arena_alloc(&a, 16);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_eq(small2, small + 16); /* still bumping in the first chunk */
	memset(big, 1, 1 << 20);
	ck_assert_int_eq(live, 2);
	pgorm__arena_free_all(&a);
	ck_assert_int_eq(live, 0);
}
END_TEST

/* Before: an oversized chunk allocated after a mark, while the marked chunk was still the
 * bump target, survived the reset until the arena was freed (a stream batch with large
 * values grew the session's memory batch after batch). */
START_TEST(test_issue_reset_frees_oversized_chunks)
{
	pgorm__arena a;
	pgorm__arena_init(&a);
	pgorm__arena_alloc(&a, 100);
	long before = live;
	for (int round = 0; round < 10; round++) {
		pgorm__arena_mark m = pgorm__arena_get_mark(&a);
		ck_assert_ptr_nonnull(pgorm__arena_alloc(&a, 200000));
		ck_assert_ptr_nonnull(pgorm__arena_alloc(&a, 50));
		ck_assert_ptr_nonnull(pgorm__arena_alloc(&a, 300000));
		for (int i = 0; i < 5000; i++) /* new bump chunks after the mark, with oversized ones behind them */
			ck_assert_ptr_nonnull(pgorm__arena_alloc(&a, i % 97 == 0 ? 40000 : 48));
		pgorm__arena_reset(&a, m);
		ck_assert_int_eq(live, before);
	}
	char *p = pgorm__arena_alloc(&a, 8);
	ck_assert_ptr_nonnull(p);
	pgorm__arena_free_all(&a);
	ck_assert_int_eq(live, 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("arena");
	TCase *tc = tcase_create("arena");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_alignment_and_strings);
	tcase_add_test(tc, test_oversized_chunk_keeps_bump_chunk);
	tcase_add_test(tc, test_issue_reset_frees_oversized_chunks);
	suite_add_tcase(su, tc);
	return pgtest_run(su);
}
