/* Integration tests for the exec layer against a real server. */
#include "pgtest.h"

#include <string.h>

START_TEST(test_roundtrip_params)
{
	pgorm_conn *c = pgtest_connect();
	pgorm_result *r = NULL;
	pgorm_value p[] = { PGORM_INT8(41), PGORM_TEXT("héllo") };
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT $1::int8 + 1, $2::text || '!'", 2, p, &r), 0);
	int64_t v;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_str_eq(pgorm_result_text(r, 0, 1), "héllo!");
	pgorm_result_free(r);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_server_error_has_sqlstate)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "CREATE TABLE u (id int PRIMARY KEY)");
	pgtest_exec(c, "INSERT INTO u VALUES (1)");
	int rc = pgorm_conn_exec(c, "INSERT INTO u VALUES (1)", 0, NULL, NULL);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	const pgorm_error *e = pgorm_conn_error(c);
	ck_assert_str_eq(e->sqlstate, "23505");
	ck_assert_str_eq(e->constraint, "u_pkey");
	ck_assert_str_eq(e->table, "u");
	ck_assert_ptr_nonnull(strstr(e->statement, "INSERT INTO u"));
	ck_assert(pgorm_conn_ok(c));
	pgorm_conn_close(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_add_test(tc, test_roundtrip_params);
	tcase_add_test(tc, test_server_error_has_sqlstate);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
