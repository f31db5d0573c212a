/* Integration tests: round trips per commit shape (issue 17). The session's BEGIN travels in
 * the same pipeline as its first statements and a commit's COMMIT in the same pipeline as the
 * flush's statements: a commit without generated-key dependencies takes 1 round trip, one with
 * them 2 (key reservation, then the statements); a named statement used for the first time is
 * prepared in the same pipeline as its execution. Counted by the connection
 * (pgorm_conn_stats.round_trips) and the session (pgorm_stats.round_trips); the statement log
 * and the database state are asserted too. Failures stay exact: SQLSTATE, object, nothing
 * committed. */
#include "pgtest.h"

#include <stdio.h>
#include <string.h>

typedef struct RParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} RParent;

typedef struct RChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	RParent *parent;
} RChild;

extern const pgorm_model rparent_model, rchild_model;
static const pgorm_column rparent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, RParent, id),
	PGORM_COLUMN(TEXT, "name", 0, RParent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship rparent_rels[] = {
	PGORM_ONE_TO_MANY("children", RParent, children, &rchild_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model rparent_model = PGORM_MODEL("rt_parent", RParent, rparent_cols, rparent_rels);
static const pgorm_column rchild_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, RChild, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, RChild, parent_id, "rt_parent", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, RChild, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship rchild_rels[] = {
	PGORM_MANY_TO_ONE("parent", RChild, parent, &rparent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model rchild_model = PGORM_MODEL("rt_child", RChild, rchild_cols, rchild_rels);

static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_conn *check;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .check = &check, .session = &s, .log = &log_ };

static void setup(void)
{
	const pgorm_model *models[] = { &rparent_model, &rchild_model };
	pgtest_env_setup(&env, models, 2, "DROP TABLE IF EXISTS rt_child, rt_parent", PGTEST_CREATE_ALL,
	                 "INSERT INTO rt_parent (name) VALUES ('old')",
	                 "INSERT INTO rt_child (parent_id, name) SELECT id, 'old-' || g FROM rt_parent, generate_series(1, 3) g",
	                 NULL);
	s = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

static uint64_t conn_rt(void)
{
	pgorm_conn_stats st;
	pgorm_conn_stats_get(conn, &st);
	return st.round_trips;
}

static uint64_t sess_rt(void)
{
	pgorm_stats st;
	pgorm_session_stats(s, &st);
	return st.round_trips;
}

/* Round trips of one commit, counted by the connection and by the session (they agree). */
static uint64_t commit_rt(int expect_rc)
{
	uint64_t c0 = conn_rt(), s0 = sess_rt();
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == expect_rc, "commit: %s: %s", pgorm_err_name(rc), pgorm_session_error(s)->message);
	uint64_t c1 = conn_rt(), s1 = sess_rt();
	ck_assert_uint_eq(c1 - c0, s1 - s0);
	return c1 - c0;
}

static RParent *family(const char *name, RChild **a, RChild **b)
{
	const pgorm_rel *children = pgorm_registry_rel(reg, &rparent_model, "children");
	RParent *p = pgorm_object_new(s, &rparent_model);
	ck_assert_ptr_nonnull(p);
	p->name = pgorm_strdup(s, name);
	RChild *kids[2];
	for (int i = 0; i < 2; i++) {
		char buf[64];
		snprintf(buf, sizeof buf, "%s-%c", name, 'a' + i);
		kids[i] = pgorm_object_new(s, &rchild_model);
		ck_assert_ptr_nonnull(kids[i]);
		kids[i]->name = pgorm_strdup(s, buf);
		ck_assert_int_eq(pgorm_rel_append(s, children, p, kids[i]), 0);
	}
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	*a = kids[0];
	*b = kids[1];
	return p;
}

/* The old children, loaded (one round trip, which carries the BEGIN). */
static size_t load_old(RChild **out, size_t max)
{
	pgorm_query *q = NULL;
	ck_assert_int_eq(pgorm_query_create(&q, s, &rchild_model), 0);
	ck_assert_int_eq(pgorm_query_order_by(q, "id", false), 0);
	pgorm_list l;
	uint64_t r0 = conn_rt();
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	ck_assert_uint_eq(conn_rt() - r0, 1); /* BEGIN + SELECT */
	size_t n = l.len < max ? l.len : max;
	for (size_t i = 0; i < n; i++)
		out[i] = l.items[i];
	pgorm_query_destroy(q);
	return n;
}

static int64_t count(const char *sql) { return pgtest_int(check, sql); }

/* New parent + 2 children: the children need the parent's generated key, so 2 round trips:
 * BEGIN + key reservation, then the INSERTs + COMMIT. */
START_TEST(test_new_parent_two_children)
{
	RChild *a, *b;
	RParent *p = family("fam", &a, &b);
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 2);
	ck_assert_uint_eq(pgtest_log_count(&log_, "BEGIN"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "nextval"), 2);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT"), 2);
	ck_assert_uint_eq(pgtest_log_count(&log_, "COMMIT"), 1);
	ck_assert_str_eq(log_.sql[0], "BEGIN");
	ck_assert_str_eq(log_.sql[log_.n - 1], "COMMIT");
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(a->parent_id, p->id);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child c JOIN rt_parent p ON p.id = c.parent_id WHERE p.name = 'fam'"), 2);
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_IDLE);
}
END_TEST

/* Updates only: 1 round trip (UPDATEs + COMMIT) after the load (BEGIN + SELECT). */
START_TEST(test_updates_only)
{
	RChild *old[3];
	ck_assert_uint_eq(load_old(old, 3), 3);
	for (int i = 0; i < 3; i++)
		old[i]->name = pgorm_strdup(s, i == 0 ? "u0" : i == 1 ? "u1" : "u2");
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 3);
	ck_assert_uint_eq(pgtest_log_count(&log_, "BEGIN"), 0);
	ck_assert_str_eq(log_.sql[log_.n - 1], "COMMIT");
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name IN ('u0', 'u1', 'u2')"), 3);
}
END_TEST

/* Deletes only: 1 round trip. */
START_TEST(test_deletes_only)
{
	RChild *old[3];
	ck_assert_uint_eq(load_old(old, 3), 3);
	ck_assert_int_eq(pgorm_session_delete(s, old[0]), 0);
	ck_assert_int_eq(pgorm_session_delete(s, old[2]), 0);
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child"), 1);
	ck_assert_int_eq(pgorm_object_state(old[0]), PGORM_STATE_DETACHED);
}
END_TEST

/* Mixed: an update and a delete, 1 round trip; with a new row whose generated key is reserved
 * first, 2. */
START_TEST(test_mixed)
{
	RChild *old[3];
	ck_assert_uint_eq(load_old(old, 3), 3);
	old[0]->name = pgorm_strdup(s, "m0");
	ck_assert_int_eq(pgorm_session_delete(s, old[1]), 0);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name = 'm0'"), 1);

	ck_assert_uint_eq(load_old(old, 3), 2);
	old[0]->name = pgorm_strdup(s, "m1");
	ck_assert_int_eq(pgorm_session_delete(s, old[1]), 0);
	RChild *n = pgorm_object_new(s, &rchild_model);
	n->name = pgorm_strdup(s, "new");
	ck_assert_int_eq(PGORM_SET(n, parent_id, old[0]->parent_id), 0); /* every column: no RETURNING */
	ck_assert_int_eq(pgorm_session_add(s, n), 0);
	ck_assert_uint_eq(commit_rt(0), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name IN ('m1', 'new')"), 2);
}
END_TEST

/* A transaction that sent nothing closes without a round trip; a commit with nothing to flush
 * after a load sends COMMIT alone. */
START_TEST(test_empty_commit_and_rollback)
{
	ck_assert_uint_eq(commit_rt(0), 0);
	uint64_t r0 = conn_rt();
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_uint_eq(conn_rt() - r0, 0);
	RChild *old[3];
	load_old(old, 3);
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_uint_eq(log_.n, 1);
	ck_assert_str_eq(log_.sql[0], "COMMIT");
}
END_TEST

/* A named statement used for the first time: PREPARE and execution in one round trip, on a
 * connection and in a session; the second use executes the prepared statement. */
START_TEST(test_first_use_of_named_statement)
{
	pgorm_conn_stats a, b;
	pgorm_conn_stats_get(conn, &a);
	pgorm_result *r = NULL;
	pgorm_value v = PGORM_INT8(41);
	ck_assert_int_eq(pgorm_conn_exec(conn, "SELECT $1::int8 + 1 AS rt_first_use", 1, &v, &r), 0);
	int64_t x = 0;
	ck_assert_int_eq(pgorm_result_int64(r, 0, 0, &x), 0);
	ck_assert_int_eq(x, 42);
	pgorm_result_free(r);
	pgorm_conn_stats_get(conn, &b);
	ck_assert_uint_eq(b.round_trips - a.round_trips, 1);
	ck_assert_uint_eq(b.prepares - a.prepares, 1);
	ck_assert_uint_eq(b.cache_misses - a.cache_misses, 1);
	ck_assert_int_eq(pgorm_conn_exec(conn, "SELECT $1::int8 + 1 AS rt_first_use", 1, &v, NULL), 0);
	pgorm_conn_stats_get(conn, &a);
	ck_assert_uint_eq(a.round_trips - b.round_trips, 1);
	ck_assert_uint_eq(a.prepares - b.prepares, 0);
	ck_assert_uint_eq(a.cache_hits - b.cache_hits, 1);
	/* a failing first use reports the server's error as before, and nothing stays cached */
	ck_assert_int_eq(pgorm_conn_exec(conn, "SELECT no_such_column FROM rt_parent", 0, NULL, NULL), PGORM_ESERVER);
	ck_assert_str_eq(pgorm_conn_error(conn)->sqlstate, "42703");
	ck_assert_int_eq(pgorm_conn_error(conn)->stmt_index, -1);
	/* in a session: BEGIN, PREPARE and the query in one round trip */
	RChild *old[3];
	pgorm_conn_stats_get(conn, &a);
	load_old(old, 3);
	pgorm_conn_stats_get(conn, &b);
	ck_assert_uint_eq(b.round_trips - a.round_trips, 1);
	ck_assert_uint_eq(b.prepares - a.prepares, 1);
}
END_TEST

/* A failing statement in the pipelined BEGIN … COMMIT: everything rolls back, the error has
 * the SQLSTATE and the object, COMMIT was skipped (not in doubt), and the retry works. */
START_TEST(test_failure_in_commit_pipeline_is_exact)
{
	RChild *a, *b;
	RParent *p = family("dup", &a, &b);
	b->name = pgorm_strdup(s, "old-2"); /* UNIQUE: taken */
	ck_assert_uint_eq(commit_rt(PGORM_ECONSTRAINT), 3); /* keys, statements + COMMIT (skipped), ROLLBACK */
	const pgorm_error *e = pgorm_session_error(s);
	ck_assert_str_eq(e->sqlstate, "23505");
	ck_assert_ptr_eq(pgorm_session_error_object(s), b);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_parent WHERE name = 'dup'"), 0);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(p->id, 0);
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_IDLE);
	b->name = pgorm_strdup(s, "dup-b");
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	ck_assert_uint_eq(commit_rt(0), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child c JOIN rt_parent p ON p.id = c.parent_id WHERE p.name = 'dup'"), 2);
}
END_TEST

/* Statements a commit must check before COMMIT (here a flush run by hand, then the commit):
 * the flush pipeline carries BEGIN, the COMMIT goes alone. */
START_TEST(test_flush_then_commit)
{
	RChild *old[3];
	load_old(old, 3);
	old[0]->name = pgorm_strdup(s, "f0");
	uint64_t r0 = conn_rt();
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_uint_eq(conn_rt() - r0, 1);
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_INTRANS);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name = 'f0'"), 0);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name = 'f0'"), 1);
}
END_TEST

/* A flush that reads values back (RETURNING of a column the INSERT left out) before COMMIT:
 * the COMMIT goes alone after it. Keys + BEGIN, INSERT … RETURNING, COMMIT. */
START_TEST(test_returning_commits_apart)
{
	RChild *n = pgorm_object_new(s, &rchild_model);
	n->name = pgorm_strdup(s, "orphan"); /* parent_id never assigned: left out, read back */
	ck_assert_int_eq(pgorm_session_add(s, n), 0);
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 3);
	ck_assert_uint_eq(pgtest_log_count(&log_, "RETURNING"), 1);
	ck_assert_str_eq(log_.sql[log_.n - 1], "COMMIT");
	ck_assert(pgorm_object_is_null(n, "parent_id"));
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name = 'orphan' AND parent_id IS NULL"), 1);
}
END_TEST

/* A session joined to the caller's transaction: SAVEPOINT with the first statements, RELEASE
 * with the last; the caller's transaction decides. */
START_TEST(test_joined_session)
{
	pgorm_session_destroy(s);
	s = NULL;
	pgtest_exec(conn, "BEGIN");
	s = pgtest_env_session(&env, NULL, &log_);
	RChild *a, *b;
	family("joined", &a, &b);
	ck_assert_uint_eq(commit_rt(0), 2);
	ck_assert_str_eq(log_.sql[0], "SAVEPOINT \"pgorm_join\"");
	ck_assert_uint_eq(pgtest_log_count(&log_, "SAVEPOINT \"pgorm_join\""), 2);
	ck_assert_uint_eq(pgtest_log_count(&log_, "RELEASE SAVEPOINT \"pgorm_join\""), 1);
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_INTRANS);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_parent WHERE name = 'joined'"), 0);
	pgtest_exec(conn, "ROLLBACK");
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM rt_parent WHERE name = 'joined'"), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("roundtrips");
	TCase *tc = pgtest_tcase(su, "roundtrips", 60, setup, teardown);
	tcase_add_test(tc, test_new_parent_two_children);
	tcase_add_test(tc, test_updates_only);
	tcase_add_test(tc, test_deletes_only);
	tcase_add_test(tc, test_mixed);
	tcase_add_test(tc, test_empty_commit_and_rollback);
	tcase_add_test(tc, test_first_use_of_named_statement);
	tcase_add_test(tc, test_failure_in_commit_pipeline_is_exact);
	tcase_add_test(tc, test_flush_then_commit);
	tcase_add_test(tc, test_returning_commits_apart);
	tcase_add_test(tc, test_joined_session);
	return pgtest_run(su);
}
