/* Integration tests: round trips per commit shape (issue 17). The session's BEGIN travels in
 * the same pipeline as its first statements and a commit's COMMIT in the same pipeline as the
 * flush's statements: a commit without generated-key dependencies takes 1 round trip (new rows
 * nothing else in the flush refers to read their keys back with INSERT … RETURNING), one with
 * them 2 (key reservation, then the statements); a named statement used for the first time is
 * prepared in the same pipeline as its execution (every test runs on a new connection, so each
 * commit below prepares its statements). Counted by the connection
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

/* A parent whose children go with it (delete cascade): the delete-with-cascade shape. */
typedef struct CParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} CParent;

typedef struct CChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	CParent *parent;
} CChild;

extern const pgorm_model cparent_model, cchild_model;
static const pgorm_column cparent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, CParent, id),
	PGORM_COLUMN(TEXT, "name", 0, CParent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship cparent_rels[] = {
	PGORM_ONE_TO_MANY("children", CParent, children, &cchild_model, "parent_id", "parent", PGORM_CASCADE_ALL),
	PGORM_RELATIONSHIP_END
};
const pgorm_model cparent_model = PGORM_MODEL("rt_cparent", CParent, cparent_cols, cparent_rels);
static const pgorm_column cchild_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, CChild, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, CChild, parent_id, "rt_cparent", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, CChild, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship cchild_rels[] = {
	PGORM_MANY_TO_ONE("parent", CChild, parent, &cparent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model cchild_model = PGORM_MODEL("rt_cchild", CChild, cchild_cols, cchild_rels);

/* Every column but the key nullable: a new one with nothing assigned is all defaults. */
typedef struct RTag {
	pgorm_object hdr;
	int64_t id;
	char *note;
} RTag;

static const pgorm_column rtag_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, RTag, id),
	PGORM_COLUMN(TEXT, "note", PGORM_NULLABLE, RTag, note),
	PGORM_COLUMN_END
};
static const pgorm_relationship rtag_rels[] = { PGORM_RELATIONSHIP_END };
static const pgorm_model rtag_model = PGORM_MODEL("rt_tag", RTag, rtag_cols, rtag_rels);

static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_conn *check;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .check = &check, .session = &s, .log = &log_ };

static void setup(void)
{
	const pgorm_model *models[] = { &rparent_model, &rchild_model, &rtag_model, &cparent_model, &cchild_model };
	pgtest_env_setup(&env, models, 5, "DROP TABLE IF EXISTS rt_child, rt_parent, rt_tag, rt_cchild, rt_cparent",
	                 PGTEST_CREATE_ALL, "INSERT INTO rt_parent (name) VALUES ('old')",
	                 "INSERT INTO rt_child (parent_id, name) SELECT id, 'old-' || g FROM rt_parent, generate_series(1, 3) g",
	                 "INSERT INTO rt_cparent (name) SELECT 'cp' || g FROM generate_series(1, 100) g",
	                 "INSERT INTO rt_cchild (parent_id, name) SELECT id, 'cc' || g FROM rt_cparent, generate_series(1, 10) g",
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

/* Parents deleted with a delete cascade to children not loaded (leaves: session.h): the query
 * (1), then the children's DELETE by their parents' keys, the parents' DELETE and COMMIT in
 * one pipeline (1); before, the flush loaded the children first (3 in all). */
START_TEST(test_delete_with_cascade)
{
	pgorm_query *q = NULL;
	ck_assert_int_eq(pgorm_query_create(&q, s, &cparent_model), 0);
	pgorm_list l;
	uint64_t r0 = conn_rt();
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	ck_assert_uint_eq(l.len, 100);
	for (size_t i = 0; i < l.len; i++)
		ck_assert_int_eq(pgorm_session_delete(s, l.items[i]), 0);
	pgorm_query_destroy(q);
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_uint_eq(conn_rt() - r0, 2);
	ck_assert_uint_eq(pgtest_log_count(&log_, "SELECT"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_cchild"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_cparent"), 0);
}
END_TEST

/* Mixed: an update and a delete, 1 round trip; with a new row too (its key read back), still 1. */
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
	ck_assert_int_eq(PGORM_SET(n, parent_id, old[0]->parent_id), 0); /* every column but the key */
	ck_assert_int_eq(pgorm_session_add(s, n), 0);
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "nextval"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "RETURNING"), 1);
	ck_assert_int_gt(n->id, 0);
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

/* A flush that reads values back (RETURNING of a column the INSERT left out, other than the
 * generated key) before COMMIT: the COMMIT goes alone after it. BEGIN + INSERT … RETURNING,
 * then COMMIT. */
START_TEST(test_returning_commits_apart)
{
	RChild *n = pgorm_object_new(s, &rchild_model);
	n->name = pgorm_strdup(s, "orphan"); /* parent_id never assigned: left out, read back */
	ck_assert_int_eq(pgorm_session_add(s, n), 0);
	RTag *bare = pgorm_object_new(s, &rtag_model); /* nothing assigned: all defaults */
	ck_assert_int_eq(pgorm_session_add(s, bare), 0);
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 2);
	ck_assert_uint_eq(pgtest_log_count(&log_, "nextval"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "RETURNING \"id\", \"parent_id\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"rt_tag\" (\"id\") VALUES (DEFAULT) RETURNING \"id\", \"note\""), 1);
	ck_assert_int_gt(n->id, 0);
	ck_assert_int_gt(bare->id, 0);
	ck_assert(pgorm_object_is_null(bare, "note"));
	ck_assert_int_eq(count("SELECT count(*) FROM rt_tag WHERE note IS NULL"), 1);
	ck_assert_str_eq(log_.sql[log_.n - 1], "COMMIT");
	ck_assert(pgorm_object_is_null(n, "parent_id"));
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name = 'orphan' AND parent_id IS NULL"), 1);
}
END_TEST

/* New rows of one table, nothing referring to them: BEGIN, one INSERT … RETURNING the keys
 * and COMMIT in 1 round trip; each object gets its row's key (checked against the row's name)
 * and is in the identity map under it. */
START_TEST(test_new_rows_one_table)
{
	RParent *p[3];
	static const char *const names[] = { "one", "two", "three" };
	for (int i = 0; i < 3; i++) {
		p[i] = pgorm_object_new(s, &rparent_model);
		ck_assert_ptr_nonnull(p[i]);
		p[i]->name = pgorm_strdup(s, names[i]);
		ck_assert_int_eq(pgorm_session_add(s, p[i]), 0);
	}
	pgtest_log_clear(&log_);
	pgorm_conn_stats a, b;
	pgorm_conn_stats_get(conn, &a);
	ck_assert_uint_eq(commit_rt(0), 1);
	pgorm_conn_stats_get(conn, &b);
	ck_assert_uint_ge(b.prepares - a.prepares, 1); /* the INSERT's first use: prepared in the same pipeline */
	ck_assert_uint_eq(log_.n, 3);
	ck_assert_str_eq(log_.sql[0], "BEGIN");
	ck_assert_str_eq(log_.sql[1], "INSERT INTO \"rt_parent\" (\"name\") VALUES ($1), ($2), ($3) RETURNING \"id\"");
	ck_assert_str_eq(log_.sql[2], "COMMIT");
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_IDLE);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pgorm_object_state(p[i]), PGORM_STATE_PERSISTENT);
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM rt_parent WHERE id = %lld AND name = '%s'", (long long)p[i]->id,
		         names[i]);
		ck_assert_int_eq(count(sql), 1);
		void *got = NULL;
		pgorm_value key = PGORM_INT8(p[i]->id);
		ck_assert_int_eq(pgorm_session_get(s, &rparent_model, &key, &got), 0);
		ck_assert_ptr_eq(got, p[i]);
	}
	ck_assert_int_ne(p[0]->id, p[1]->id);
}
END_TEST

/* More new rows than one INSERT takes (1,000): full batches, then the rest, all in the commit's
 * one round trip; the full batches send the same statement text; every row's generated key comes
 * back to its own object (RETURNING in VALUES order, batch by batch). */
START_TEST(test_new_rows_in_batches)
{
	enum { N = 2345 };
	static RTag *t[N];
	for (int i = 0; i < N; i++) {
		char buf[32];
		snprintf(buf, sizeof buf, "n%d", i);
		t[i] = pgorm_object_new(s, &rtag_model);
		ck_assert_ptr_nonnull(t[i]);
		t[i]->note = pgorm_strdup(s, buf);
		ck_assert_int_eq(pgorm_session_add(s, t[i]), 0);
	}
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_uint_eq(log_.n, 5);
	ck_assert_str_eq(log_.sql[0], "BEGIN");
	ck_assert_str_eq(log_.sql[1], log_.sql[2]);
	ck_assert_ptr_nonnull(strstr(log_.sql[1], ", ($1000) RETURNING \"id\""));
	ck_assert_ptr_nonnull(strstr(log_.sql[3], ", ($345) RETURNING \"id\""));
	ck_assert_ptr_null(strstr(log_.sql[3], "$346"));
	ck_assert_str_eq(log_.sql[4], "COMMIT");
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(pgorm_object_state(t[i]), PGORM_STATE_PERSISTENT);
		ck_assert_int_eq(t[i]->id, t[0]->id + i); /* one sequence, one session: consecutive */
	}
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM rt_tag WHERE note = 'n' || (id - %lld)", (long long)t[0]->id);
	ck_assert_int_eq(count(sql), N);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_tag"), N);
}
END_TEST

/* New children of an already persistent parent: their FK is the parent's known key, nothing
 * needs theirs: 1 round trip after the load. */
START_TEST(test_new_children_of_persistent_parent)
{
	const pgorm_rel *parent = pgorm_registry_rel(reg, &rchild_model, "parent");
	RChild *old[3];
	ck_assert_uint_eq(load_old(old, 3), 3);
	void *p = NULL;
	pgorm_value key = PGORM_INT8(old[0]->parent_id);
	ck_assert_int_eq(pgorm_session_get(s, &rparent_model, &key, &p), 0);
	RChild *kid[2];
	for (int i = 0; i < 2; i++) {
		kid[i] = pgorm_object_new(s, &rchild_model);
		ck_assert_ptr_nonnull(kid[i]);
		kid[i]->name = pgorm_strdup(s, i ? "kid-b" : "kid-a");
		ck_assert_int_eq(pgorm_rel_set(s, parent, kid[i], p), 0);
		ck_assert_int_eq(pgorm_session_add(s, kid[i]), 0);
	}
	pgtest_log_clear(&log_);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "nextval"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "BEGIN"), 0); /* it went with the load */
	ck_assert_str_eq(log_.sql[log_.n - 1], "COMMIT");
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pgorm_object_state(kid[i]), PGORM_STATE_PERSISTENT);
		ck_assert_int_eq(kid[i]->parent_id, ((RParent *)p)->id);
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM rt_child WHERE id = %lld AND name = 'kid-%c' AND parent_id = %lld",
		         (long long)kid[i]->id, 'a' + i, (long long)((RParent *)p)->id);
		ck_assert_int_eq(count(sql), 1);
	}
}
END_TEST

/* New rows by flush, then commit: the flush's pipeline (BEGIN + INSERT … RETURNING) gives the
 * keys, the COMMIT goes alone: 1 + 1. */
START_TEST(test_insert_flush_then_commit)
{
	RParent *p = pgorm_object_new(s, &rparent_model);
	p->name = pgorm_strdup(s, "flushed");
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	uint64_t r0 = conn_rt();
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_uint_eq(conn_rt() - r0, 1);
	ck_assert_int_gt(p->id, 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_parent WHERE name = 'flushed'"), 0);
	ck_assert_uint_eq(commit_rt(0), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM rt_parent WHERE name = 'flushed'"), 1);
}
END_TEST

/* A refused INSERT … RETURNING in the pipelined BEGIN … COMMIT: nothing committed, the objects
 * stay PENDING without a key and out of the identity map, the error names the object; after
 * the rollback (TRANSIENT, no key) the retry takes 1 round trip and gets the keys. */
START_TEST(test_failed_insert_returning_leaves_no_key)
{
	const pgorm_rel *parent = pgorm_registry_rel(reg, &rchild_model, "parent");
	RChild *old[3];
	ck_assert_uint_eq(load_old(old, 3), 3);
	void *p = NULL;
	pgorm_value key = PGORM_INT8(old[0]->parent_id);
	ck_assert_int_eq(pgorm_session_get(s, &rparent_model, &key, &p), 0);
	RChild *kid[2];
	for (int i = 0; i < 2; i++) {
		kid[i] = pgorm_object_new(s, &rchild_model);
		kid[i]->name = pgorm_strdup(s, i ? "old-2" : "fresh"); /* UNIQUE: old-2 is taken */
		ck_assert_int_eq(pgorm_rel_set(s, parent, kid[i], p), 0);
		ck_assert_int_eq(pgorm_session_add(s, kid[i]), 0);
	}
	ck_assert_uint_eq(commit_rt(PGORM_ECONSTRAINT), 2); /* statements + COMMIT (skipped), ROLLBACK */
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "23505");
	ck_assert_ptr_eq(pgorm_session_error_object(s), kid[1]);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pgorm_object_state(kid[i]), PGORM_STATE_PENDING);
		ck_assert_int_eq(kid[i]->id, 0);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child"), 3);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pgorm_object_state(kid[i]), PGORM_STATE_TRANSIENT);
		ck_assert_int_eq(kid[i]->id, 0);
	}
	/* nothing entered the identity map under a key of 0 */
	pgorm_stats st0, st1;
	pgorm_session_stats(s, &st0);
	void *none = NULL;
	pgorm_value zero = PGORM_INT8(0);
	ck_assert_int_eq(pgorm_session_get(s, &rchild_model, &zero, &none), PGORM_ENOTFOUND);
	pgorm_session_stats(s, &st1);
	ck_assert_uint_eq(st1.identity_hits, st0.identity_hits);
	pgorm_session_rollback(s);
	kid[1]->name = pgorm_strdup(s, "fresh-2");
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pgorm_session_add(s, kid[i]), 0);
	ck_assert_uint_eq(commit_rt(0), 1);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_gt(kid[i]->id, 0);
		void *got = NULL;
		pgorm_value k = PGORM_INT8(kid[i]->id);
		ck_assert_int_eq(pgorm_session_get(s, &rchild_model, &k, &got), 0);
		ck_assert_ptr_eq(got, kid[i]);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM rt_child WHERE name IN ('fresh', 'fresh-2')"), 2);
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
	tcase_add_test(tc, test_delete_with_cascade);
	tcase_add_test(tc, test_mixed);
	tcase_add_test(tc, test_empty_commit_and_rollback);
	tcase_add_test(tc, test_first_use_of_named_statement);
	tcase_add_test(tc, test_failure_in_commit_pipeline_is_exact);
	tcase_add_test(tc, test_flush_then_commit);
	tcase_add_test(tc, test_returning_commits_apart);
	tcase_add_test(tc, test_joined_session);
	tcase_add_test(tc, test_new_rows_one_table);
	tcase_add_test(tc, test_new_rows_in_batches);
	tcase_add_test(tc, test_new_children_of_persistent_parent);
	tcase_add_test(tc, test_insert_flush_then_commit);
	tcase_add_test(tc, test_failed_insert_returning_leaves_no_key);
	return pgtest_run(su);
}
