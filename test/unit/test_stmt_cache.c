/* Unit tests: the statement cache's hashing, LRU order and pinning. */
#include "pgtest.h"
#include "stmt_cache.h"

#include <stdio.h>
#include <string.h>

START_TEST(test_find_insert_lru)
{
	pgorm__stmt_cache c;
	ck_assert_int_eq(pgorm__stmt_cache_init(&c, 2), 0);
	unsigned o1[] = { 20 }, o2[] = { 25 };
	ck_assert_ptr_null(pgorm__stmt_cache_find(&c, "SELECT $1", 1, o1));
	pgorm__stmt_entry *a = pgorm__stmt_cache_insert(&c, "SELECT $1", 1, o1);
	pgorm__stmt_entry *b = pgorm__stmt_cache_insert(&c, "SELECT $1", 1, o2);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_ne(a->name, b->name);             /* same SQL, other param types */
	ck_assert_ptr_eq(pgorm__stmt_cache_find(&c, "SELECT $1", 1, o1), a);
	ck_assert_ptr_eq(pgorm__stmt_cache_victim(&c, 0), b); /* a was used last */
	b->pin = 7;
	ck_assert_ptr_eq(pgorm__stmt_cache_victim(&c, 7), a);
	pgorm__stmt_cache_remove(&c, a);
	ck_assert_uint_eq(c.count, 1);
	ck_assert_ptr_null(pgorm__stmt_cache_find(&c, "SELECT $1", 1, o1));
	pgorm__stmt_cache_finish(&c);
}
END_TEST

START_TEST(test_many_entries)
{
	pgorm__stmt_cache c;
	ck_assert_int_eq(pgorm__stmt_cache_init(&c, 1000), 0);
	char sql[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(sql, sizeof sql, "SELECT %d", i);
		ck_assert_ptr_nonnull(pgorm__stmt_cache_insert(&c, sql, 0, NULL));
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(sql, sizeof sql, "SELECT %d", i);
		pgorm__stmt_entry *e = pgorm__stmt_cache_find(&c, sql, 0, NULL);
		ck_assert_ptr_nonnull(e);
		ck_assert_str_eq(e->sql, sql);
	}
	ck_assert_str_eq(pgorm__stmt_cache_victim(&c, 0)->sql, "SELECT 0");
	pgorm__stmt_cache_finish(&c);
}
END_TEST

START_TEST(test_retire_sweep_garbage)
{
	pgorm__stmt_cache c;
	ck_assert_int_eq(pgorm__stmt_cache_init(&c, 4), 0);
	pgorm__stmt_entry *a = pgorm__stmt_cache_insert(&c, "A", 0, NULL);
	pgorm__stmt_entry *b = pgorm__stmt_cache_insert(&c, "B", 0, NULL);
	pgorm__stmt_entry *d = pgorm__stmt_cache_insert(&c, "D", 0, NULL);
	char bname[sizeof b->name];
	strcpy(bname, b->name);
	a->doom = PGORM__STMT_DROP;     /* never prepared: just forgotten */
	b->doom = PGORM__STMT_RETIRE;   /* prepared: queued for DEALLOCATE */
	pgorm__stmt_cache_sweep(&c);
	ck_assert_uint_eq(c.count, 1);
	ck_assert_ptr_eq(pgorm__stmt_cache_find(&c, "D", 0, NULL), d);
	ck_assert_ptr_null(pgorm__stmt_cache_find(&c, "A", 0, NULL));
	ck_assert_uint_eq(c.ngarbage, 1);
	ck_assert_str_eq(c.garbage[0], bname);
	for (int i = 0; i < 20; i++) /* the garbage list grows */
		ck_assert_int_eq(pgorm__stmt_cache_garbage_push(&c, "x"), 0);
	ck_assert_uint_eq(c.ngarbage, 21);
	pgorm__stmt_cache_retire(&c, d);
	ck_assert_uint_eq(c.count, 0);
	ck_assert_uint_eq(c.ngarbage, 22);
	pgorm__stmt_cache_clear(&c);   /* after DISCARD ALL nothing is left to DEALLOCATE */
	ck_assert_uint_eq(c.ngarbage, 0);
	/* a name is never reused for new SQL */
	pgorm__stmt_entry *a2 = pgorm__stmt_cache_insert(&c, "A", 0, NULL);
	ck_assert_str_ne(a2->name, bname);
	pgorm__stmt_cache_finish(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stmt_cache");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_find_insert_lru);
	tcase_add_test(tc, test_many_entries);
	tcase_add_test(tc, test_retire_sweep_garbage);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
