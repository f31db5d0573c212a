/* Unit tests: error codes, names, and the error object. */
#include "pgtest.h"
#include "internal.h"

#include <string.h>

START_TEST(test_names_and_messages)
{
	ck_assert_str_eq(pgorm_err_name(PGORM_ENOMEM), "PGORM_ENOMEM");
	ck_assert_str_eq(pgorm_strerror(PGORM_ENOMEM), "out of memory");
	ck_assert_str_eq(pgorm_strerror(0), "success");
	ck_assert_str_eq(pgorm_strerror(-9999), "unknown error");
	ck_assert_str_eq(pgorm_err_name(-9999), "PGORM_EUNKNOWN");
}
END_TEST

START_TEST(test_error_set_truncates)
{
	pgorm_error e;
	char big[1000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(pgorm__error_set(&e, PGORM_EINVAL, "%s", big), PGORM_EINVAL);
	ck_assert_int_eq(e.code, PGORM_EINVAL);
	ck_assert_uint_eq(strlen(e.message), sizeof e.message - 1);
	ck_assert_int_eq(e.stmt_index, -1);
	ck_assert_int_eq(pgorm__error_set(NULL, PGORM_EINVAL, "x"), PGORM_EINVAL);
	pgorm_error_clear(NULL);
}
END_TEST

START_TEST(test_connection_class)
{
	pgorm_error e;
	pgorm_error_clear(&e);
	ck_assert(!pgorm_error_is_connection(&e));
	strcpy(e.sqlstate, "57P01");
	ck_assert(pgorm_error_is_connection(&e));
	strcpy(e.sqlstate, "25006");
	ck_assert(pgorm_error_is_connection(&e));
	strcpy(e.sqlstate, "23505");
	ck_assert(!pgorm_error_is_connection(&e));
	ck_assert(!pgorm_error_is_connection(NULL));
}
END_TEST

/* The one SQLSTATE table: codes and flags as exec, the error helpers and the pool use them. */
START_TEST(test_sqlstate_table)
{
	ck_assert_int_eq(pgorm__sqlstate_code("23505"), PGORM_ECONSTRAINT);
	ck_assert_int_eq(pgorm__sqlstate_code("40001"), PGORM_ESERIALIZATION);
	ck_assert_int_eq(pgorm__sqlstate_code("40P01"), PGORM_ESERIALIZATION);
	ck_assert_int_eq(pgorm__sqlstate_code("08006"), PGORM_ECONN);
	ck_assert_int_eq(pgorm__sqlstate_code("57P01"), PGORM_ECONN);
	ck_assert_int_eq(pgorm__sqlstate_code("57P05"), PGORM_ECONN);
	ck_assert_int_eq(pgorm__sqlstate_code("25006"), PGORM_ESERVER);
	ck_assert_int_eq(pgorm__sqlstate_code("3D000"), PGORM_ESERVER);
	ck_assert_int_eq(pgorm__sqlstate_code("42601"), PGORM_ESERVER);
	ck_assert_int_eq(pgorm__sqlstate_code(""), PGORM_ESERVER);
	ck_assert_int_eq(pgorm__sqlstate_code(NULL), PGORM_ESERVER);
	ck_assert_int_eq(pgorm__sqlstate_code("08"), PGORM_ESERVER); /* not a whole SQLSTATE */
	const char *failover[] = { "08000", "08006", "57P01", "57P02", "57P03", "25006" };
	for (size_t i = 0; i < PGORM__ARRAY_LEN(failover); i++)
		ck_assert_msg(pgorm__sqlstate_flags(failover[i]) == PGORM__SQLSTATE_FAILOVER, "%s", failover[i]);
	const char *permanent[] = { "28P01", "28000", "3D000" };
	for (size_t i = 0; i < PGORM__ARRAY_LEN(permanent); i++)
		ck_assert_msg(pgorm__sqlstate_flags(permanent[i]) == PGORM__SQLSTATE_PERMANENT, "%s", permanent[i]);
	const char *plain[] = { "57P04", "57P05", "25P03", "23505", "40001", "3D001", "42P05" };
	for (size_t i = 0; i < PGORM__ARRAY_LEN(plain); i++)
		ck_assert_msg(pgorm__sqlstate_flags(plain[i]) == 0, "%s", plain[i]);
	ck_assert_uint_eq(pgorm__sqlstate_flags(NULL), 0);
}
END_TEST

START_TEST(test_quote_ident)
{
	char b[16];
	ck_assert_int_eq(pgorm_quote_ident(b, sizeof b, "a\"b"), 6);
	ck_assert_str_eq(b, "\"a\"\"b\"");
	ck_assert_int_eq(pgorm_quote_ident(b, sizeof b, ""), -1);
	ck_assert_int_eq(pgorm_quote_ident(b, sizeof b, NULL), -1);
	ck_assert_int_eq(pgorm_quote_ident(b, 4, "abcdef"), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_names_and_messages);
	tcase_add_test(tc, test_error_set_truncates);
	tcase_add_test(tc, test_connection_class);
	tcase_add_test(tc, test_sqlstate_table);
	tcase_add_test(tc, test_quote_ident);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
