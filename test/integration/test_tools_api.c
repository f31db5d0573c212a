/* Integration tests: the library side of the tools — pgorm_registry_diff_sql (pgorm/migrate.h)
 * and pgorm_testdb (pgorm/testing.h): arguments refused, nothing changed in the database, the
 * caller's transaction kept, the test schema dropped. (test/tools/test_gen.sh tests pgorm-gen
 * diff end to end; examples/testing/ is the user's view of testing.h.) */
#include "pgtest.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct P { pgorm_object o; int64_t id; char *name; } P;
typedef struct C { pgorm_object o; int64_t id, p_id; P *p; } C;
extern const pgorm_model p_model, c_model, q_model;
static const pgorm_column p_cols[] = { PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, P, id),
	PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, P, name), PGORM_COLUMN_END };
static const pgorm_column c_cols[] = { PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, C, id),
	PGORM_COLUMN_FK(INT8, "p_id", 0, C, p_id, "tp", "id", PGORM_FK_CASCADE), PGORM_COLUMN_END };
static const pgorm_relationship c_rels[] = { { PGORM_M2O("p", C, p, &p_model, "p_id", NULL) }, PGORM_RELATIONSHIP_END };
const pgorm_model p_model = PGORM_MODEL("tp", P, p_cols, NULL);
const pgorm_model c_model = PGORM_MODEL("tc", C, c_cols, c_rels);
const pgorm_model q_model = PGORM_MODEL_IN("elsewhere", "tq", P, p_cols, NULL);

static pgorm_registry *make_reg(const pgorm_model *const *models, size_t n)
{
	pgorm_registry *reg = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, models, n, &err) == 0, "%s", err.message);
	return reg;
}

static int64_t schemas_like(pgorm_conn *c, const char *pattern)
{
	pgorm_value p = PGORM_TEXT(pattern);
	pgorm_result *r = NULL;
	ck_assert_int_eq(pgorm_conn_exec(c, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", 1, &p, &r), 0);
	int64_t n = -1;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &n), 0);
	pgorm_result_free(r);
	return n;
}

START_TEST(test_diff_arguments)
{
	const pgorm_model *models[] = { &p_model, &c_model };
	pgorm_registry *reg = make_reg(models, 2);
	pgorm_conn *c = pgtest_connect();
	char *sql = (char *)"x";
	ck_assert_int_eq(pgorm_registry_diff_sql(reg, NULL, "s", 0, &sql), PGORM_EINVAL);
	ck_assert_ptr_null(sql);
	ck_assert_int_eq(pgorm_registry_diff_sql(NULL, c, "s", 0, &sql), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_registry_diff_sql(reg, c, "", 0, &sql), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_registry_diff_sql(reg, c, "s", 0, NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_registry_diff_sql(reg, c, "s", 1u << 5, &sql), PGORM_EINVAL);
	/* a model bound to its own schema cannot be compared with one schema */
	const pgorm_model *qm[] = { &q_model };
	pgorm_registry *qreg = make_reg(qm, 1);
	ck_assert_int_eq(pgorm_registry_diff_sql(qreg, c, "s", 0, &sql), PGORM_EINVAL);
	ck_assert_msg(strstr(pgorm_conn_error(c)->message, "model tq names schema elsewhere") != NULL, "%s",
	              pgorm_conn_error(c)->message);
	/* a failed transaction: refused, left as it was */
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	ck_assert_int_ne(pgorm_conn_exec(c, "SELECT 1/0", 0, NULL, NULL), 0);
	ck_assert_int_eq(pgorm_registry_diff_sql(reg, c, "s", 0, &sql), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INERROR);
	ck_assert_int_eq(pgorm_conn_rollback(c), 0);
	pgorm_conn_close(c);
	pgorm_registry_destroy(qreg);
	pgorm_registry_destroy(reg);
}
END_TEST

/* Inside the caller's transaction: a savepoint, rolled back; the transaction goes on and
 * nothing of the scratch schema stays. Then the script, run, leaves nothing to do. */
START_TEST(test_diff_in_callers_transaction)
{
	const pgorm_model *models[] = { &p_model, &c_model };
	pgorm_registry *reg = make_reg(models, 2);
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "DROP SCHEMA IF EXISTS tools_api_target CASCADE");
	ck_assert_int_eq(pgorm_conn_begin(c), 0);
	pgtest_exec(c, "CREATE TEMP TABLE mine (x int)");
	char *sql = NULL;
	int n = pgorm_registry_diff_sql(reg, c, "tools_api_target", 0, &sql);
	ck_assert_msg(n == 3, "%d: %s", n, n < 0 ? pgorm_conn_error(c)->message : sql);
	/* schema, 2 tables (tc's FK inline, after tp), 1 index; counted: tables, index = 3 + ... */
	ck_assert_ptr_nonnull(strstr(sql, "CREATE SCHEMA IF NOT EXISTS \"tools_api_target\";\n"));
	const char *tp = strstr(sql, "CREATE TABLE \"tp\""), *tc = strstr(sql, "CREATE TABLE \"tc\"");
	ck_assert_msg(tp != NULL && tc != NULL && tp < tc, "%s", sql);
	ck_assert_ptr_nonnull(strstr(sql, "REFERENCES tp(id) ON DELETE CASCADE"));
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INTRANS);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM mine"), 0);  /* the caller's work is there */
	ck_assert_int_eq(schemas_like(c, "pgorm\\_diff\\_%"), 0);
	ck_assert_int_eq(schemas_like(c, "tools\\_api\\_target"), 0);
	ck_assert_int_eq(pgorm_conn_rollback(c), 0);
	/* run it (a multi-statement script: the simple protocol), then: no difference */
	PGresult *res = PQexec(pgorm_conn_pq(c), sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
	PQclear(res);
	pgorm_free(sql);
	sql = (char *)"x";
	ck_assert_int_eq(pgorm_registry_diff_sql(reg, c, "tools_api_target", 0, &sql), 0);
	ck_assert_ptr_null(sql);
	pgtest_exec(c, "DROP SCHEMA tools_api_target CASCADE");
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
}
END_TEST

START_TEST(test_testdb)
{
	const pgorm_model *models[] = { &p_model, &c_model };
	pgorm_registry *reg = make_reg(models, 2);
	pgorm_testdb *db = (pgorm_testdb *)1;
	pgorm_error err;
	ck_assert_int_eq(pgorm_testdb_open(NULL, NULL, reg, NULL, &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_testdb_open(&db, NULL, reg, "bad-prefix", &err), PGORM_EINVAL);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(pgorm_testdb_open(&db, NULL, reg, "", &err), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_testdb_open(&db, "host=/nonexistent-dir", reg, "tapi", &err), PGORM_ECONN);
	ck_assert_ptr_null(db);
	/* open: a schema of its own with the tables, search_path there, a transaction open */
	ck_assert_msg(pgorm_testdb_open(&db, pgtest_dsn(), reg, "tapi", &err) == 0, "%s", err.message);
	pgorm_conn *c = pgorm_testdb_conn(db);
	char want[64];
	snprintf(want, sizeof want, "tapi_%ld_", (long)getpid());
	ck_assert_msg(strncmp(pgorm_testdb_schema(db), want, strlen(want)) == 0, "%s", pgorm_testdb_schema(db));
	ck_assert_str_eq(pgtest_text(c, "SELECT current_schema()"), pgorm_testdb_schema(db));
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_INTRANS);
	ck_assert_ptr_nonnull(strstr(pgorm_testdb_conninfo(db), "options='-csearch_path=tapi_"));
	/* a session commits (a savepoint); the rollback takes it away, the tables stay */
	pgorm_session *s = NULL;
	ck_assert_int_eq(pgorm_testdb_session(db, reg, NULL, &s), 0);
	P *p = pgorm_object_new(s, &p_model);
	p->name = "a";
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM tp"), 1);
	pgorm_session_destroy(s);
	ck_assert_int_eq(pgorm_testdb_rollback(db), 0);
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM tp"), 0);
	char name[64];
	snprintf(name, sizeof name, "%s", pgorm_testdb_schema(db));
	pgorm_testdb_close(db);
	pgorm_testdb_close(NULL);
	pgorm_conn *check = pgtest_connect();
	ck_assert_int_eq(schemas_like(check, name), 0);
	pgorm_conn_close(check);
	/* a URI gets the option as a parameter */
	ck_assert_msg(pgorm_testdb_open(&db, "postgresql:///?host=/nonexistent-dir", NULL, "tapi", &err) == PGORM_ECONN,
	              "%s", err.message);
	pgorm_registry_destroy(reg);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("tools_api");
	TCase *tc = pgtest_tcase(su, "api", 60, NULL, NULL);
	tcase_add_test(tc, test_diff_arguments);
	tcase_add_test(tc, test_diff_in_callers_transaction);
	tcase_add_test(tc, test_testdb);
	return pgtest_run(su);
}
