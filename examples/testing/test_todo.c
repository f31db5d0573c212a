/* examples/testing/test_todo.c — a user's own Check suite for the to-do service (todo.h), with
 * pgorm's test support (pgorm/testing.h). Each test gets a fresh schema with the service's
 * tables (a checked fixture: it runs in Check's forked child, so no connection crosses a fork);
 * its sessions join the testdb's outer transaction, so whatever the service commits is rolled
 * back by pgorm_testdb_rollback / close. The server: PGORM_TEST_DSN (pgorm-tmp run sets it).
 *
 *   cc test_todo.c todo.c $(pkg-config --cflags --libs pgorm check) -o test_todo
 *   pgorm-tmp run ./test_todo
 */
#include "todo.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static pgorm_registry *reg;
static pgorm_testdb *db;
static pgorm_session *s;

static int64_t count_sql(const char *sql)
{
	pgorm_result *r = NULL;
	int64_t v = -1;
	ck_assert_msg(pgorm_conn_exec(pgorm_testdb_conn(db), sql, 0, NULL, &r) == 0, "%s",
	              pgorm_conn_error(pgorm_testdb_conn(db))->message);
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	pgorm_result_free(r);
	return v;
}

static void setup(void)
{
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, todo_models, 2, &err) == 0, "%s", err.message);
	ck_assert_msg(pgorm_testdb_open(&db, NULL, reg, "todo_test", &err) == 0, "%s", err.message);
	ck_assert_int_eq(pgorm_testdb_session(db, reg, NULL, &s), 0);
}

static void teardown(void)
{
	pgorm_session_destroy(s);
	pgorm_testdb_close(db);
	pgorm_registry_destroy(reg);
}

START_TEST(test_add_and_complete)
{
	int64_t a, b;
	ck_assert_int_eq(todo_add(s, "home", "dishes", &a), 0);
	ck_assert_int_eq(todo_add(s, "home", "laundry", &b), 0);
	ck_assert_int_eq(todo_complete(s, a), 0);
	int64_t n;
	ck_assert_int_eq(todo_open_count(s, "home", &n), 0);
	ck_assert_int_eq(n, 1);
	/* the rows are there (committed, as far as the service can tell) */
	ck_assert_int_eq(count_sql("SELECT count(*) FROM todo_items WHERE done"), 1);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM todo_lists"), 1);
}
END_TEST

START_TEST(test_complete_unknown_item)
{
	ck_assert_int_eq(todo_complete(s, 12345), PGORM_ENOTFOUND);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM todo_items"), 0);
}
END_TEST

/* The service committed; the outer transaction rolls it all back. */
START_TEST(test_rollback_undoes_commits)
{
	int64_t id;
	ck_assert_int_eq(todo_add(s, "work", "report", &id), 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM todo_items"), 1);
	pgorm_session_destroy(s);
	ck_assert_int_eq(pgorm_testdb_rollback(db), 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM todo_items"), 0);
	ck_assert_int_eq(pgorm_testdb_session(db, reg, NULL, &s), 0);
	ck_assert_int_eq(todo_add(s, "work", "report", &id), 0);
	ck_assert_int_eq(count_sql("SELECT count(*) FROM todo_lists"), 1);
}
END_TEST

/* Service code on a pool of its own reaches the test's schema through pgorm_testdb_conninfo
 * (it sees what is committed there, not the outer transaction). */
START_TEST(test_service_on_a_pool)
{
	pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
	cfg.conninfo = pgorm_testdb_conninfo(db);
	cfg.min_idle = 0;
	cfg.max_size = 2;
	pgorm_pool *pool = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &cfg, &err) == 0, "%s", err.message);
	pgorm_session *ps = NULL;
	ck_assert_int_eq(pgorm_session_create(&ps, reg, pool, NULL, NULL, &err), 0);
	int64_t id, n;
	ck_assert_int_eq(todo_add(ps, "shop", "milk", &id), 0);
	ck_assert_int_eq(todo_open_count(ps, "shop", &n), 0);
	ck_assert_int_eq(n, 1);
	pgorm_session_destroy(ps);
	pgorm_pool_destroy(pool);
	/* committed outside the outer transaction: visible to it, and dropped with the schema */
	ck_assert_int_eq(count_sql("SELECT count(*) FROM todo_items"), 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("todo");
	TCase *tc = tcase_create("service");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_add_and_complete);
	tcase_add_test(tc, test_complete_unknown_item);
	tcase_add_test(tc, test_rollback_undoes_commits);
	tcase_add_test(tc, test_service_on_a_pool);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
