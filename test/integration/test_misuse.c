/* The misuse corpus: every public function of the headers in include/pgorm, called with each
 * pointer argument NULL, with wrong objects (another session's, another model's, another pool's), with enums out
 * of range and absurd sizes, and in the wrong state (commit without a transaction, acquire on a
 * closed pool, flush after a failed flush …). Each case asserts the status code and, wherever
 * an error object is reachable (the err out-parameter, pgorm_conn_error, pgorm_session_error,
 * pgorm_query_error), that it holds the same code and a message (with the fragment that names
 * the culprit where one is given). A function without a status (void, bool, pointer) must do
 * nothing and return its documented neutral value. Nothing may crash, hang or send SQL for a
 * refused call.
 *
 * Excluded, because the headers make them undefined behaviour (not tested):
 *  - using a handle after its destroy/close/free (pgorm_conn_close, pgorm_pool_destroy,
 *    pgorm_session_destroy, pgorm_query_destroy, pgorm_result_free, pgorm_registry_destroy),
 *    and a borrowed connection after pgorm_pool_release or pgorm_pool_destroy;
 *  - a pointer that is not what its type says: an "object" not made by pgorm_object_new or a
 *    query (garbage in its pgorm_object header), a model or registry that is not one, an
 *    unterminated column/relationship table, a string without its NUL;
 *  - a registry destroyed before its sessions, models that do not outlive their registry;
 *  - a session or connection used by two threads at once (debug builds report it, see
 *    test_session's test_second_thread_rejected), pgorm_set_allocator after other calls;
 *  - PQfinish on the libpq connection pgorm_conn_pq hands out;
 *  - pgorm_value payload pointers that do not point at the announced length.
 *
 * test_issue_item<N> are the cases of issue 12 item N (fixed in h-lower and the lead's branch);
 * the other test_issue_* are bugs this corpus and test/fuzz found, fixed with them. */
#include "pgtest.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- models: parent_m (kids) <-> child_m (owner) ---- */

typedef struct Parent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	char *note;
	pgorm_collection kids;
} Parent;

typedef struct Child {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *label;
	Parent *owner;
} Child;

extern const pgorm_model parent_model, child_model, stray_model;
static const pgorm_column parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, Parent, name),
	PGORM_COLUMN(TEXT, "note", PGORM_NULLABLE, Parent, note),
	PGORM_COLUMN_END
};
static const pgorm_relationship parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", Parent, kids, &child_model, "parent_id", "owner", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model parent_model = PGORM_MODEL("misuse_parent", Parent, parent_cols, parent_rels);

static const pgorm_column child_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Child, parent_id, "misuse_parent", "id", PGORM_FK_CASCADE),
	PGORM_COLUMN(TEXT, "label", 0, Child, label),
	PGORM_COLUMN_END
};
static const pgorm_relationship child_rels[] = {
	PGORM_MANY_TO_ONE("owner", Child, owner, &parent_model, "parent_id", "kids"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model child_model = PGORM_MODEL("misuse_child", Child, child_cols, child_rels);

/* a valid model that is in no registry */
static const pgorm_column stray_cols[] = { PGORM_COLUMN(INT8, "id", PGORM_PK, Parent, id), PGORM_COLUMN_END };
const pgorm_model stray_model = PGORM_MODEL("misuse_stray", Parent, stray_cols, NULL);

/* ---- assertions ---- */

/* rc must be code; the error object (NULL when none is reachable) must say the same with a
 * message that contains frag (when not NULL) and no "(null)". */
static void expect_rc(int rc, int code, const pgorm_error *e, const char *frag, const char *what, int line)
{
	ck_assert_msg(rc == code, "line %d: %s returned %s (%d), expected %s", line, what, pgorm_err_name(rc), rc,
	              pgorm_err_name(code));
	ck_assert_msg(strcmp(pgorm_strerror(code), "unknown error") != 0, "line %d: code %d has no description", line, code);
	if (e == NULL)
		return;
	ck_assert_msg(e->code == code, "line %d: %s: error object holds %s, expected %s", line, what, pgorm_err_name(e->code),
	              pgorm_err_name(code));
	ck_assert_msg(e->message[0] != '\0', "line %d: %s: %s without a message", line, what, pgorm_err_name(code));
	ck_assert_msg(strstr(e->message, "(null)") == NULL, "line %d: %s: message \"%s\"", line, what, e->message);
	if (frag != NULL)
		ck_assert_msg(strstr(e->message, frag) != NULL, "line %d: %s: message \"%s\" does not contain \"%s\"", line,
		              what, e->message, frag);
}

#define EXPECT_MSG(expr, code, errp, frag)                                     \
	do {                                                                   \
		int rc_ = (expr);                                              \
		expect_rc(rc_, (code), (errp), (frag), #expr, __LINE__);       \
	} while (0)
#define EXPECT(expr, code, errp) EXPECT_MSG(expr, code, errp, NULL)
#define OK(expr) EXPECT(expr, 0, NULL)

/* ---- fixture: a registry, a connection, a pool, two sessions on the pool ---- */

static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_pool *pool;
static pgorm_session *s1, *s2;
static pgorm_error err;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .session = &s1 };

static pgorm_pool *new_pool(size_t max_size)
{
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = pgtest_dsn();
	pc.min_idle = 0;
	pc.max_size = max_size;
	pc.acquire_timeout_ms = 5000;
	pgorm_pool *p = NULL;
	ck_assert_msg(pgorm_pool_create(&p, &pc, &err) == 0, "pool: %s", err.message);
	return p;
}

static void setup(void)
{
	const pgorm_model *models[] = { &parent_model, &child_model };
	pgtest_env_setup(&env, models, 2, "DROP TABLE IF EXISTS misuse_child, misuse_parent", PGTEST_CREATE_ALL, NULL);
	pool = new_pool(3);
	ck_assert_int_eq(pgorm_session_create(&s1, reg, pool, NULL, NULL, &err), 0);
	ck_assert_int_eq(pgorm_session_create(&s2, reg, pool, NULL, NULL, &err), 0);
	memset(&err, 0, sizeof err);
}

static void teardown(void)
{
	pgorm_session_destroy(s2);
	pgtest_env_teardown(&env); /* s1, conn, reg */
	pgorm_pool_destroy(pool);
}

static uint64_t statements(pgorm_conn *c)
{
	pgorm_conn_stats st;
	pgorm_conn_stats_get(c, &st);
	return st.statements;
}

static Parent *new_parent(pgorm_session *s, const char *name)
{
	Parent *p = pgorm_object_new(s, &parent_model);
	ck_assert_ptr_nonnull(p);
	p->name = pgorm_strdup(s, name);
	return p;
}

static Child *new_child(pgorm_session *s, const char *label)
{
	Child *c = pgorm_object_new(s, &child_model);
	ck_assert_ptr_nonnull(c);
	c->label = pgorm_strdup(s, label);
	return c;
}

/* A committed parent with one child, loaded back expired; returns it through s. */
static Parent *persistent_parent(pgorm_session *s, const char *name)
{
	Parent *p = new_parent(s, name);
	Child *c = new_child(s, "kid");
	OK(pgorm_rel_append(s, pgorm_registry_rel(reg, &parent_model, "kids"), p, c));
	OK(pgorm_session_add(s, p));
	OK(pgorm_session_commit(s));
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	return p;
}

/* ---- error.h, types.h, alloc.h, version.h ---- */

START_TEST(test_error_and_types)
{
	ck_assert_str_eq(pgorm_strerror(1), "unknown error");
	ck_assert_str_eq(pgorm_strerror(-1000), "unknown error");
	ck_assert_str_eq(pgorm_strerror(INT32_MIN), "unknown error");
	ck_assert_str_eq(pgorm_err_name(1), "PGORM_EUNKNOWN");
	ck_assert_str_eq(pgorm_err_name(INT32_MAX), "PGORM_EUNKNOWN");
	ck_assert_str_eq(pgorm_err_name(0), "PGORM_OK");
	pgorm_error_clear(NULL);
	ck_assert(!pgorm_error_is_connection(NULL));
	pgorm_error e;
	memset(&e, 0x7f, sizeof e); /* garbage, not NUL-terminated */
	pgorm_error_clear(&e);
	ck_assert(!pgorm_error_is_connection(&e));
	ck_assert_str_eq(pgorm_type_name((pgorm_type)-1), "invalid");
	ck_assert_str_eq(pgorm_type_name(PGORM_TYPE__COUNT), "invalid");
	ck_assert_str_eq(pgorm_type_name((pgorm_type)INT32_MAX), "invalid");
	ck_assert_uint_eq(pgorm_type_oid((pgorm_type)-1), 0);
	ck_assert_uint_eq(pgorm_type_oid(PGORM_TYPE__COUNT), 0);
	ck_assert_uint_eq(pgorm_type_oid(PGORM_TYPE_INVALID), 0);
	ck_assert_str_eq(pgorm_pool_close_reason_name(-1), "unknown");
	ck_assert_str_eq(pgorm_pool_close_reason_name(PGORM_POOL_CLOSE_REASONS), "unknown");
	ck_assert_str_eq(pgorm_pool_close_reason_name(INT32_MAX), "unknown");
	ck_assert_ptr_nonnull(pgorm_version_string());
	/* NULL restores libc's allocator */
	pgorm_allocator prev = pgorm_set_allocator(NULL);
	ck_assert(prev.malloc_fn != NULL);
	pgorm_set_allocator(&prev);
	pgorm_free(NULL);
}
END_TEST

/* ---- exec.h: connections ---- */

START_TEST(test_conn_lifecycle)
{
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	pgorm_conn *c = (pgorm_conn *)&cc; /* must be reset to NULL on error */
	EXPECT(pgorm_conn_connect(NULL, &cc, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_conn_connect(&c, NULL, &err), PGORM_EINVAL, &err);
	ck_assert_ptr_null(c);
	EXPECT(pgorm_conn_connect(&c, NULL, NULL), PGORM_EINVAL, NULL); /* err is optional */
	cc.conninfo = "this is not a conninfo";
	EXPECT_MSG(pgorm_conn_connect(&c, &cc, &err), PGORM_EINVAL, &err, "invalid conninfo");
	ck_assert_ptr_null(c);
	cc.conninfo = "postgresql://u:secret@[::1/db";
	EXPECT_MSG(pgorm_conn_connect(&c, &cc, &err), PGORM_EINVAL, &err, "invalid conninfo");
	ck_assert_ptr_null(strstr(err.message, "secret"));
	cc.conninfo = "host=/nonexistent/pgorm-misuse port=1 password=hunter2";
	EXPECT(pgorm_conn_connect(&c, &cc, &err), PGORM_ECONN, &err);
	ck_assert_ptr_null(c);
	ck_assert_ptr_null(strstr(err.message, "hunter2"));
	EXPECT(pgorm_conn_connect(&c, &cc, NULL), PGORM_ECONN, NULL);

	PGconn *pq = PQconnectdb(pgtest_dsn());
	ck_assert_int_eq(PQstatus(pq), CONNECTION_OK);
	cc = (pgorm_conn_config)PGORM_CONN_CONFIG_INIT;
	EXPECT(pgorm_conn_adopt(NULL, pq, &cc, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_conn_adopt(&c, NULL, &cc, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_conn_adopt(&c, pq, NULL, &err), PGORM_EINVAL, &err);
	ck_assert_int_eq(PQstatus(pq), CONNECTION_OK); /* untouched on error */
	OK(pgorm_conn_adopt(&c, pq, &cc, &err));
	ck_assert_ptr_eq(pgorm_conn_release_pq(c), pq);
	PQfinish(pq);

	/* the NULL handle: neutral answers, no crash */
	pgorm_conn_close(NULL);
	ck_assert_ptr_null(pgorm_conn_release_pq(NULL));
	ck_assert_ptr_null(pgorm_conn_pq(NULL));
	ck_assert_ptr_null(pgorm_conn_error(NULL));
	ck_assert_int_eq(pgorm_conn_tx_status(NULL), PGORM_TX_UNKNOWN);
	ck_assert(!pgorm_conn_ok(NULL));
	pgorm_conn_stats st;
	memset(&st, 0x5a, sizeof st);
	pgorm_conn_stats_get(NULL, &st);
	pgorm_conn_stats_get(conn, NULL);
	pgorm_conn_set_hook(NULL, pgtest_log_hook, NULL, true);
	pgorm_conn_cache_reset(NULL);
}
END_TEST

START_TEST(test_conn_exec_arguments)
{
	const pgorm_error *ce = pgorm_conn_error(conn);
	pgorm_result *r = (pgorm_result *)&err; /* reset to NULL on error */
	uint64_t before = statements(conn);
	EXPECT(pgorm_conn_exec(NULL, "SELECT 1", 0, NULL, &r), PGORM_EINVAL, NULL);
	ck_assert_ptr_null(r);
	EXPECT_MSG(pgorm_conn_exec(conn, NULL, 0, NULL, &r), PGORM_EINVAL, ce, "sql");
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1", 1, NULL, NULL), PGORM_EINVAL, ce, "params is NULL");
	pgorm_value v[2] = { PGORM_INT8(1), PGORM_INT8(2) };
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT 1", 65536, v, NULL), PGORM_EINVAL, ce, "65535");
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT 1", SIZE_MAX, v, NULL), PGORM_EINVAL, ce, "65535");
	pgorm_value bad = { .type = (pgorm_type)999 };
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1", 1, &bad, NULL), PGORM_ETYPE, ce, "unknown type");
	bad.type = PGORM_TYPE_INVALID;
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1", 1, &bad, NULL), PGORM_ETYPE, ce, "unknown type");
	bad.type = (pgorm_type)-5;
	bad.is_null = true;
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1", 1, &bad, NULL), PGORM_ETYPE, ce, "unknown type");
	pgorm_value t = PGORM_TEXTN(NULL, 5);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::text", 1, &t, NULL), PGORM_EINVAL, ce, "NULL pointer");
	t = PGORM_TEXTN("a\xff", 2);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::text", 1, &t, NULL), PGORM_EENCODING, ce, "UTF-8");
	t = PGORM_TEXTN("a\0b", 3);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::text", 1, &t, NULL), PGORM_EENCODING, ce, "NUL");
	t = PGORM_BYTEA(NULL, 1);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::bytea", 1, &t, NULL), PGORM_EINVAL, ce, "NULL pointer");
	t = PGORM_INT8_ARRAY(NULL, 3);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::int8[]", 1, &t, NULL), PGORM_EINVAL, ce, "int8[]");
	t = PGORM_INT8_ARRAY(NULL, SIZE_MAX);
	EXPECT(pgorm_conn_exec(conn, "SELECT $1::int8[]", 1, &t, NULL), PGORM_EINVAL, ce);
	const int64_t one = 1;
	t = PGORM_INT8_ARRAY(&one, SIZE_MAX / 8); /* absurd length: refused before it is read */
	EXPECT(pgorm_conn_exec(conn, "SELECT $1::int8[]", 1, &t, NULL), PGORM_ETOOBIG, ce);
	t = PGORM_TEXT_ARRAY(NULL, 2);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::text[]", 1, &t, NULL), PGORM_EINVAL, ce, "text[]");
	const char *items[] = { "a", NULL };
	t = PGORM_TEXT_ARRAY(items, 2);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::text[]", 1, &t, NULL), PGORM_EINVAL, ce, "NULL element");
	const char *bad_items[] = { "ok", "\xc0\xaf" };
	t = PGORM_TEXT_ARRAY(bad_items, 2);
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT $1::text[]", 1, &t, NULL), PGORM_EENCODING, ce, "UTF-8");
	ck_assert_uint_eq(statements(conn), before); /* nothing was sent */

	/* absurd sizes against a small limit */
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = pgtest_dsn();
	cc.max_value_size = 4;
	pgorm_conn *small = NULL;
	OK(pgorm_conn_connect(&small, &cc, &err));
	t = PGORM_TEXT("12345");
	EXPECT_MSG(pgorm_conn_exec(small, "SELECT $1::text", 1, &t, NULL), PGORM_ETOOBIG, pgorm_conn_error(small), "limit");
	t = PGORM_TEXT_ARRAY(items, 1);
	const char *long_items[] = { "abc", "def" };
	t = PGORM_TEXT_ARRAY(long_items, 2);
	EXPECT_MSG(pgorm_conn_exec(small, "SELECT $1::text[]", 1, &t, NULL), PGORM_ETOOBIG, pgorm_conn_error(small), "limit");
	pgorm_conn_close(small);

	/* a server error: the SQLSTATE and the statement are kept */
	EXPECT_MSG(pgorm_conn_exec(conn, "SELECT * FROM no_such_table", 0, NULL, &r), PGORM_ESERVER, ce, "no_such_table");
	ck_assert_ptr_null(r);
	ck_assert_str_eq(ce->sqlstate, "42P01");
	ck_assert_str_eq(ce->statement, "SELECT * FROM no_such_table");
	OK(pgorm_conn_exec(conn, "SELECT 1", 0, NULL, NULL));
}
END_TEST

START_TEST(test_conn_pipeline_arguments)
{
	const pgorm_error *ce = pgorm_conn_error(conn);
	uint64_t before = statements(conn);
	pgorm_result *res[3];
	memset(res, 0x5a, sizeof res);
	EXPECT(pgorm_conn_pipeline(NULL, 1, NULL, res), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_conn_pipeline(conn, 1, NULL, res), PGORM_EINVAL, ce, "stmts is NULL");
	ck_assert_ptr_null(res[0]);
	pgorm_value v = PGORM_INT8(1), bad = { .type = (pgorm_type)77 };
	pgorm_stmt st[3] = { { "SELECT $1::int8", 1, &v }, { NULL, 0, NULL }, { "SELECT 1", 0, NULL } };
	EXPECT_MSG(pgorm_conn_pipeline(conn, 3, st, res), PGORM_EINVAL, ce, "statement 1");
	ck_assert_int_eq(ce->stmt_index, 1);
	st[1] = (pgorm_stmt){ "SELECT $1", 1, &bad };
	EXPECT(pgorm_conn_pipeline(conn, 3, st, res), PGORM_ETYPE, ce);
	st[1] = (pgorm_stmt){ "SELECT $1", 1, NULL };
	EXPECT(pgorm_conn_pipeline(conn, 3, st, NULL), PGORM_EINVAL, ce);
	st[1] = (pgorm_stmt){ "SELECT $1", 70000, &v };
	EXPECT(pgorm_conn_pipeline(conn, 3, st, NULL), PGORM_EINVAL, ce);
	ck_assert_uint_eq(statements(conn), before);
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_null(res[i]);
	OK(pgorm_conn_pipeline(conn, 0, NULL, NULL)); /* an empty batch: nothing to do */
	/* a failing statement: its index, the rest skipped, every slot NULL */
	st[1] = (pgorm_stmt){ "SELECT 1/0", 0, NULL };
	EXPECT(pgorm_conn_pipeline(conn, 3, st, res), PGORM_ESERVER, ce);
	ck_assert_int_eq(ce->stmt_index, 1);
	ck_assert_str_eq(ce->sqlstate, "22012");
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_null(res[i]);
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_IDLE);
}
END_TEST

START_TEST(test_conn_transactions_wrong_state)
{
	const pgorm_error *ce = pgorm_conn_error(conn);
	EXPECT(pgorm_conn_begin(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_conn_commit(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_conn_rollback(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_conn_savepoint(NULL, "a"), PGORM_EINVAL, NULL);
	EXPECT(pgorm_conn_release_savepoint(NULL, "a"), PGORM_EINVAL, NULL);
	EXPECT(pgorm_conn_rollback_to(NULL, "a"), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_conn_savepoint(conn, NULL), PGORM_EINVAL, ce, "savepoint name");
	EXPECT_MSG(pgorm_conn_savepoint(conn, ""), PGORM_EINVAL, ce, "savepoint name");
	char longname[400];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	EXPECT_MSG(pgorm_conn_release_savepoint(conn, longname), PGORM_EINVAL, ce, "savepoint name");
	/* COMMIT and ROLLBACK without a transaction: PostgreSQL only warns; nothing changes */
	OK(pgorm_conn_commit(conn));
	OK(pgorm_conn_rollback(conn));
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_IDLE);
	/* a savepoint outside a transaction block is an error of the server */
	EXPECT(pgorm_conn_savepoint(conn, "sp"), PGORM_ESERVER, ce);
	ck_assert_str_eq(ce->sqlstate, "25P01");
	EXPECT(pgorm_conn_rollback_to(conn, "sp"), PGORM_ESERVER, ce);
	ck_assert_str_eq(ce->sqlstate, "25P01");
	/* a savepoint that does not exist */
	OK(pgorm_conn_begin(conn));
	EXPECT(pgorm_conn_begin(conn), 0, NULL); /* BEGIN inside BEGIN: a warning */
	EXPECT(pgorm_conn_release_savepoint(conn, "nope"), PGORM_ESERVER, ce);
	ck_assert_str_eq(ce->sqlstate, "3B001");
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_INERROR);
	/* anything but ROLLBACK in a failed transaction */
	EXPECT(pgorm_conn_exec(conn, "SELECT 1", 0, NULL, NULL), PGORM_ESERVER, ce);
	ck_assert_str_eq(ce->sqlstate, "25P02");
	EXPECT(pgorm_conn_commit(conn), 0, NULL); /* COMMIT of a failed transaction rolls back */
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_IDLE);
}
END_TEST

START_TEST(test_conn_lost)
{
	pgorm_conn *c = pgtest_connect();
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(pgorm_conn_pq(c)));
	pgtest_exec(conn, sql);
	const pgorm_error *ce = pgorm_conn_error(c);
	int rc = pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL);
	ck_assert_msg(rc == PGORM_ECONN, "exec on a terminated backend: %s", pgorm_err_name(rc));
	ck_assert(!pgorm_conn_ok(c));
	/* every later call says so without sending */
	EXPECT_MSG(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL), PGORM_ECONN, ce, "closed or lost");
	EXPECT_MSG(pgorm_conn_begin(c), PGORM_ECONN, ce, "closed or lost");
	pgorm_stmt st = { "SELECT 1", 0, NULL };
	EXPECT_MSG(pgorm_conn_pipeline(c, 1, &st, NULL), PGORM_ECONN, ce, "closed or lost");
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_UNKNOWN);
	pgorm_conn_close(c);
}
END_TEST

/* ---- exec.h: results and quoting ---- */

START_TEST(test_results)
{
	pgorm_value out;
	EXPECT(pgorm_result_get(NULL, 0, 0, PGORM_TYPE_INT8, &out, &err), PGORM_EINVAL, &err);
	ck_assert_uint_eq(pgorm_result_rows(NULL), 0);
	ck_assert_uint_eq(pgorm_result_cols(NULL), 0);
	ck_assert_uint_eq(pgorm_result_affected(NULL), 0);
	ck_assert_ptr_null(pgorm_result_col_name(NULL, 0));
	ck_assert_int_eq(pgorm_result_col_type(NULL, 0), PGORM_TYPE_INVALID);
	ck_assert(pgorm_result_is_null(NULL, 0, 0));
	ck_assert_ptr_null(pgorm_result_text(NULL, 0, 0));
	int64_t i = 7;
	EXPECT(pgorm_result_int64(NULL, 0, 0, &i), PGORM_EINVAL, NULL);
	ck_assert_int_eq(i, 0);
	pgorm_result_free(NULL);

	pgorm_result *r = NULL;
	OK(pgorm_conn_exec(conn, "SELECT 1::int8 AS a, 'x'::text AS b, NULL::int4 AS c, 2.5::numeric AS d", 0, NULL, &r));
	ck_assert_ptr_null(pgorm_result_col_name(r, 4));
	ck_assert_ptr_null(pgorm_result_col_name(r, SIZE_MAX));
	ck_assert_int_eq(pgorm_result_col_type(r, SIZE_MAX), PGORM_TYPE_INVALID);
	ck_assert(pgorm_result_is_null(r, 1, 0));
	ck_assert(pgorm_result_is_null(r, SIZE_MAX, SIZE_MAX));
	EXPECT(pgorm_result_get(r, 0, 0, PGORM_TYPE_INT8, NULL, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_result_get(r, 0, 0, PGORM_TYPE_INT8, NULL, NULL), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_result_get(r, 1, 0, PGORM_TYPE_INT8, &out, &err), PGORM_EINVAL, &err, "out of range");
	EXPECT_MSG(pgorm_result_get(r, 0, 4, PGORM_TYPE_INT8, &out, &err), PGORM_EINVAL, &err, "out of range");
	EXPECT_MSG(pgorm_result_get(r, SIZE_MAX, SIZE_MAX, PGORM_TYPE_INT8, &out, &err), PGORM_EINVAL, &err, "out of range");
	EXPECT_MSG(pgorm_result_get(r, 0, 1, PGORM_TYPE_INT8, &out, &err), PGORM_ETYPE, &err, "\"b\"");
	EXPECT_MSG(pgorm_result_get(r, 0, 0, PGORM_TYPE_TEXT, &out, &err), PGORM_ETYPE, &err, "\"a\"");
	EXPECT(pgorm_result_get(r, 0, 0, (pgorm_type)999, &out, &err), PGORM_ETYPE, &err);
	EXPECT(pgorm_result_get(r, 0, 0, (pgorm_type)-1, &out, &err), PGORM_ETYPE, &err);
	EXPECT(pgorm_result_get(r, 0, 0, PGORM_TYPE_INT2, &out, &err), PGORM_ETYPE, &err); /* no narrowing */
	OK(pgorm_result_get(r, 0, 2, PGORM_TYPE_INT8, &out, &err)); /* NULL widens fine */
	ck_assert(out.is_null);
	EXPECT(pgorm_result_int64(r, 0, 1, &i), PGORM_ETYPE, NULL);
	ck_assert_int_eq(i, 0);
	EXPECT(pgorm_result_int64(r, 0, 0, NULL), 0, NULL); /* out may be NULL */
	ck_assert_ptr_null(pgorm_result_text(r, 0, 0)); /* not a text column */
	ck_assert_ptr_null(pgorm_result_text(r, 0, 2));
	ck_assert_ptr_null(pgorm_result_text(r, 9, 9));
	pgorm_result_free(r);

	char buf[8];
	ck_assert_int_eq(pgorm_quote_ident(NULL, sizeof buf, "a"), -1);
	ck_assert_int_eq(pgorm_quote_ident(buf, sizeof buf, NULL), -1);
	ck_assert_int_eq(pgorm_quote_ident(buf, sizeof buf, ""), -1);
	ck_assert_int_eq(pgorm_quote_ident(buf, 0, "a"), -1);
	ck_assert_int_eq(pgorm_quote_ident(buf, 3, "a"), -1);
	ck_assert_int_eq(pgorm_quote_ident(buf, 4, "a"), 3);
	ck_assert_str_eq(buf, "\"a\"");
	ck_assert_int_eq(pgorm_quote_ident(buf, sizeof buf, "a\"\"\"b"), -1); /* 9 bytes needed */
	ck_assert_int_eq(pgorm_quote_ident(buf, SIZE_MAX, "a\"b"), 6);
	ck_assert_str_eq(buf, "\"a\"\"b\"");
}
END_TEST

/* ---- pool.h ---- */

START_TEST(test_pool_create_config)
{
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = pgtest_dsn();
	pgorm_pool *p = NULL;
	EXPECT(pgorm_pool_create(NULL, &pc, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_pool_create(&p, NULL, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_pool_create(&p, NULL, NULL), PGORM_EINVAL, NULL);
#define BAD_POOL(field, value, frag)                                                        \
	do {                                                                                \
		pgorm_pool_config b = pc;                                                   \
		b.field = value;                                                            \
		p = (pgorm_pool *)&pc;                                                      \
		EXPECT_MSG(pgorm_pool_create(&p, &b, &err), PGORM_EINVAL, &err, frag);      \
		ck_assert_ptr_null(p);                                                      \
	} while (0)
	BAD_POOL(max_size, 0, "max_size");
	BAD_POOL(max_size, 262144, "max_size");
	BAD_POOL(max_size, SIZE_MAX, "max_size");
	BAD_POOL(min_idle, 11, "min_idle");
	BAD_POOL(min_idle, SIZE_MAX, "min_idle");
	BAD_POOL(connect_timeout_ms, -1, "negative");
	BAD_POOL(idle_timeout_ms, -1, "negative");
	BAD_POOL(max_lifetime_ms, LONG_MIN, "negative");
	BAD_POOL(trust_window_ms, -1, "negative");
	BAD_POOL(ping_idle_ms, -1, "negative");
	BAD_POOL(maintenance_interval_ms, 0, "maintenance");
	BAD_POOL(maintenance_interval_ms, -5, "maintenance");
	BAD_POOL(backoff_min_ms, 0, "backoff");
	BAD_POOL(backoff_max_ms, 10, "backoff_max_ms");
	BAD_POOL(reset, (pgorm_pool_reset)2, "reset");
	BAD_POOL(reset, (pgorm_pool_reset)-1, "reset");
	BAD_POOL(conninfo, "=garbage", "invalid conninfo");
	BAD_POOL(conninfo, "host=x password=correct horse", "invalid conninfo");
#undef BAD_POOL
	/* NULL conninfo is libpq's defaults (PG* variables): valid */
	pgorm_pool_config d = PGORM_POOL_CONFIG_INIT;
	d.min_idle = 0;
	OK(pgorm_pool_create(&p, &d, &err));
	pgorm_pool_destroy(p);
	pgorm_pool_destroy(NULL);
}
END_TEST

START_TEST(test_pool_acquire_release)
{
	pgorm_conn *c = (pgorm_conn *)&err, *c2 = NULL, *c3 = NULL, *c4 = NULL;
	EXPECT(pgorm_pool_acquire(NULL, &c, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_pool_acquire(pool, NULL, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_pool_acquire_timeout(NULL, &c, 0, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_pool_acquire_timeout(pool, NULL, 0, NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_pool_try_acquire(NULL, &c, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_pool_try_acquire(pool, NULL, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_pool_release(NULL, conn), PGORM_EINVAL, NULL);
	EXPECT(pgorm_pool_release(pool, NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_pool_close(NULL, 0), PGORM_EINVAL, NULL);
	pgorm_pool_stats st;
	pgorm_pool_stats_get(NULL, &st);
	pgorm_pool_stats_get(pool, NULL);
	pgorm_pool_bump_generation(NULL);

	/* exhaust the pool (max_size 3) */
	OK(pgorm_pool_acquire(pool, &c, &err));
	OK(pgorm_pool_acquire(pool, &c2, &err));
	OK(pgorm_pool_acquire(pool, &c3, &err));
	EXPECT_MSG(pgorm_pool_try_acquire(pool, &c4, &err), PGORM_ETIMEDOUT, &err, "3 of max 3 in use");
	ck_assert_ptr_null(c4);
	EXPECT_MSG(pgorm_pool_acquire_timeout(pool, &c4, 50, &err), PGORM_ETIMEDOUT, &err, "3 of max 3");
	/* a connection the pool does not own, another pool's, and a double release */
	EXPECT(pgorm_pool_release(pool, conn), PGORM_EPOOL, NULL);
	pgorm_pool *other = new_pool(1);
	pgorm_conn *oc = NULL;
	OK(pgorm_pool_acquire(other, &oc, &err));
	EXPECT(pgorm_pool_release(pool, oc), PGORM_EPOOL, NULL);
	OK(pgorm_pool_release(other, oc));
	EXPECT(pgorm_pool_release(other, oc), PGORM_EPOOL, NULL);
	pgorm_pool_destroy(other);
	OK(pgorm_pool_release(pool, c3));
	EXPECT(pgorm_pool_release(pool, c3), PGORM_EPOOL, NULL);
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_ge(st.misuse, 3);
	ck_assert_uint_eq(st.in_use, 2);
	/* released inside a failed transaction: rolled back, handed out clean */
	OK(pgorm_conn_begin(c2));
	EXPECT(pgorm_conn_exec(c2, "SELECT 1/0", 0, NULL, NULL), PGORM_ESERVER, pgorm_conn_error(c2));
	OK(pgorm_pool_release(pool, c2));
	OK(pgorm_pool_release(pool, c));
	OK(pgorm_pool_acquire(pool, &c, &err));
	ck_assert_int_eq(pgorm_conn_tx_status(c), PGORM_TX_IDLE);
	/* released in pipeline mode: closed, not handed out */
	ck_assert_int_eq(PQenterPipelineMode(pgorm_conn_pq(c)), 1);
	OK(pgorm_pool_release(pool, c));
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_ge(st.closed[PGORM_POOL_CLOSED_BAD_STATE], 1);
	/* a borrowed connection in pipeline mode refuses statements */
	OK(pgorm_pool_acquire(pool, &c, &err));
	ck_assert_int_eq(PQenterPipelineMode(pgorm_conn_pq(c)), 1);
	EXPECT_MSG(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL), PGORM_ESTATE, pgorm_conn_error(c), "pipeline mode");
	OK(pgorm_pool_release(pool, c));
}
END_TEST

START_TEST(test_pool_closed)
{
	pgorm_pool *p = new_pool(2);
	pgorm_conn *c = NULL, *c2 = NULL;
	OK(pgorm_pool_acquire(p, &c, &err));
	EXPECT(pgorm_pool_close(p, 0), PGORM_ETIMEDOUT, NULL); /* one still borrowed */
	EXPECT_MSG(pgorm_pool_acquire(p, &c2, &err), PGORM_ECLOSED, &err, "closed");
	EXPECT_MSG(pgorm_pool_try_acquire(p, &c2, &err), PGORM_ECLOSED, &err, "closed");
	EXPECT_MSG(pgorm_pool_acquire_timeout(p, &c2, -1, &err), PGORM_ECLOSED, &err, "closed");
	ck_assert_ptr_null(c2);
	OK(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL)); /* still valid until released */
	OK(pgorm_pool_release(p, c));
	EXPECT(pgorm_pool_release(p, c), PGORM_EPOOL, NULL);
	OK(pgorm_pool_close(p, 0));
	OK(pgorm_pool_close(p, -1)); /* twice: nothing left */
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.size, 0);

	/* a session on a closed pool: its first use fails with ECLOSED */
	pgorm_session *s = NULL;
	OK(pgorm_session_create(&s, reg, p, NULL, NULL, &err));
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s, &parent_model));
	pgorm_list l;
	EXPECT(pgorm_query_all(q, &l), PGORM_ECLOSED, pgorm_session_error(s));
	ck_assert_ptr_null(pgorm_session_connection(s));
	ck_assert_int_eq(pgorm_session_error(s)->code, PGORM_ECLOSED);
	Parent *x = new_parent(s, "x");
	OK(pgorm_session_add(s, x));
	EXPECT(pgorm_session_commit(s), PGORM_ECLOSED, pgorm_session_error(s));
	OK(pgorm_session_rollback(s));
	pgorm_query_destroy(q);
	pgorm_session_destroy(s);
	pgorm_pool_destroy(p);
}
END_TEST

/* ---- model.h ---- */

START_TEST(test_registry_arguments)
{
	const pgorm_model *models[] = { &parent_model, &child_model };
	pgorm_registry *r = NULL;
	EXPECT(pgorm_registry_create(NULL, models, 2, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_registry_create(&r, NULL, 2, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_registry_create(&r, NULL, 2, NULL), PGORM_EINVAL, NULL);
	const pgorm_model *with_null[] = { &parent_model, NULL };
	EXPECT_MSG(pgorm_registry_create(&r, with_null, 2, &err), PGORM_EMODEL, &err, "NULL");
	const pgorm_model *twice[] = { &parent_model, &child_model, &parent_model };
	EXPECT_MSG(pgorm_registry_create(&r, twice, 3, &err), PGORM_EMODEL, &err, "twice");
	const pgorm_model *missing[] = { &child_model };
	EXPECT_MSG(pgorm_registry_create(&r, missing, 1, &err), PGORM_EMODEL, &err, "misuse_child");
	/* no model at all is an empty registry */
	OK(pgorm_registry_create(&r, NULL, 0, &err));
	ck_assert_ptr_null(pgorm_registry_rel(r, &parent_model, "kids"));
	pgorm_registry_destroy(r);
	pgorm_registry_destroy(NULL);

	ck_assert_ptr_null(pgorm_registry_rel(NULL, &parent_model, "kids"));
	ck_assert_ptr_null(pgorm_registry_rel(reg, NULL, "kids"));
	ck_assert_ptr_null(pgorm_registry_rel(reg, &parent_model, NULL));
	ck_assert_ptr_null(pgorm_registry_rel(reg, &parent_model, ""));
	ck_assert_ptr_null(pgorm_registry_rel(reg, &stray_model, "kids"));
	ck_assert_ptr_null(pgorm_registry_rel(reg, &parent_model, "~misuse_child.owner"));
	ck_assert_ptr_null(pgorm_rel_name(NULL));
	ck_assert_int_eq(pgorm_rel_kind_of(NULL), PGORM_REL_AUTO);
	ck_assert_ptr_null(pgorm_rel_partner(NULL));
	ck_assert_ptr_null(pgorm_rel_target(NULL));

	const pgorm_error *ce = pgorm_conn_error(conn);
	EXPECT(pgorm_registry_create_all(NULL, conn, true), PGORM_EINVAL, NULL);
	EXPECT(pgorm_registry_create_all(reg, NULL, true), PGORM_EINVAL, NULL);
	EXPECT(pgorm_registry_drop_all(NULL, conn), PGORM_EINVAL, NULL);
	EXPECT(pgorm_registry_drop_all(reg, NULL), PGORM_EINVAL, NULL);
	char *report = (char *)&err;
	EXPECT(pgorm_registry_check(NULL, conn, &report), PGORM_EINVAL, NULL);
	EXPECT(pgorm_registry_check(reg, NULL, &report), PGORM_EINVAL, NULL);
	EXPECT(pgorm_registry_check(reg, conn, NULL), PGORM_EINVAL, NULL);
	/* creating what exists, without if_not_exists: the server's error, nothing half-done */
	EXPECT(pgorm_registry_create_all(reg, conn, false), PGORM_ESERVER, ce);
	ck_assert_str_eq(ce->sqlstate, "42P07");
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_IDLE);
	OK(pgorm_registry_create_all(reg, conn, true));
	ck_assert_int_eq(pgorm_registry_check(reg, conn, &report), 0);
	ck_assert_ptr_null(report);
	/* in a failed transaction */
	OK(pgorm_conn_begin(conn));
	EXPECT(pgorm_conn_exec(conn, "SELECT 1/0", 0, NULL, NULL), PGORM_ESERVER, ce);
	EXPECT(pgorm_registry_check(reg, conn, &report), PGORM_ESERVER, ce);
	ck_assert_str_eq(ce->sqlstate, "25P02");
	OK(pgorm_conn_rollback(conn));
}
END_TEST

/* ---- session.h ---- */

START_TEST(test_session_create_and_handles)
{
	pgorm_session *s = NULL;
	EXPECT(pgorm_session_create(NULL, reg, pool, NULL, NULL, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_session_create(&s, NULL, pool, NULL, NULL, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_session_create(&s, reg, NULL, NULL, NULL, &err), PGORM_EINVAL, &err);
	EXPECT(pgorm_session_create(&s, reg, NULL, NULL, NULL, NULL), PGORM_EINVAL, NULL);
	/* a config with absurd values is taken as it is: these are plain switches and counters */
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.nplus1_threshold = UINT32_MAX;
	OK(pgorm_session_create(&s, reg, NULL, conn, &cfg, &err));
	pgorm_session_destroy(s);
	pgorm_session_destroy(NULL);

	ck_assert_ptr_null(pgorm_session_error(NULL));
	ck_assert_ptr_null(pgorm_session_connection(NULL));
	ck_assert_ptr_null(pgorm_session_registry(NULL));
	pgorm_stats st;
	pgorm_session_stats(NULL, &st);
	pgorm_session_stats(s1, NULL);
	ck_assert_ptr_eq(pgorm_session_registry(s1), reg);

	/* objects */
	ck_assert_ptr_null(pgorm_object_new(NULL, &parent_model));
	ck_assert_ptr_null(pgorm_object_new(s1, NULL));
	EXPECT_MSG(pgorm_session_error(s1)->code, PGORM_EINVAL, pgorm_session_error(s1), "not in the registry");
	ck_assert_ptr_null(pgorm_object_new(s1, &stray_model));
	EXPECT_MSG(pgorm_session_error(s1)->code, PGORM_EINVAL, pgorm_session_error(s1), "misuse_stray");
	ck_assert_ptr_null(pgorm_strdup(NULL, "x"));
	ck_assert_ptr_null(pgorm_strdup(s1, NULL));
	Parent *p = new_parent(s1, "p");
	EXPECT(pgorm_object_set_null(NULL, "note", true), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_object_set_null(p, NULL, true), PGORM_EINVAL, pgorm_session_error(s1), "no column");
	EXPECT_MSG(pgorm_object_set_null(p, "nope", true), PGORM_EINVAL, pgorm_session_error(s1), "nope");
	EXPECT_MSG(pgorm_object_set_null(p, "kids", true), PGORM_EINVAL, pgorm_session_error(s1), "kids");
	EXPECT_MSG(pgorm_object_set_null(p, "name", true), PGORM_EINVAL, pgorm_session_error(s1), "NOT NULL");
	EXPECT_MSG(pgorm_object_set_null(p, "id", true), PGORM_EINVAL, pgorm_session_error(s1), "NOT NULL");
	ck_assert(!pgorm_object_is_null(NULL, "note"));
	ck_assert(!pgorm_object_is_null(p, NULL));
	ck_assert(!pgorm_object_is_null(p, "nope"));
	ck_assert(pgorm_object_is_null(p, "note"));
	ck_assert_int_eq(pgorm_object_state(NULL), PGORM_STATE_TRANSIENT);
}
END_TEST

START_TEST(test_session_objects_wrong_state)
{
	const pgorm_error *se = pgorm_session_error(s1);
	Parent *p = new_parent(s1, "p");
	Parent *foreign = new_parent(s2, "f");
#define NULLS(fn) \
	EXPECT(fn(NULL, p), PGORM_EINVAL, NULL); \
	EXPECT_MSG(fn(s1, NULL), PGORM_EINVAL, se, "NULL"); \
	EXPECT_MSG(fn(s1, foreign), PGORM_EINVAL, se, "another session")
	NULLS(pgorm_session_add);
	NULLS(pgorm_session_delete);
	NULLS(pgorm_session_expunge);
	NULLS(pgorm_session_refresh);
	NULLS(pgorm_session_expire);
#undef NULLS
	void *out = (void *)&err;
	EXPECT(pgorm_session_merge(NULL, p, &out), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_session_merge(s1, NULL, &out), PGORM_EINVAL, se, "NULL");
	EXPECT_MSG(pgorm_session_merge(s1, p, NULL), PGORM_EINVAL, se, "NULL");
	/* an object in a state the call does not take */
	EXPECT_MSG(pgorm_session_delete(s1, p), PGORM_ESTATE, se, "transient");
	EXPECT_MSG(pgorm_session_refresh(s1, p), PGORM_ESTATE, se, "not persistent");
	OK(pgorm_session_expunge(s1, p)); /* transient: stays transient */
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_TRANSIENT);
	Parent *q = persistent_parent(s1, "persistent");
	OK(pgorm_session_expunge(s1, q));
	ck_assert_int_eq(pgorm_object_state(q), PGORM_STATE_DETACHED);
	/* adding a detached object back re-attaches it (SQLAlchemy's add; test_detached.c) */
	OK(pgorm_session_add(s1, q));
	ck_assert_int_eq(pgorm_object_state(q), PGORM_STATE_PERSISTENT);
	OK(pgorm_session_expunge(s1, q));
	EXPECT_MSG(pgorm_session_delete(s1, q), PGORM_ESTATE, se, "detached");
	EXPECT(pgorm_session_refresh(s1, q), PGORM_ESTATE, se);
	OK(pgorm_session_expunge(s1, q)); /* detached twice: nothing to do */
	/* merge brings a detached copy back */
	OK(pgorm_session_merge(s1, q, &out));
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_ne(out, q);
	Parent *r = out;
	OK(pgorm_session_delete(s1, r));
	OK(pgorm_session_flush(s1));
	ck_assert_int_eq(pgorm_object_state(r), PGORM_STATE_DELETED);
	EXPECT_MSG(pgorm_session_add(s1, r), PGORM_ESTATE, se, "deleted");
	OK(pgorm_session_rollback(s1));

	/* get */
	pgorm_value pk = PGORM_INT8(1), badpk = PGORM_TEXT("1");
	EXPECT(pgorm_session_get(NULL, &parent_model, &pk, &out), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_session_get(s1, &parent_model, &pk, NULL), PGORM_EINVAL, se, "out is NULL");
	EXPECT_MSG(pgorm_session_get(s1, NULL, &pk, &out), PGORM_EINVAL, se, "not in the registry");
	ck_assert_ptr_null(out);
	EXPECT_MSG(pgorm_session_get(s1, &stray_model, &pk, &out), PGORM_EINVAL, se, "not in the registry");
	EXPECT_MSG(pgorm_session_get(s1, &parent_model, NULL, &out), PGORM_EINVAL, se, "pk is NULL");
	EXPECT(pgorm_session_get(s1, &parent_model, &badpk, &out), PGORM_ETYPE, se);
	pgorm_value nullpk = PGORM_NULL(INT8);
	EXPECT(pgorm_session_get(s1, &parent_model, &nullpk, &out), PGORM_EINVAL, se);
	pgorm_value nokey = PGORM_INT8(INT64_MAX);
	EXPECT(pgorm_session_get(s1, &parent_model, &nokey, &out), PGORM_ENOTFOUND, se);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_session_unit_of_work_wrong_state)
{
	const pgorm_error *se = pgorm_session_error(s1);
	EXPECT(pgorm_session_flush(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_session_commit(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_session_rollback(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_session_begin_nested(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_session_commit_nested(NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_session_rollback_nested(NULL), PGORM_EINVAL, NULL);
	char *plan = (char *)&err;
	EXPECT(pgorm_session_plan(NULL, &plan), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_session_plan(s1, NULL), PGORM_EINVAL, se, "out is NULL");
	/* nothing to do: commit, rollback and flush without a transaction are no-ops */
	OK(pgorm_session_commit(s1));
	OK(pgorm_session_rollback(s1));
	OK(pgorm_session_flush(s1));
	OK(pgorm_session_plan(s1, &plan));
	pgorm_free(plan);
	EXPECT_MSG(pgorm_session_commit_nested(s1), PGORM_ESTATE, se, "no savepoint");
	EXPECT_MSG(pgorm_session_rollback_nested(s1), PGORM_ESTATE, se, "no savepoint");
	OK(pgorm_session_rollback(s1));

	/* a failed flush: every later call but rollback says ESTATE and keeps the SQLSTATE */
	Parent *a = new_parent(s1, "same"), *b = new_parent(s1, "same");
	OK(pgorm_session_add(s1, a));
	OK(pgorm_session_add(s1, b));
	EXPECT(pgorm_session_flush(s1), PGORM_ECONSTRAINT, se);
	ck_assert_str_eq(se->sqlstate, "23505");
	Parent *c = new_parent(s1, "other");
	EXPECT(pgorm_session_add(s1, c), PGORM_ESTATE, se);
	ck_assert_str_eq(se->sqlstate, "23505");
	EXPECT(pgorm_session_flush(s1), PGORM_ESTATE, se);
	EXPECT(pgorm_session_commit(s1), PGORM_ESTATE, se);
	EXPECT(pgorm_session_begin_nested(s1), PGORM_ESTATE, se);
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	int64_t n = -1;
	EXPECT(pgorm_query_count(q, &n), PGORM_ESTATE, se);
	pgorm_query_destroy(q);
	pgorm_value pk = PGORM_INT8(1);
	void *out = NULL;
	EXPECT(pgorm_session_get(s1, &parent_model, &pk, &out), PGORM_ESTATE, se);
	OK(pgorm_session_rollback(s1));
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_TRANSIENT);
	b->name = pgorm_strdup(s1, "different");
	OK(pgorm_session_add(s1, a));
	OK(pgorm_session_add(s1, b));
	OK(pgorm_session_commit(s1));

	/* nested: a failure inside the savepoint needs rollback_nested, not commit_nested */
	OK(pgorm_session_begin_nested(s1));
	Parent *d = new_parent(s1, "same");
	OK(pgorm_session_add(s1, d));
	EXPECT(pgorm_session_flush(s1), PGORM_ECONSTRAINT, se);
	EXPECT(pgorm_session_commit_nested(s1), PGORM_ESTATE, se);
	OK(pgorm_session_rollback_nested(s1));
	EXPECT_MSG(pgorm_session_rollback_nested(s1), PGORM_ESTATE, se, "no savepoint");
	OK(pgorm_session_commit(s1));
}
END_TEST

START_TEST(test_relationship_arguments)
{
	const pgorm_error *se = pgorm_session_error(s1);
	const pgorm_rel *kids = pgorm_registry_rel(reg, &parent_model, "kids");
	const pgorm_rel *owner = pgorm_registry_rel(reg, &child_model, "owner");
	ck_assert_ptr_nonnull(kids);
	ck_assert_ptr_nonnull(owner);
	Parent *p = new_parent(s1, "p"), *p2 = new_parent(s1, "p2"), *pf = new_parent(s2, "pf");
	Child *c = new_child(s1, "c"), *cf = new_child(s2, "cf");
	void *out = (void *)&err;

	/* append */
	EXPECT(pgorm_rel_append(NULL, kids, p, c), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_rel_append(s1, NULL, p, c), PGORM_EINVAL, se, "relationship is NULL");
	EXPECT_MSG(pgorm_rel_append(s1, kids, NULL, c), PGORM_EINVAL, se, "NULL");
	EXPECT_MSG(pgorm_rel_append(s1, kids, p, NULL), PGORM_EINVAL, se, "NULL");
	EXPECT_MSG(pgorm_rel_append(s1, kids, c, p), PGORM_EINVAL, se, "used on a misuse_child");
	EXPECT_MSG(pgorm_rel_append(s1, kids, p, p2), PGORM_EINVAL, se, "expects a misuse_child");
	EXPECT_MSG(pgorm_rel_append(s1, kids, pf, c), PGORM_EINVAL, se, "another session");
	EXPECT_MSG(pgorm_rel_append(s1, kids, p, cf), PGORM_EINVAL, se, "another session");
	EXPECT_MSG(pgorm_rel_append(s1, owner, c, p), PGORM_EINVAL, se, "not a collection");
	/* remove */
	EXPECT(pgorm_rel_remove(NULL, kids, p, c), PGORM_EINVAL, NULL);
	EXPECT(pgorm_rel_remove(s1, NULL, p, c), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_remove(s1, kids, NULL, c), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_remove(s1, kids, p, NULL), PGORM_EINVAL, se);
	EXPECT_MSG(pgorm_rel_remove(s1, kids, p, c), PGORM_EINVAL, se, "not in this");
	EXPECT_MSG(pgorm_rel_remove(s1, owner, c, p), PGORM_EINVAL, se, "not one-to-many");
	EXPECT(pgorm_rel_remove(s1, kids, pf, c), PGORM_EINVAL, se);
	/* set / get */
	EXPECT(pgorm_rel_set(NULL, owner, c, p), PGORM_EINVAL, NULL);
	EXPECT(pgorm_rel_set(s1, NULL, c, p), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_set(s1, owner, NULL, p), PGORM_EINVAL, se);
	EXPECT_MSG(pgorm_rel_set(s1, kids, p, c), PGORM_EINVAL, se, "is a collection");
	EXPECT_MSG(pgorm_rel_set(s1, owner, c, c), PGORM_EINVAL, se, "expects a misuse_parent");
	EXPECT_MSG(pgorm_rel_set(s1, owner, c, pf), PGORM_EINVAL, se, "another session");
	EXPECT(pgorm_rel_get(NULL, owner, c, &out), PGORM_EINVAL, NULL);
	EXPECT(pgorm_rel_get(s1, NULL, c, &out), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_get(s1, owner, NULL, &out), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_get(s1, owner, p, &out), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_get(s1, kids, p, &out), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_get(s1, owner, c, NULL), 0, NULL); /* out may be NULL */
	OK(pgorm_rel_set(s1, owner, c, NULL)); /* detaching what is not attached */
	/* collections */
	ck_assert_ptr_null(pgorm_rel_collection(NULL, kids, p));
	ck_assert_ptr_null(pgorm_rel_collection(s1, NULL, p));
	ck_assert_ptr_null(pgorm_rel_collection(s1, kids, NULL));
	ck_assert_ptr_null(pgorm_rel_collection(s1, kids, c));
	ck_assert_ptr_null(pgorm_rel_collection(s1, owner, c));
	ck_assert_ptr_null(pgorm_rel_collection(s1, kids, pf));
	ck_assert(!pgorm_rel_is_loaded(NULL, p));
	ck_assert(!pgorm_rel_is_loaded(kids, NULL));
	ck_assert(!pgorm_rel_is_loaded(kids, c));
	/* by name */
	EXPECT(pgorm_rel_append_by_name(NULL, "kids", p, c), PGORM_EINVAL, NULL);
	EXPECT(pgorm_rel_append_by_name(s1, NULL, p, c), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_append_by_name(s1, "kids", NULL, c), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_append_by_name(s1, "kids", p, NULL), PGORM_EINVAL, se);
	EXPECT_MSG(pgorm_rel_append_by_name(s1, "nope", p, c), PGORM_EINVAL, se, "no relationship nope");
	EXPECT_MSG(pgorm_rel_append_by_name(s1, "~misuse_child.owner", p, c), PGORM_EINVAL, se, "no relationship");
	EXPECT(pgorm_rel_set_by_name(NULL, "owner", c, p), PGORM_EINVAL, NULL);
	EXPECT(pgorm_rel_set_by_name(s1, NULL, c, p), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_set_by_name(s1, "owner", NULL, p), PGORM_EINVAL, se);
	EXPECT_MSG(pgorm_rel_set_by_name(s1, "nope", c, p), PGORM_EINVAL, se, "no relationship nope");
	EXPECT(pgorm_rel_set_by_name(s1, "kids", p, c), PGORM_EINVAL, se);

	/* load */
	EXPECT(pgorm_rel_load(NULL, kids, p, NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_rel_load(s1, NULL, p, NULL), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_load(s1, kids, NULL, NULL), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_load(s1, kids, c, NULL), PGORM_EINVAL, se);
	EXPECT(pgorm_rel_load(s1, kids, pf, NULL), PGORM_EINVAL, se);
	OK(pgorm_rel_load(s1, kids, p, NULL)); /* a new object's collection is loaded (empty) */
	Parent *persist = persistent_parent(s1, "loaded");
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	OK(pgorm_query_option(q, "kids", PGORM_LOAD_RAISE));
	OK(pgorm_query_filter(q, "id", "=", PGORM_INT8(persist->id)));
	OK(pgorm_query_populate_existing(q, true));
	void *got = NULL;
	OK(pgorm_query_one(q, &got));
	ck_assert_ptr_eq(got, persist);
	EXPECT_MSG(pgorm_rel_load(s1, kids, persist, NULL), PGORM_ERAISE, se, "kids");
	pgorm_query_destroy(q);
	OK(pgorm_session_rollback(s1));
}
END_TEST

START_TEST(test_session_lost_connection)
{
	pgorm_conn *c = pgtest_connect();
	pgorm_session *s = NULL;
	OK(pgorm_session_create(&s, reg, NULL, c, NULL, &err));
	const pgorm_error *se = pgorm_session_error(s);
	Parent *p = new_parent(s, "lost");
	OK(pgorm_session_add(s, p));
	OK(pgorm_session_flush(s));
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(pgorm_conn_pq(c)));
	pgtest_exec(conn, sql);
	Parent *q = new_parent(s, "lost2");
	OK(pgorm_session_add(s, q));
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == PGORM_ECONN, "commit on a terminated backend: %s (%s)", pgorm_err_name(rc), se->message);
	ck_assert(pgorm_error_is_connection(se));
	EXPECT(pgorm_session_flush(s), PGORM_ESTATE, se); /* needs a rollback first */
	OK(pgorm_session_rollback(s));                 /* a lost connection is not an error here */
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_TRANSIENT);
	/* the connection stays lost: the next unit of work says so */
	OK(pgorm_session_add(s, p));
	EXPECT_MSG(pgorm_session_commit(s), PGORM_ECONN, se, "closed or lost");
	OK(pgorm_session_rollback(s));
	pgorm_session_destroy(s);
	pgorm_conn_close(c);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM misuse_parent"), 0);
}
END_TEST

START_TEST(test_rel_load_wrong_state)
{
	const pgorm_error *se = pgorm_session_error(s1);
	const pgorm_rel *kids = pgorm_registry_rel(reg, &parent_model, "kids");
	const pgorm_rel *owner = pgorm_registry_rel(reg, &child_model, "owner");
	/* an expired child whose row was deleted behind the session's back: its many-to-one reads
	 * the row first (its FK may be stale), finds none, and the child is detached */
	Parent *p = new_parent(s1, "p");
	Child *c = new_child(s1, "c");
	OK(pgorm_rel_append(s1, kids, p, c));
	OK(pgorm_session_add(s1, p));
	OK(pgorm_session_commit(s1));
	char sql[96];
	snprintf(sql, sizeof sql, "DELETE FROM misuse_child WHERE id = %lld", (long long)c->id);
	pgtest_exec(conn, sql);
	EXPECT(pgorm_rel_load(s1, owner, c, NULL), PGORM_ENOTFOUND, se);
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_DETACHED);
	EXPECT(pgorm_session_refresh(s1, c), PGORM_ESTATE, se);
	/* add re-attaches a detached object, as SQLAlchemy's add (test_detached.c) */
	OK(pgorm_session_add(s1, c));
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_PERSISTENT);
	OK(pgorm_session_rollback(s1));
}
END_TEST

/* ---- query.h ---- */

START_TEST(test_query_builder)
{
	pgorm_query *q = NULL;
	EXPECT(pgorm_query_create(NULL, s1, &parent_model), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_create(&q, NULL, &parent_model), PGORM_EINVAL, NULL);
	EXPECT_MSG(pgorm_query_create(&q, s1, NULL), PGORM_EINVAL, pgorm_session_error(s1), "not in the registry");
	EXPECT_MSG(pgorm_query_create(&q, s1, &stray_model), PGORM_EINVAL, pgorm_session_error(s1), "misuse_stray");
	pgorm_query_destroy(NULL);
	ck_assert_ptr_null(pgorm_query_error(NULL));

	pgorm_value v = PGORM_INT8(1);
	EXPECT(pgorm_query_filter(NULL, "id", "=", v), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_where(NULL, "true", 0, NULL), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_order_by(NULL, "id", false), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_limit(NULL, 1), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_offset(NULL, 1), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_for_update(NULL, false), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_option(NULL, "kids", PGORM_LOAD_SELECTIN), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_populate_existing(NULL, true), PGORM_EINVAL, NULL);
	pgorm_list l;
	void *one = NULL;
	int64_t n = 0;
	uint64_t aff = 0;
	EXPECT(pgorm_query_all(NULL, &l), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_first(NULL, &one), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_one(NULL, &one), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_count(NULL, &n), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_delete(NULL, &aff), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_update(NULL, "name", PGORM_TEXT("x"), &aff), PGORM_EINVAL, NULL);
	EXPECT(pgorm_query_stream(NULL, 10, NULL, NULL), PGORM_EINVAL, NULL);

	/* each builder mistake on a fresh query: the code, the query's error, and the same again at run time */
#define BAD(call, code, frag)                                                                   \
	do {                                                                                    \
		pgorm_query *bq = NULL;                                                         \
		OK(pgorm_query_create(&bq, s1, &parent_model));                                 \
		q = bq;                                                                         \
		EXPECT_MSG(call, code, pgorm_query_error(bq), frag);                            \
		EXPECT_MSG(pgorm_query_all(bq, &l), code, pgorm_session_error(s1), frag);        \
		EXPECT_MSG(pgorm_query_count(bq, &n), code, pgorm_session_error(s1), frag);      \
		pgorm_query_destroy(bq);                                                        \
	} while (0)
	BAD(pgorm_query_filter(q, NULL, "=", v), PGORM_EINVAL, "column");
	BAD(pgorm_query_filter(q, "nope", "=", v), PGORM_EINVAL, "nope");
	BAD(pgorm_query_filter(q, "kids", "=", v), PGORM_EINVAL, "kids");
	BAD(pgorm_query_filter(q, "id", NULL, v), PGORM_EINVAL, "operator");
	BAD(pgorm_query_filter(q, "id", "==", v), PGORM_EINVAL, "unknown operator");
	BAD(pgorm_query_filter(q, "id", "; DROP TABLE x", v), PGORM_EINVAL, "unknown operator");
	BAD(pgorm_query_filter(q, "id", "=", PGORM_TEXT("1")), PGORM_ETYPE, "misuse_parent.id");
	BAD(pgorm_query_filter(q, "name", "LIKE", PGORM_INT8(1)), PGORM_ETYPE, "misuse_parent.name");
	pgorm_value badtype = { .type = (pgorm_type)999 };
	BAD(pgorm_query_filter(q, "id", "=", badtype), PGORM_ETYPE, "misuse_parent.id");
	BAD(pgorm_query_filter(q, "id", "IN", v), PGORM_ETYPE, "int8[]");
	const char *names[] = { "a" };
	BAD(pgorm_query_filter(q, "id", "IN", PGORM_TEXT_ARRAY(names, 1)), PGORM_ETYPE, "int8[]");
	BAD(pgorm_query_where(q, NULL, 0, NULL), PGORM_EINVAL, "NULL");
	BAD(pgorm_query_where(q, "t.id = $1", 1, NULL), PGORM_EINVAL, "NULL");
	BAD(pgorm_query_where(q, "t.id = $2", 1, &v), PGORM_EINVAL, "pgorm_query_where");
	BAD(pgorm_query_where(q, "t.id = $0", 1, &v), PGORM_EINVAL, "pgorm_query_where");
	BAD(pgorm_query_where(q, "t.id = $99999999999999999999999", 1, &v), PGORM_EINVAL, "pgorm_query_where");
	BAD(pgorm_query_order_by(q, NULL, false), PGORM_EINVAL, "column");
	BAD(pgorm_query_order_by(q, "nope", true), PGORM_EINVAL, "nope");
	BAD(pgorm_query_limit(q, -1), PGORM_EINVAL, "negative");
	BAD(pgorm_query_limit(q, INT64_MIN), PGORM_EINVAL, "negative");
	BAD(pgorm_query_offset(q, -1), PGORM_EINVAL, "negative");
	BAD(pgorm_query_option(q, NULL, PGORM_LOAD_SELECTIN), PGORM_EINVAL, "path");
	BAD(pgorm_query_option(q, "nope", PGORM_LOAD_SELECTIN), PGORM_EINVAL, "nope");
	BAD(pgorm_query_option(q, "kids.nope", PGORM_LOAD_SELECTIN), PGORM_EINVAL, "nope");
	BAD(pgorm_query_option(q, "kids..owner", PGORM_LOAD_SELECTIN), PGORM_EINVAL, "kids..owner");
	BAD(pgorm_query_option(q, "", PGORM_LOAD_SELECTIN), PGORM_EINVAL, "path");
	BAD(pgorm_query_option(q, "kids", (pgorm_loader)99), PGORM_EINVAL, "loader");
	BAD(pgorm_query_option(q, "kids", (pgorm_loader)-1), PGORM_EINVAL, "loader");
#undef BAD

	/* the first error wins; later correct calls do not clear it */
	OK(pgorm_query_create(&q, s1, &parent_model));
	EXPECT(pgorm_query_filter(q, "nope", "=", v), PGORM_EINVAL, pgorm_query_error(q));
	EXPECT(pgorm_query_limit(q, -1), PGORM_EINVAL, pgorm_query_error(q));
	ck_assert_ptr_nonnull(strstr(pgorm_query_error(q)->message, "nope"));
	EXPECT(pgorm_query_first(q, &one), PGORM_EINVAL, pgorm_session_error(s1));
	EXPECT(pgorm_query_one(q, &one), PGORM_EINVAL, pgorm_session_error(s1));
	EXPECT(pgorm_query_delete(q, &aff), PGORM_EINVAL, pgorm_session_error(s1));
	pgorm_query_destroy(q);
}
END_TEST

static int stream_cb(void *ctx, void **objs, size_t n)
{
	(void)objs;
	*(size_t *)ctx += n;
	return 0;
}

START_TEST(test_query_run)
{
	const pgorm_error *se = pgorm_session_error(s1);
	persistent_parent(s1, "a");
	persistent_parent(s1, "b");
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	void *one = (void *)&err;
	EXPECT(pgorm_query_all(q, NULL), PGORM_EINVAL, se);
	EXPECT(pgorm_query_first(q, NULL), PGORM_EINVAL, se);
	EXPECT(pgorm_query_one(q, NULL), PGORM_EINVAL, se);
	EXPECT(pgorm_query_count(q, NULL), PGORM_EINVAL, se);
	size_t seen = 0;
	pgorm_query *sq = NULL; /* a bad stream call is the query's first error: its own query */
	OK(pgorm_query_create(&sq, s1, &parent_model));
	EXPECT_MSG(pgorm_query_stream(sq, 10, NULL, NULL), PGORM_EINVAL, pgorm_query_error(sq), "pgorm_query_stream");
	pgorm_query_destroy(sq);
	OK(pgorm_query_create(&sq, s1, &parent_model));
	EXPECT_MSG(pgorm_query_stream(sq, 0, stream_cb, &seen), PGORM_EINVAL, se, "pgorm_query_stream");
	int64_t cnt = -1;
	EXPECT(pgorm_query_count(sq, &cnt), PGORM_EINVAL, se); /* the query keeps its first error */
	pgorm_query_destroy(sq);
	EXPECT_MSG(pgorm_query_one(q, &one), PGORM_EMULTIPLE, se, "misuse_parent");
	OK(pgorm_query_delete(q, NULL)); /* affected may be NULL */
	EXPECT_MSG(pgorm_query_one(q, &one), PGORM_ENOTFOUND, se, "misuse_parent");
	ck_assert_ptr_null(one);
	OK(pgorm_query_first(q, &one)); /* none: not an error */
	ck_assert_ptr_null(one);
	OK(pgorm_query_stream(q, INT32_MAX, stream_cb, &seen)); /* the largest batch FETCH takes */
	ck_assert_uint_eq(seen, 0);
	OK(pgorm_query_update(q, "note", PGORM_NULL(TEXT), NULL)); /* affected may be NULL */
	pgorm_query_destroy(q);
	/* a bad UPDATE is the query's first error: one query each */
	uint64_t aff = 7;
	pgorm_value badtype = { .type = (pgorm_type)-3 };
	const struct { const char *col; pgorm_value v; int code; const char *frag; } upd[] = {
		{ NULL, PGORM_TEXT("x"), PGORM_EINVAL, "column is NULL" },
		{ "nope", PGORM_TEXT("x"), PGORM_EINVAL, "nope" },
		{ "kids", PGORM_TEXT("x"), PGORM_EINVAL, "kids" },
		{ "name", PGORM_NULL(TEXT), PGORM_EINVAL, "NOT NULL" },
		{ "name", PGORM_INT8(1), PGORM_ETYPE, "name" },
		{ "note", badtype, PGORM_ETYPE, "note" },
	};
	for (size_t i = 0; i < sizeof upd / sizeof upd[0]; i++) {
		OK(pgorm_query_create(&q, s1, &parent_model));
		EXPECT_MSG(pgorm_query_update(q, upd[i].col, upd[i].v, &aff), upd[i].code, se, upd[i].frag);
		pgorm_query_destroy(q);
	}

	/* hand-written SQL */
	pgorm_list l;
	pgorm_value v = PGORM_INT8(1);
	EXPECT(pgorm_session_query_sql(NULL, &parent_model, "SELECT 1", 0, NULL, &l), PGORM_EINVAL, NULL);
	EXPECT(pgorm_session_query_sql(s1, NULL, "SELECT 1", 0, NULL, &l), PGORM_EINVAL, se);
	EXPECT(pgorm_session_query_sql(s1, &stray_model, "SELECT 1", 0, NULL, &l), PGORM_EINVAL, se);
	EXPECT(pgorm_session_query_sql(s1, &parent_model, NULL, 0, NULL, &l), PGORM_EINVAL, se);
	EXPECT(pgorm_session_query_sql(s1, &parent_model, "SELECT $1", 1, NULL, &l), PGORM_EINVAL, se);
	EXPECT(pgorm_session_query_sql(s1, &parent_model, "SELECT id, name, note FROM misuse_parent", 0, NULL, NULL),
	       PGORM_EINVAL, se);
	EXPECT(pgorm_session_query_sql(s1, &parent_model, "SELECT 1", 0, NULL, &l), PGORM_ETYPE, se);
	EXPECT(pgorm_session_query_sql(s1, &parent_model, "SELECT name, id, note FROM misuse_parent WHERE id = $1", 1, &v, &l),
	       PGORM_ETYPE, se);
	OK(pgorm_session_rollback(s1));
}
END_TEST

/* ---- issue 12 items fixed in other branches ---- */

/* item 5: an array value whose data pointer is NULL with a length > 0 */
START_TEST(test_issue_item5_null_array_data)
{
	const pgorm_value ints = PGORM_INT8_ARRAY(NULL, 3);
	const pgorm_value texts = PGORM_TEXT_ARRAY(NULL, 2);
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	EXPECT_MSG(pgorm_query_filter(q, "id", "IN", ints), PGORM_EINVAL, pgorm_query_error(q), "NULL");
	pgorm_query_destroy(q);
	OK(pgorm_query_create(&q, s1, &parent_model));
	EXPECT_MSG(pgorm_query_filter(q, "name", "IN", texts), PGORM_EINVAL, pgorm_query_error(q), "NULL");
	pgorm_query_destroy(q);
	OK(pgorm_query_create(&q, s1, &parent_model));
	EXPECT_MSG(pgorm_query_where(q, "t.id = ANY($1)", 1, &ints), PGORM_EINVAL, pgorm_query_error(q), "NULL");
	pgorm_query_destroy(q);
	OK(pgorm_query_create(&q, s1, &parent_model));
	EXPECT_MSG(pgorm_query_where(q, "t.name = ANY($1)", 1, &texts), PGORM_EINVAL, pgorm_query_error(q), "NULL");
	pgorm_query_destroy(q);
}
END_TEST

/* item 6: $n inside E'' strings, dollar quotes, comments and identifiers is not a parameter */
static int64_t count_where(const char *frag, size_t n, const pgorm_value *v)
{
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	OK(pgorm_query_filter(q, "id", ">", PGORM_INT8(0))); /* the fragment's $1 becomes $2 */
	OK(pgorm_query_where(q, frag, n, v));
	int64_t c = -1;
	OK(pgorm_query_count(q, &c));
	pgorm_query_destroy(q);
	return c;
}

START_TEST(test_issue_item6_renumbering)
{
	Parent *p = new_parent(s1, "'$1");
	OK(pgorm_session_add(s1, p));
	OK(pgorm_session_commit(s1));
	pgorm_value v = PGORM_TEXT("'$1");
	ck_assert_int_eq(count_where("t.name = E'\\'$1'", 0, NULL), 1);
	ck_assert_int_eq(count_where("t.name = E'\\'$1' AND t.name = $1", 1, &v), 1);
	ck_assert_int_eq(count_where("t.name = $$'$1$$", 0, NULL), 1);
	ck_assert_int_eq(count_where("t.name = $q$'$1$q$ AND $1 = t.name", 1, &v), 1);
	ck_assert_int_eq(count_where("t.name = $1 -- $2\n", 1, &v), 1);
	ck_assert_int_eq(count_where("/* $2 /* $3 */ */ t.name = $1", 1, &v), 1);
	/* t.x$1 is an identifier: it reaches the server as written */
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	OK(pgorm_query_filter(q, "id", ">", PGORM_INT8(0)));
	OK(pgorm_query_where(q, "t.na$1 = $1", 1, &v));
	int64_t c = -1;
	EXPECT_MSG(pgorm_query_count(q, &c), PGORM_ESERVER, pgorm_session_error(s1), "na$1");
	pgorm_query_destroy(q);
	OK(pgorm_session_rollback(s1));
}
END_TEST

/* item 7: a stale handle released after its connection was handed out again */
START_TEST(test_issue_item7_pool_aba)
{
	pgorm_pool *p = new_pool(1);
	pgorm_conn *c = NULL, *c2 = NULL, *c3 = NULL;
	OK(pgorm_pool_acquire(p, &c, &err));
	OK(pgorm_pool_release(p, c));
	OK(pgorm_pool_acquire(p, &c2, &err));
	EXPECT(pgorm_pool_release(p, c), PGORM_EPOOL, NULL); /* stale: c2 holds it now */
	EXPECT(pgorm_pool_try_acquire(p, &c3, &err), PGORM_ETIMEDOUT, &err); /* never two borrowers */
	OK(pgorm_conn_exec(c2, "SELECT 1", 0, NULL, NULL));
	OK(pgorm_pool_release(p, c2));
	pgorm_pool_destroy(p);
}
END_TEST

/* item 8: descriptors the registry must refuse */
typedef struct Wide {
	pgorm_object hdr;
	int64_t id;
	int64_t a;
	int32_t v1, v2;
	void *one;
	pgorm_collection many;
} Wide;
extern const pgorm_model wide_target;
static const pgorm_column wide_target_cols[] = { PGORM_COLUMN(INT8, "id", PGORM_PK, Wide, id), PGORM_COLUMN_END };
const pgorm_model wide_target = PGORM_MODEL("wide_target", Wide, wide_target_cols, NULL);
static const pgorm_secondary wide_sec = { "wide_assoc", "l_id", "r_id" };

static void expect_model_refused(const pgorm_column *cols, const pgorm_relationship *rels, size_t size,
                                 const char *table, const char *frag)
{
	pgorm_model m = PGORM_MODEL("wide", Wide, cols, rels);
	m.size = size;
	if (table != NULL)
		m.table = table;
	const pgorm_model *models[] = { &m, &wide_target };
	pgorm_registry *r = NULL;
	EXPECT_MSG(pgorm_registry_create(&r, models, 2, &err), PGORM_EMODEL, &err, frag);
	ck_assert_ptr_null(r);
}

START_TEST(test_issue_item8_registry)
{
	const pgorm_column id = PGORM_COLUMN(INT8, "id", PGORM_PK, Wide, id);
	const pgorm_column end = PGORM_COLUMN_END;
	pgorm_column cols[4];
	const pgorm_relationship rend = PGORM_RELATIONSHIP_END;
	/* a scalar many-to-many */
	pgorm_relationship rels[2] = { { .name = "one", .target = &wide_target, .kind = PGORM_REL_MANY_TO_MANY,
	                                 .offset = offsetof(Wide, one), .size = sizeof(void *),
	                                 .flags = PGORM_REL_SCALAR, .secondary = &wide_sec }, rend };
	cols[0] = id, cols[1] = end;
	expect_model_refused(cols, rels, sizeof(Wide), NULL, "wide.one");
	/* a column over the primary key; one under a relationship field */
	cols[1] = (pgorm_column)PGORM_COLUMN(INT4, "v1", 0, Wide, id);
	cols[2] = end;
	expect_model_refused(cols, NULL, sizeof(Wide), NULL, "v1");
	cols[1] = (pgorm_column){ .name = "a", .type = PGORM_TYPE_INT8, .offset = offsetof(Wide, many), .size = 8 };
	rels[0] = (pgorm_relationship){ .name = "many", .target = &wide_target, .kind = PGORM_REL_MANY_TO_MANY,
	                                .offset = offsetof(Wide, many), .size = sizeof(pgorm_collection), .secondary = &wide_sec };
	expect_model_refused(cols, rels, sizeof(Wide), NULL, "many");
	/* an empty column name, two VERSION columns, unknown flag bits, on_delete 42 */
	cols[1] = (pgorm_column)PGORM_COLUMN(INT8, "", 0, Wide, a);
	expect_model_refused(cols, NULL, sizeof(Wide), NULL, "wide");
	cols[1] = (pgorm_column)PGORM_COLUMN(INT4, "v1", PGORM_VERSION, Wide, v1);
	cols[2] = (pgorm_column)PGORM_COLUMN(INT4, "v2", PGORM_VERSION, Wide, v2);
	cols[3] = end;
	expect_model_refused(cols, NULL, sizeof(Wide), NULL, "v2");
	cols[1] = (pgorm_column)PGORM_COLUMN(INT8, "a", 1u << 9, Wide, a);
	cols[2] = end;
	expect_model_refused(cols, NULL, sizeof(Wide), NULL, "a");
	cols[1] = (pgorm_column)PGORM_COLUMN_FK(INT8, "a", PGORM_NULLABLE, Wide, a, "wide_target", "id", (pgorm_fk_action)42);
	expect_model_refused(cols, NULL, sizeof(Wide), NULL, "a");
	/* loader 99 */
	cols[1] = end;
	rels[0] = (pgorm_relationship){ .name = "many", .target = &wide_target, .kind = PGORM_REL_MANY_TO_MANY,
	                                .offset = offsetof(Wide, many), .size = sizeof(pgorm_collection),
	                                .secondary = &wide_sec, .loader = (pgorm_loader)99 };
	expect_model_refused(cols, rels, sizeof(Wide), NULL, "many");
	/* a struct size that wraps, a misaligned offset */
	expect_model_refused(cols, NULL, SIZE_MAX, NULL, "wide");
	cols[1] = (pgorm_column)PGORM_COLUMN(INT8, "a", 0, Wide, a);
	cols[1].offset += 1;
	expect_model_refused(cols, NULL, sizeof(Wide), NULL, "a");
	/* table names PostgreSQL truncates to the same 63 bytes */
	cols[1] = end;
	expect_model_refused(cols, NULL, sizeof(Wide),
	                     "wide_target_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL);
	pgorm_model a = PGORM_MODEL("t23456789012345678901234567890123456789012345678901234567890123_a", Wide, cols, NULL);
	pgorm_model b = PGORM_MODEL("t23456789012345678901234567890123456789012345678901234567890123_b", Wide, cols, NULL);
	const pgorm_model *models[] = { &a, &b };
	pgorm_registry *r = NULL;
	EXPECT_MSG(pgorm_registry_create(&r, models, 2, &err), PGORM_EMODEL, &err, "63");
}
END_TEST

/* item 9: configuration values the headers call invalid */
START_TEST(test_issue_item9_config)
{
	pgorm_conn_config cc = PGORM_CONN_CONFIG_INIT;
	cc.conninfo = pgtest_dsn();
	pgorm_conn *c = NULL;
	cc.stmt_mode = (pgorm_stmt_mode)7;
	EXPECT_MSG(pgorm_conn_connect(&c, &cc, &err), PGORM_EINVAL, &err, "stmt_mode");
	cc.stmt_mode = PGORM_STMT_NAMED;
	cc.stmt_cache_size = SIZE_MAX; /* looped forever */
	int rc = pgorm_conn_connect(&c, &cc, &err);
	ck_assert_msg(rc == PGORM_EINVAL || rc == 0, "stmt_cache_size SIZE_MAX: %s", pgorm_err_name(rc));
	if (rc == 0) {
		OK(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL));
		pgorm_conn_close(c);
	}
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = pgtest_dsn();
	pgorm_pool *p = NULL;
	pc.acquire_timeout_ms = -1;
	EXPECT_MSG(pgorm_pool_create(&p, &pc, &err), PGORM_EINVAL, &err, "acquire_timeout_ms");
	pc.acquire_timeout_ms = 1000;
	pc.stmt_mode = (pgorm_stmt_mode)-1;
	EXPECT_MSG(pgorm_pool_create(&p, &pc, &err), PGORM_EINVAL, &err, "stmt_mode");
	/* an allocator with NULL members must not crash later */
	pgorm_allocator half = { malloc, NULL, NULL, free };
	pgorm_allocator prev = pgorm_set_allocator(&half);
	pgorm_registry *r = NULL;
	const pgorm_model *models[] = { &parent_model, &child_model };
	OK(pgorm_registry_create(&r, models, 2, &err));
	pgorm_registry_destroy(r);
	pgorm_set_allocator(&prev);
}
END_TEST

/* item 12: a second session on a connection that another session is using is refused (at
 * create, or at its first use); either way it never commits the first session's work */
START_TEST(test_issue_item12_two_sessions_one_connection)
{
	pgorm_conn *c = pgtest_connect();
	pgorm_session *a = NULL, *b = NULL;
	OK(pgorm_session_create(&a, reg, NULL, c, NULL, &err));
	Parent *p = new_parent(a, "first");
	OK(pgorm_session_add(a, p));
	OK(pgorm_session_flush(a)); /* a holds an open transaction on c */
	int rc = pgorm_session_create(&b, reg, NULL, c, NULL, &err);
	if (rc == 0) {
		Parent *q = new_parent(b, "second");
		OK(pgorm_session_add(b, q));
		rc = pgorm_session_commit(b);
		ck_assert_msg(rc == PGORM_ESTATE || rc == PGORM_EINVAL, "second session's commit: %s", pgorm_err_name(rc));
		EXPECT(rc, rc, pgorm_session_error(b));
		OK(pgorm_session_rollback(b));
		pgorm_session_destroy(b);
	} else {
		ck_assert_msg(rc == PGORM_ESTATE || rc == PGORM_EINVAL, "second session: %s", pgorm_err_name(rc));
		EXPECT(rc, rc, &err);
	}
	OK(pgorm_session_rollback(a));
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM misuse_parent"), 0);
	pgorm_session_destroy(a);
	pgorm_conn_close(c);
}
END_TEST

/* ---- bugs the corpus and the fuzzers found, fixed here ---- */

/* a backref on a relationship that another one names in back_populates: two partners */

typedef struct Node {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	pgorm_collection kids;
	struct Node *up;
} Node;
extern const pgorm_model node_model;
static const pgorm_column node_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK, Node, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Node, parent_id, "node", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
/* up back_populates kids, and kids asks for a backref "back" as well: two partners for kids */
static const pgorm_relationship node_rels[] = {
	{ .name = "up", .target = &node_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(Node, up),
	  .size = sizeof(Node *), .back_populates = "kids" },
	{ .name = "kids", .target = &node_model, .kind = PGORM_REL_ONE_TO_MANY, .offset = offsetof(Node, kids),
	  .size = sizeof(pgorm_collection), .backref = "back" },
	PGORM_RELATIONSHIP_END
};
const pgorm_model node_model = PGORM_MODEL("node", Node, node_cols, node_rels);

START_TEST(test_issue_backref_and_back_populates)
{
	const pgorm_model *models[] = { &node_model };
	pgorm_registry *r = NULL;
	EXPECT_MSG(pgorm_registry_create(&r, models, 1, &err), PGORM_EMODEL, &err, "node.kids");
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(err.message, "back_populates"));
}
END_TEST

/* pgorm_conn_connect documents "*out is NULL on error": also when cfg is NULL */
START_TEST(test_issue_connect_resets_out)
{
	pgorm_conn *c = (pgorm_conn *)&err;
	EXPECT(pgorm_conn_connect(&c, NULL, &err), PGORM_EINVAL, &err);
	ck_assert_ptr_null(c);
}
END_TEST

/* A Bind with too few parameters is 08P01 from a live server: the statement's error, not a lost
 * connection (it was ECONN, marked the connection broken, and its release bumped the pool
 * generation, retiring every connection of the pool) */
START_TEST(test_issue_protocol_violation_keeps_connection)
{
	pgorm_pool *p = new_pool(2);
	pgorm_conn *c = NULL, *c2 = NULL;
	OK(pgorm_pool_acquire(p, &c, &err));
	OK(pgorm_pool_acquire(p, &c2, &err));
	pgorm_pool_stats st;
	pgorm_pool_stats_get(p, &st);
	uint64_t gen = st.generation;
	pgorm_value v = PGORM_INT8(1);
	EXPECT_MSG(pgorm_conn_exec(c, "SELECT $1::int8, $2::int8", 1, &v, NULL), PGORM_ESERVER, pgorm_conn_error(c),
	           "parameters");
	ck_assert_str_eq(pgorm_conn_error(c)->sqlstate, "08P01");
	ck_assert(!pgorm_error_is_connection(pgorm_conn_error(c)));
	ck_assert(pgorm_conn_ok(c));
	OK(pgorm_conn_exec(c, "SELECT 1", 0, NULL, NULL));
	EXPECT(pgorm_conn_exec(c, "SELECT $1::int8, $2::int8", 1, &v, NULL), PGORM_ESERVER, pgorm_conn_error(c));
	OK(pgorm_pool_release(p, c));
	OK(pgorm_pool_release(p, c2));
	pgorm_pool_stats_get(p, &st);
	ck_assert_uint_eq(st.closed_total, 0);
	ck_assert_uint_eq(st.generation, gen);
	ck_assert_uint_eq(st.idle, 2);
	/* a lost connection still is one */
	pgorm_error lost = { .code = PGORM_ECONN, .sqlstate = "08P01" };
	ck_assert(pgorm_error_is_connection(&lost));
	pgorm_error fatal = { .code = PGORM_ESERVER, .sqlstate = "08006" };
	ck_assert(pgorm_error_is_connection(&fatal));
	pgorm_pool_destroy(p);
}
END_TEST

/* pgorm_rel_remove of an object that is not in the (loaded) collection: EINVAL, as documented. It
 * returned 0 and nulled the object's foreign key at the next flush, although its row belongs to
 * another parent */
START_TEST(test_issue_rel_remove_not_member)
{
	const pgorm_rel *kids = pgorm_registry_rel(reg, &parent_model, "kids");
	Parent *a = new_parent(s1, "a"), *b = new_parent(s1, "b");
	Child *c = new_child(s1, "c");
	OK(pgorm_rel_append(s1, kids, a, c));
	OK(pgorm_session_add(s1, a));
	OK(pgorm_session_add(s1, b));
	OK(pgorm_session_commit(s1));
	int64_t aid = a->id, bid = b->id, cid = c->id;
	/* a fresh session: c's owner is not loaded, b's kids are (empty) */
	pgorm_session *s = NULL;
	OK(pgorm_session_create(&s, reg, pool, NULL, NULL, &err));
	void *bo = NULL, *co = NULL;
	pgorm_value bk = PGORM_INT8(bid), ck = PGORM_INT8(cid);
	OK(pgorm_session_get(s, &parent_model, &bk, &bo));
	OK(pgorm_session_get(s, &child_model, &ck, &co));
	OK(pgorm_rel_load(s, kids, bo, NULL));
	EXPECT_MSG(pgorm_rel_remove(s, kids, bo, co), PGORM_EINVAL, pgorm_session_error(s), "not in this misuse_parent.kids");
	OK(pgorm_session_commit(s));
	pgorm_session_destroy(s);
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT parent_id FROM misuse_child WHERE id = %lld", (long long)cid);
	ck_assert_int_eq(pgtest_int(conn, sql), aid);
	/* transient objects: the same */
	Parent *p = new_parent(s1, "p");
	Child *x = new_child(s1, "x");
	EXPECT_MSG(pgorm_rel_remove(s1, kids, p, x), PGORM_EINVAL, pgorm_session_error(s1), "not in this");
}
END_TEST

/* pgorm_query_all / first / one / count with out NULL: EINVAL with a message in the session */
START_TEST(test_issue_query_out_null_message)
{
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	EXPECT_MSG(pgorm_query_all(q, NULL), PGORM_EINVAL, pgorm_session_error(s1), "pgorm_query_all: out is NULL");
	EXPECT_MSG(pgorm_query_first(q, NULL), PGORM_EINVAL, pgorm_session_error(s1), "pgorm_query_first");
	EXPECT_MSG(pgorm_query_one(q, NULL), PGORM_EINVAL, pgorm_session_error(s1), "pgorm_query_one");
	EXPECT_MSG(pgorm_query_count(q, NULL), PGORM_EINVAL, pgorm_session_error(s1), "pgorm_query_count");
	int64_t n = -1;
	OK(pgorm_query_count(q, &n)); /* not sticky: the query still runs */
	ck_assert_int_eq(n, 0);
	pgorm_query_destroy(q);
}
END_TEST

/* pgorm_query_option with an empty path or an empty last segment ("kids."): it was accepted and
 * silently never applied */
START_TEST(test_issue_option_empty_path)
{
	const char *bad[] = { "", "kids.", "kids.owner.", "." };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pgorm_query *q = NULL;
		OK(pgorm_query_create(&q, s1, &parent_model));
		EXPECT_MSG(pgorm_query_option(q, bad[i], PGORM_LOAD_SELECTIN), PGORM_EINVAL, pgorm_query_error(q), "bad path");
		pgorm_query_destroy(q);
	}
}
END_TEST

/* pgorm_rel_is_loaded with an object of another model: false (it answered from that object's bits) */
START_TEST(test_issue_rel_is_loaded_wrong_model)
{
	const pgorm_rel *kids = pgorm_registry_rel(reg, &parent_model, "kids");
	Parent *p = new_parent(s1, "p");
	Child *c = new_child(s1, "c");
	ck_assert(pgorm_rel_is_loaded(kids, p));
	ck_assert(!pgorm_rel_is_loaded(kids, c));
}
END_TEST

/* pgorm_query_stream with a batch above FETCH's 32-bit count: EINVAL before any SQL (it sent
 * DECLARE, then failed on the FETCH with a syntax error and left the transaction aborted) */
START_TEST(test_issue_stream_batch_too_large)
{
	pgorm_conn *c = pgorm_session_connection(s1);
	ck_assert_ptr_nonnull(c);
	uint64_t before = statements(c);
	size_t seen = 0;
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s1, &parent_model));
	EXPECT_MSG(pgorm_query_stream(q, (size_t)INT32_MAX + 1, stream_cb, &seen), PGORM_EINVAL, pgorm_query_error(q),
	           "2147483647");
	EXPECT(pgorm_query_stream(q, SIZE_MAX, stream_cb, &seen), PGORM_EINVAL, pgorm_query_error(q));
	pgorm_query_destroy(q);
	ck_assert_uint_eq(statements(c), before);
	OK(pgorm_query_create(&q, s1, &parent_model));
	OK(pgorm_query_stream(q, INT32_MAX, stream_cb, &seen));
	pgorm_query_destroy(q);
	OK(pgorm_session_commit(s1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("misuse");
	TCase *tc = pgtest_tcase(s, "corpus", 60, setup, teardown);
	tcase_add_test(tc, test_error_and_types);
	tcase_add_test(tc, test_conn_lifecycle);
	tcase_add_test(tc, test_conn_exec_arguments);
	tcase_add_test(tc, test_conn_pipeline_arguments);
	tcase_add_test(tc, test_conn_transactions_wrong_state);
	tcase_add_test(tc, test_conn_lost);
	tcase_add_test(tc, test_results);
	tcase_add_test(tc, test_pool_create_config);
	tcase_add_test(tc, test_pool_acquire_release);
	tcase_add_test(tc, test_pool_closed);
	tcase_add_test(tc, test_registry_arguments);
	tcase_add_test(tc, test_session_create_and_handles);
	tcase_add_test(tc, test_session_objects_wrong_state);
	tcase_add_test(tc, test_session_unit_of_work_wrong_state);
	tcase_add_test(tc, test_relationship_arguments);
	tcase_add_test(tc, test_session_lost_connection);
	tcase_add_test(tc, test_rel_load_wrong_state);
	tcase_add_test(tc, test_query_builder);
	tcase_add_test(tc, test_query_run);
	tcase_add_test(tc, test_issue_backref_and_back_populates);
	tcase_add_test(tc, test_issue_connect_resets_out);
	tcase_add_test(tc, test_issue_protocol_violation_keeps_connection);
	tcase_add_test(tc, test_issue_rel_remove_not_member);
	tcase_add_test(tc, test_issue_query_out_null_message);
	tcase_add_test(tc, test_issue_option_empty_path);
	tcase_add_test(tc, test_issue_rel_is_loaded_wrong_model);
	tcase_add_test(tc, test_issue_stream_batch_too_large);
	tcase_add_test(tc, test_issue_item5_null_array_data);
	tcase_add_test(tc, test_issue_item6_renumbering);
	tcase_add_test(tc, test_issue_item7_pool_aba);
	tcase_add_test(tc, test_issue_item8_registry);
	tcase_add_test(tc, test_issue_item9_config);
	tcase_add_test(tc, test_issue_item12_two_sessions_one_connection);
	return pgtest_run(s);
}
