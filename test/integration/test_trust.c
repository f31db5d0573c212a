/* Integration tests: no silent wrong write. Values and NULL (model.h's one rule for columns
 * never assigned), rollback after a flush, and SQLAlchemy's orphan / single-parent / merge
 * rules. Each test_issue_* test failed before its fix. */
#include "pgtest.h"

#include <stdio.h>
#include <string.h>

typedef struct Parent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection kids;
} Parent;

typedef struct Kid {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;   /* nullable */
	char *name;          /* NOT NULL */
	int32_t qty;         /* NOT NULL DEFAULT 5 */
	char *note;          /* nullable */
	Parent *parent;
} Kid;

typedef struct Strict {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;   /* NOT NULL, no relationship */
	char *name;
} Strict;

static const pgorm_column parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", 0, Parent, name),
	PGORM_COLUMN_END
};
static const pgorm_column kid_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Kid, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Kid, parent_id, "parents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Kid, name),
	PGORM_COLUMN(INT4, "qty", PGORM_SERVER_DEFAULT, Kid, qty),
	PGORM_COLUMN(TEXT, "note", PGORM_NULLABLE, Kid, note),
	PGORM_COLUMN_END
};
static const pgorm_column strict_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Strict, id),
	PGORM_COLUMN_FK(INT8, "parent_id", 0, Strict, parent_id, "parents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Strict, name),
	PGORM_COLUMN_END
};

extern const pgorm_model parent_model, kid_model;
static const pgorm_relationship parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", Parent, kids, &kid_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship kid_rels[] = {
	PGORM_MANY_TO_ONE("parent", Kid, parent, &parent_model, "parent_id", "kids"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model parent_model = PGORM_MODEL("parents", Parent, parent_cols, parent_rels);
const pgorm_model kid_model = PGORM_MODEL("kids", Kid, kid_cols, kid_rels);
static const pgorm_model strict_model = PGORM_MODEL("stricts", Strict, strict_cols, NULL);

static pgorm_registry *reg;
static pgorm_conn *conn;  /* the session's */
static pgorm_conn *check; /* a second connection: what is committed */
static pgorm_session *s;
static pgtest_log log_;
static const pgorm_rel *kids_rel, *parent_rel;

static void new_session(void)
{
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.stmt_hook = pgtest_log_hook;
	cfg.stmt_hook_ctx = &log_;
	pgorm_error err;
	ck_assert_msg(pgorm_session_create(&s, reg, NULL, conn, &cfg, &err) == 0, "%s", err.message);
}

static void setup(void)
{
	const pgorm_model *models[] = { &parent_model, &kid_model, &strict_model };
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, models, 3, &err) == 0, "%s", err.message);
	kids_rel = pgorm_registry_rel(reg, &parent_model, "kids");
	parent_rel = pgorm_registry_rel(reg, &kid_model, "parent");
	conn = pgtest_connect();
	check = pgtest_connect();
	pgtest_exec(conn, "DROP TABLE IF EXISTS stricts, kids, parents");
	pgtest_exec(conn, "CREATE TABLE parents (id bigserial PRIMARY KEY, name text NOT NULL)");
	pgtest_exec(conn, "CREATE TABLE kids (id bigserial PRIMARY KEY, parent_id bigint REFERENCES parents, "
	                  "name text NOT NULL, qty integer NOT NULL DEFAULT 5, note text)");
	pgtest_exec(conn, "CREATE TABLE stricts (id bigserial PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parents, "
	                  "name text NOT NULL)");
	new_session();
	pgtest_log_clear(&log_);
}

static void teardown(void)
{
	pgorm_session_destroy(s);
	pgorm_conn_close(check);
	pgorm_conn_close(conn);
	pgorm_registry_destroy(reg);
	pgtest_log_clear(&log_);
}

static int64_t q(const char *sql) { return pgtest_int(check, sql); }

static void commit_ok(void)
{
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == 0, "commit: %d %s", rc, pgorm_session_error(s)->message);
}

static Parent *parent(const char *name)
{
	Parent *p = pgorm_object_new(s, &parent_model);
	ck_assert_ptr_nonnull(p);
	p->name = pgorm_strdup(s, name);
	return p;
}

static Kid *kid(const char *name)
{
	Kid *k = pgorm_object_new(s, &kid_model);
	ck_assert_ptr_nonnull(k);
	k->name = pgorm_strdup(s, name);
	return k;
}

/* ================= values and NULL ================= */

/* Writing the FK field of a new object is enough: before, it was inserted as NULL unless
 * pgorm_object_set_null(c, "parent_id", false) was called too. */
START_TEST(test_issue_fk_field_write_is_inserted)
{
	Parent *p = parent("p");
	pgorm_session_add(s, p);
	commit_ok();
	Kid *k = kid("k");
	k->parent_id = p->id;
	pgorm_session_add(s, k);
	commit_ok();
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM kids WHERE parent_id = %lld", (long long)p->id);
	ck_assert_int_eq(q(sql), 1);
}
END_TEST

/* A NULL char * in a NOT NULL text column is NULL, never '': the server refuses it. */
START_TEST(test_issue_null_string_not_null_column)
{
	Kid *k = kid("k");
	k->name = NULL;
	pgorm_session_add(s, k);
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "23502");
	ck_assert_str_eq(pgorm_session_error(s)->column, "name");
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM kids"), 0);
	/* a persistent object whose string is set to NULL: an UPDATE to NULL, refused too */
	k->name = "back";
	pgorm_session_add(s, k);
	commit_ok();
	k->name = NULL;
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ECONSTRAINT);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "23502");
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE name = 'back'"), 1);
}
END_TEST

/* A never-assigned NOT NULL FK is left out of the INSERT (23502 naming it): before, it was
 * sent as 0 and attached the row to the parent with id 0. */
START_TEST(test_issue_unassigned_fk_not_sent_as_zero)
{
	pgtest_exec(check, "INSERT INTO parents (id, name) VALUES (0, 'zero')");
	Strict *o = pgorm_object_new(s, &strict_model);
	o->name = "orphan";
	pgorm_session_add(s, o);
	pgtest_log_clear(&log_);
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "23502");
	ck_assert_str_eq(pgorm_session_error(s)->column, "parent_id");
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"stricts\" (\"id\", \"name\")"), 1);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM stricts"), 0);
}
END_TEST

/* Never assigned: the server's default applies and is read back; PGORM_SET stores a zero. */
START_TEST(test_issue_unassigned_column_gets_default)
{
	Kid *a = kid("a"), *b = kid("b"), *c = kid("c");
	b->qty = 7;
	ck_assert_int_eq(PGORM_SET(c, qty, 0), 0);
	pgorm_session_add(s, a);
	pgorm_session_add(s, b);
	pgorm_session_add(s, c);
	ck_assert(pgorm_object_is_null(a, "qty"));
	ck_assert(!pgorm_object_is_null(b, "qty"));
	ck_assert(pgorm_object_is_null(a, "note"));
	commit_ok();
	ck_assert_int_eq(q("SELECT qty FROM kids WHERE name = 'a'"), 5);
	ck_assert_int_eq(q("SELECT qty FROM kids WHERE name = 'b'"), 7);
	ck_assert_int_eq(q("SELECT qty FROM kids WHERE name = 'c'"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE note IS NULL"), 3);
	ck_assert_int_eq(a->qty, 5); /* RETURNING gave the default back */
	ck_assert(!pgorm_object_is_null(a, "qty"));
}
END_TEST

/* A persistent object loaded with a NULL column, then written: the write counts. */
START_TEST(test_issue_loaded_null_then_written)
{
	pgtest_exec(check, "INSERT INTO kids (name, note) VALUES ('n', NULL)");
	pgorm_query *qy = NULL;
	ck_assert_int_eq(pgorm_query_create(&qy, s, &kid_model), 0);
	pgorm_list rows;
	ck_assert_int_eq(pgorm_query_all(qy, &rows), 0);
	ck_assert_uint_eq(rows.len, 1);
	Kid *k = rows.items[0];
	ck_assert(pgorm_object_is_null(k, "note"));
	ck_assert(pgorm_object_is_null(k, "parent_id"));
	k->note = "written";
	Parent *p = parent("p");
	pgorm_session_add(s, p);
	commit_ok();
	k->parent_id = p->id;
	commit_ok();
	pgorm_query_destroy(qy);
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM kids WHERE note = 'written' AND parent_id = %lld", (long long)p->id);
	ck_assert_int_eq(q(sql), 1);
	/* and back to NULL through the API */
	ck_assert_int_eq(pgorm_object_set_null(k, "note", true), 0);
	ck_assert_ptr_null(k->note);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE note IS NULL"), 1);
}
END_TEST

/* ================= rollback after a successful flush ================= */

/* Rollback resets the keys sequences gave and the FKs copied from links: before, the children
 * kept the parent's old key and the next commit failed on the FK (or, without a constraint,
 * pointed at a row that does not exist). */
START_TEST(test_issue_rollback_resets_synced_fks)
{
	pgtest_exec(check, "SELECT setval('parents_id_seq', 100)");
	Parent *p = parent("p");
	Kid *a = kid("a"), *b = kid("b");
	pgorm_rel_append(s, kids_rel, p, a);
	pgorm_rel_append(s, kids_rel, p, b);
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_int_eq(a->parent_id, p->id);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(p->id, 0);
	ck_assert_int_eq(a->parent_id, 0);
	ck_assert_ptr_eq(a->parent, p); /* the links stay */
	/* the sequence moves on: the next key differs from the rolled-back one */
	pgtest_exec(check, "SELECT nextval('parents_id_seq')");
	pgorm_session_add(s, p);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids k JOIN parents p ON p.id = k.parent_id WHERE p.name = 'p'"), 2);
	ck_assert_int_eq(a->parent_id, p->id);
	ck_assert_str_eq(a->name, "a");
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("trust");
	TCase *tc = tcase_create("trust");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_issue_fk_field_write_is_inserted);
	tcase_add_test(tc, test_issue_null_string_not_null_column);
	tcase_add_test(tc, test_issue_unassigned_fk_not_sent_as_zero);
	tcase_add_test(tc, test_issue_unassigned_column_gets_default);
	tcase_add_test(tc, test_issue_loaded_null_then_written);
	tcase_add_test(tc, test_issue_rollback_resets_synced_fks);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return pgtest_run(suite());
}
