/* Regression tests for issue 12 (lower layers): query parameters with NULL data pointers,
 * raw-fragment renumbering lexed as PostgreSQL does, no password fragment in the errors of
 * malformed or mis-split conninfo strings. */
#include "pgtest.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct Row {
	pgorm_object hdr;
	int64_t id;
	int64_t x1;   /* column x$1 */
	int64_t x2;   /* column x$2 */
	char *name;
} Row;

static const pgorm_column row_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Row, id),
	PGORM_COLUMN(INT8, "x$1", 0, Row, x1),
	PGORM_COLUMN(INT8, "x$2", 0, Row, x2),
	PGORM_COLUMN(TEXT, "name", 0, Row, name),
	PGORM_COLUMN_END };
static const pgorm_model row_model = PGORM_MODEL("lw", Row, row_cols, NULL);

/* Issue 11 item 6: a one-to-many with delete-orphan but without delete (accepted, as in
 * SQLAlchemy, which only warns). */
typedef struct OP {
	pgorm_object hdr;
	int64_t id;
	pgorm_collection kids;
} OP;
typedef struct OC {
	pgorm_object hdr;
	int64_t id;
	int64_t p_id;
} OC;
extern const pgorm_model op_model, oc_model;
static const pgorm_column op_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK, OP, id), PGORM_COLUMN_END };
static const pgorm_relationship op_rels[] = {
	PGORM_ONE_TO_MANY("kids", OP, kids, &oc_model, "p_id", NULL,
	                  PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_DELETE_ORPHAN),
	PGORM_RELATIONSHIP_END };
const pgorm_model op_model = PGORM_MODEL("lw_op", OP, op_cols, op_rels);
static const pgorm_column oc_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK, OC, id),
	PGORM_COLUMN_FK(INT8, "p_id", PGORM_NULLABLE, OC, p_id, "lw_op", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END };
const pgorm_model oc_model = PGORM_MODEL("lw_oc", OC, oc_cols, NULL);

static pgorm_registry *reg;
static pgorm_conn *conn;

static void setup(void)
{
	const pgorm_model *models[] = { &row_model };
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, models, 1, &err) == 0, "%s", err.message);
	conn = pgtest_connect();
	pgtest_exec(conn, "DROP TABLE IF EXISTS lw");
	pgtest_exec(conn, "CREATE TABLE lw (id bigserial PRIMARY KEY, x$1 bigint NOT NULL, x$2 bigint NOT NULL, "
	                  "name text NOT NULL)");
	/* x$1 and x$2 differ on purpose: reading the wrong column selects other rows */
	pgtest_exec(conn, "INSERT INTO lw (x$1, x$2, name) VALUES (1, 10, 'a'), (2, 20, 'a'), (3, 1, 'a'), "
	                  "(4, 2, 'b'), (5, 5, 'it''s $1')");
}

static void teardown(void)
{
	pgorm_conn_close(conn);
	pgorm_registry_destroy(reg);
}

static pgorm_session *new_session(pgtest_log *log)
{
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.stmt_hook = pgtest_log_hook;
	cfg.stmt_hook_ctx = log;
	pgorm_session *s = NULL;
	ck_assert_int_eq(pgorm_session_create(&s, reg, NULL, conn, &cfg, NULL), 0);
	return s;
}

/* ---- item 5: array (or string) values with a NULL data pointer ---- */

START_TEST(test_issue12_null_array_in_filter_and_where)
{
	pgtest_log log = { 0 };
	pgorm_session *s = new_session(&log);
	pgorm_query *q;
	pgorm_list l;

	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_filter(q, "id", "IN", PGORM_INT8_ARRAY(NULL, 3)), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_query_error(q)->message, "NULL int8[] items"));
	ck_assert_int_eq(pgorm_query_all(q, &l), PGORM_EINVAL);
	pgorm_query_destroy(q);

	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_filter(q, "name", "IN", PGORM_TEXT_ARRAY(NULL, 2)), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_query_error(q)->message, "NULL text[] items"));
	ck_assert_int_eq(pgorm_query_all(q, &l), PGORM_EINVAL);
	pgorm_query_destroy(q);

	const char *with_null[] = { "a", NULL };
	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_filter(q, "name", "IN", PGORM_TEXT_ARRAY(with_null, 2)), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_query_error(q)->message, "NULL element 1"));
	pgorm_query_destroy(q);

	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	pgorm_value wp[] = { PGORM_INT8(1), PGORM_INT8_ARRAY(NULL, 5) };
	ck_assert_int_eq(pgorm_query_where(q, "t.id > $1 AND t.id = ANY($2)", 2, wp), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_query_error(q)->message, "$2"));
	ck_assert_int_eq(pgorm_query_count(q, &(int64_t){ 0 }), PGORM_EINVAL);
	pgorm_query_destroy(q);

	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_where(q, "t.name = $1", 1, (pgorm_value[]){ PGORM_TEXTN(NULL, 4) }), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_all(q, &l), PGORM_EINVAL);
	pgorm_query_destroy(q);

	/* nothing was sent (not even BEGIN), and the session still works */
	ck_assert_uint_eq(log.n, 0);
	int64_t n = 0;
	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_filter(q, "id", "IN", PGORM_INT8_ARRAY(NULL, 0)), 0);
	ck_assert_int_eq(pgorm_query_count(q, &n), 0);
	ck_assert_int_eq(n, 0);
	pgorm_query_destroy(q);
	pgorm_session_destroy(s);
	pgtest_log_clear(&log);
}
END_TEST

/* ---- item 6: $n renumbering lexes as PostgreSQL ---- */

static int64_t ids_sum(pgorm_list *l)
{
	int64_t sum = 0;
	for (size_t i = 0; i < l->len; i++)
		sum += ((Row *)l->items[i])->id;
	return sum;
}

START_TEST(test_issue12_where_renumbering_lexes_like_postgres)
{
	pgtest_log log = { 0 };
	pgorm_session *s = new_session(&log);
	pgorm_query *q;
	pgorm_list l;

	/* t.x$1 is a column (an identifier may contain '$'), not parameter $1: with a filter
	 * before it, it used to be sent as t.x$2, the other column */
	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_filter(q, "name", "=", PGORM_TEXT("a")), 0);
	ck_assert_int_eq(pgorm_query_where(q, "t.x$1 = $1", 1, (pgorm_value[]){ PGORM_INT8(1) }), 0);
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	pgorm_query_destroy(q);
	ck_assert_uint_eq(l.len, 1);
	ck_assert_int_eq(((Row *)l.items[0])->x1, 1);
	ck_assert_int_eq(pgtest_log_count(&log, "t.x$1 = $2"), 1);

	/* every kind of quoting around a "$1" that is not a parameter */
	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_filter(q, "name", "<>", PGORM_TEXT("zz")), 0);
	ck_assert_int_eq(pgorm_query_where(q,
	                                   "t.name <> E'\\'$1' /* $1 /* nested $1 */ $1 */ AND t.name <> $$ $1 $$ "
	                                   "AND t.name <> $q$ $1 $q$ AND \"t\".\"x$2\" >= $2 -- $1 up to the end",
	                                   2, (pgorm_value[]){ PGORM_INT8(99), PGORM_INT8(5) }), 0);
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	pgorm_query_destroy(q);
	ck_assert_uint_eq(l.len, 3); /* x$2 in (10, 20, 5) */
	ck_assert_int_eq(ids_sum(&l), 1 + 2 + 5);
	ck_assert_int_eq(pgtest_log_count(&log, "E'\\'$1' /* $1 /* nested $1 */ $1 */"), 1);
	ck_assert_int_eq(pgtest_log_count(&log, "\"t\".\"x$2\" >= $3 -- $1 up to the end\n)"), 1);

	/* a string holding "it's $1" (with '' inside) */
	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	ck_assert_int_eq(pgorm_query_filter(q, "id", ">", PGORM_INT8(0)), 0);
	ck_assert_int_eq(pgorm_query_where(q, "t.name = 'it''s $1' AND t.id = $1", 1, (pgorm_value[]){ PGORM_INT8(5) }), 0);
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	pgorm_query_destroy(q);
	ck_assert_uint_eq(l.len, 1);

	/* what cannot be lexed is refused before anything is sent */
	size_t before = log.n;
	static const char *bad[] = {
		"t.name = 'open", "t.name = E'\\'", "\"t.name = 1", "t.name = $$ 1", "t.name = $a$ 1 $b$",
		"t.id = 1 /* never closed", "t.id = $0", "t.id = $2", "t.id = $1abc", "t.id = 1) OR (true",
		"(t.id = $1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
		int rc = pgorm_query_where(q, bad[i], 1, (pgorm_value[]){ PGORM_INT8(1) });
		ck_assert_msg(rc == PGORM_EINVAL, "%s: %s", bad[i], pgorm_err_name(rc));
		ck_assert_msg(strstr(pgorm_query_error(q)->message, "pgorm_query_where") != NULL, "%s",
		              pgorm_query_error(q)->message);
		ck_assert_int_eq(pgorm_query_all(q, &l), PGORM_EINVAL);
		pgorm_query_destroy(q);
	}
	ck_assert_uint_eq(log.n, before);
	pgorm_session_destroy(s);
	pgtest_log_clear(&log);
}
END_TEST

/* ---- item 10: no password fragment in connect errors, malformed conninfo included ---- */

/* Passwords made of three fragments that appear nowhere else; each joined by characters that
 * split or end a conninfo token. */
static const char *const joins[] = { " ", "  ", "@", "/", "//", "%2F", "%40", "%20", "'", "\\'", "=", ":", "?",
                                     "#", ",", "&", "@/", "/@", "%", "%zz", "\"", "\\" };
/* %s is the password */
static const char *const forms[] = {
	"host=/nonexistent password=%s",
	"password=%s host=/nonexistent",
	"host=/nonexistent password='%s'",
	"host=/nonexistent password='%s",
	"host=/nonexistent password = %s dbname=x",
	"postgresql://u:%s@localhost:1/db",
	"postgres://u:%s@localhost:1/db?connect_timeout=2",
	"postgresql://u:%s@/db?host=/nonexistent",
	"postgresql://:%s@localhost:1",
	"postgresql://u@localhost:1/db?password=%s",
	"postgresql://u@localhost:1/db?sslmode=disable&password=%s&application_name=x",
};

static void assert_no_fragment(const char *ci, const char *what, const char *msg)
{
	static const char *const frags[] = { "Qz7", "Wx8", "Vy9" };
	for (size_t f = 0; f < 3; f++)
		ck_assert_msg(strstr(msg, frags[f]) == NULL, "%s: %s leaks %s: %s", ci, what, frags[f], msg);
}

START_TEST(test_issue12_no_password_fragment_in_connect_errors)
{
	size_t parse_failures = 0, connect_failures = 0;
	for (size_t j = 0; j < sizeof joins / sizeof joins[0]; j++) {
		char pw[64], ci[256];
		snprintf(pw, sizeof pw, "Qz7%sWx8%sVy9", joins[j], joins[j]);
		for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
			snprintf(ci, sizeof ci, forms[f], pw);
			pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
			cfg.conninfo = ci;
			pgorm_conn *c = NULL;
			pgorm_error err;
			int rc = pgorm_conn_connect(&c, &cfg, &err);
			ck_assert_msg(rc == PGORM_EINVAL || rc == PGORM_ECONN, "%s: %s", ci, pgorm_err_name(rc));
			ck_assert_msg(err.message[0] != '\0', "%s: empty message", ci);
			assert_no_fragment(ci, "pgorm_conn_connect", err.message);
			assert_no_fragment(ci, "pgorm_conn_connect (detail)", err.detail);
			if (rc == PGORM_EINVAL) {
				parse_failures++;
				ck_assert_msg(strstr(err.message, "invalid conninfo") != NULL, "%s: %s", ci, err.message);
			} else {
				connect_failures++;
			}
		}
	}
	/* both kinds were exercised */
	ck_assert_uint_gt(parse_failures, 20);
	ck_assert_uint_gt(connect_failures, 20);
}
END_TEST

/* The same through the pool: create refuses what libpq cannot parse; the rest fail at connect
 * on the maintenance thread, and the error a waiter gets names no fragment either. */
START_TEST(test_issue12_no_password_fragment_in_pool_errors)
{
	for (size_t j = 0; j < sizeof joins / sizeof joins[0]; j++) {
		char pw[64], ci[256];
		snprintf(pw, sizeof pw, "Qz7%sWx8%sVy9", joins[j], joins[j]);
		for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
			snprintf(ci, sizeof ci, forms[f], pw);
			pgorm_pool_config cfg = PGORM_POOL_CONFIG_INIT;
			cfg.conninfo = ci;
			cfg.backoff_min_ms = 1000; /* one attempt is enough */
			cfg.backoff_max_ms = 1000;
			pgorm_pool *p = NULL;
			pgorm_error err;
			int rc = pgorm_pool_create(&p, &cfg, &err);
			if (rc != 0) {
				ck_assert_msg(rc == PGORM_EINVAL, "%s: %s", ci, pgorm_err_name(rc));
				assert_no_fragment(ci, "pgorm_pool_create", err.message);
				continue;
			}
			pgorm_pool_stats st;
			for (int i = 0; i < 1000; i++) { /* bounded: the first connect fails fast */
				pgorm_pool_stats_get(p, &st);
				if (st.connect_failures > 0)
					break;
				struct timespec ts = { 0, 10 * 1000000L };
				nanosleep(&ts, NULL);
			}
			ck_assert_msg(st.connect_failures > 0, "%s: no connect failure", ci);
			pgorm_conn *c = NULL;
			rc = pgorm_pool_try_acquire(p, &c, &err);
			ck_assert_msg(rc == PGORM_ECONN, "%s: %s %s", ci, pgorm_err_name(rc), err.message);
			assert_no_fragment(ci, "pgorm_pool_try_acquire", err.message);
			pgorm_pool_destroy(p);
		}
	}
}
END_TEST

/* delete-orphan without delete, as SQLAlchemy 1.4 does it (checked with the same schema):
 * deleting the parent nulls its children's key (they are not orphans of a removal, and there
 * is no delete cascade); removing a child from the collection deletes it. */
START_TEST(test_issue11_delete_orphan_without_delete)
{
	const pgorm_model *models[] = { &op_model, &oc_model };
	pgorm_registry *oreg = NULL;
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&oreg, models, 2, &err) == 0, "%s", err.message);
	const pgorm_rel *kids = pgorm_registry_rel(oreg, &op_model, "kids");
	pgtest_exec(conn, "DROP TABLE IF EXISTS lw_oc, lw_op");
	pgtest_exec(conn, "CREATE TABLE lw_op (id bigint PRIMARY KEY)");
	pgtest_exec(conn, "CREATE TABLE lw_oc (id bigint PRIMARY KEY, p_id bigint REFERENCES lw_op(id))");
	pgorm_session *s = NULL;
	ck_assert_int_eq(pgorm_session_create(&s, oreg, NULL, conn, NULL, NULL), 0);
	for (int64_t i = 1; i <= 2; i++) {
		OP *p = pgorm_object_new(s, &op_model);
		p->id = i;
		ck_assert_int_eq(pgorm_session_add(s, p), 0);
		for (int64_t k = 1; k <= 2; k++) {
			OC *c = pgorm_object_new(s, &oc_model);
			c->id = 2 * i + k - 2;
			ck_assert_int_eq(pgorm_rel_append(s, kids, p, c), 0);
		}
	}
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	void *p1, *p2;
	ck_assert_int_eq(pgorm_session_get(s, &op_model, (pgorm_value[]){ PGORM_INT8(1) }, &p1), 0);
	ck_assert_int_eq(pgorm_session_delete(s, p1), 0);
	ck_assert_int_eq(pgorm_session_get(s, &op_model, (pgorm_value[]){ PGORM_INT8(2) }, &p2), 0);
	pgorm_collection *k2 = pgorm_rel_collection(s, kids, p2);
	ck_assert_int_eq(pgorm_rel_load(s, kids, p2, NULL), 0);
	ck_assert_uint_eq(k2->len, 2);
	void *first = k2->items[0];
	ck_assert_int_eq(pgorm_rel_remove(s, kids, p2, first), 0);
	ck_assert_msg(pgorm_session_commit(s) == 0, "%s", pgorm_session_error(s)->message);
	pgorm_session_destroy(s);
	ck_assert_str_eq(pgtest_text(conn, "SELECT string_agg(id || ':' || coalesce(p_id::text, 'NULL'), ' ' ORDER BY id) "
	                                   "FROM lw_oc"), "1:NULL 2:NULL 4:2");
	pgorm_registry_destroy(oreg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("issue12_lower");
	TCase *tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_issue12_null_array_in_filter_and_where);
	tcase_add_test(tc, test_issue12_where_renumbering_lexes_like_postgres);
	tcase_add_test(tc, test_issue12_no_password_fragment_in_connect_errors);
	tcase_add_test(tc, test_issue12_no_password_fragment_in_pool_errors);
	tcase_add_test(tc, test_issue11_delete_orphan_without_delete);
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
