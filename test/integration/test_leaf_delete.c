/* Integration tests: a delete cascade to leaf children whose collection is not loaded deletes
 * them by foreign key, without loading them (lib/flush.c leaf_delete; the rule in session.h at
 * pgorm_session_delete), in a commit's flush only. Each scenario runs twice on the same data:
 * with the registry
 * {lparents, lkids}, where lkids is a leaf (the new path), and with {lparents, lkids, lrefs},
 * where lrefs refers to lkids, so the flush loads the children as before. The two runs must
 * end alike: the result code, SQLSTATE and the object the error names, the state of every
 * object the test holds, each kid's many-to-one link and its loaded bit, and the rows (in the
 * transaction and committed); only the statements differ (asserted: the leaf run loads no
 * child, the load run does). */
#include "pgtest.h"

#include <stdio.h>
#include <string.h>

typedef struct LParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection kids;
} LParent;

typedef struct LKid {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	int64_t qty;
	LParent *parent;
} LKid;

typedef struct LRef {
	pgorm_object hdr;
	int64_t id;
	int64_t kid_id;
} LRef;

extern const pgorm_model lparent_model, lkid_model;
static const pgorm_column lparent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, LParent, id),
	PGORM_COLUMN(TEXT, "name", 0, LParent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship lparent_rels[] = {
	PGORM_ONE_TO_MANY("kids", LParent, kids, &lkid_model, "parent_id", "parent", PGORM_CASCADE_ALL),
	PGORM_RELATIONSHIP_END
};
const pgorm_model lparent_model = PGORM_MODEL("lparents", LParent, lparent_cols, lparent_rels);
static const pgorm_column lkid_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, LKid, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, LKid, parent_id, "lparents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, LKid, name),
	PGORM_COLUMN(INT8, "qty", PGORM_NULLABLE, LKid, qty),
	PGORM_COLUMN_END
};
static const pgorm_relationship lkid_rels[] = {
	PGORM_MANY_TO_ONE("parent", LKid, parent, &lparent_model, "parent_id", "kids"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model lkid_model = PGORM_MODEL("lkids", LKid, lkid_cols, lkid_rels);
static const pgorm_column lref_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, LRef, id),
	PGORM_COLUMN_FK(INT8, "kid_id", PGORM_NULLABLE, LRef, kid_id, "lkids", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
static const pgorm_model lref_model = PGORM_MODEL("lrefs", LRef, lref_cols, NULL);

static pgorm_registry *reg_load, *reg_leaf;
static pgorm_conn *conn;
static pgorm_conn *check;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg_load, .conn = &conn, .check = &check, .session = &s, .log = &log_ };

static void setup(void)
{
	const pgorm_model *models[] = { &lparent_model, &lkid_model, &lref_model };
	pgtest_env_setup(&env, models, 3, "DROP TABLE IF EXISTS lrefs, lkids, lparents, lext_kid, lext_parent",
	                 PGTEST_CREATE_ALL, "ALTER TABLE lkids ADD CHECK (qty >= 0)",
	                 "CREATE TABLE lext_kid (kid_id bigint REFERENCES lkids (id))",
	                 "CREATE TABLE lext_parent (parent_id bigint REFERENCES lparents (id))", NULL);
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg_leaf, models, 2, &err) == 0, "registry: %s", err.message);
}

static void teardown(void)
{
	pgtest_env_teardown(&env);
	pgorm_registry_destroy(reg_leaf);
	reg_leaf = NULL;
}

/* p1 (kids k1a k1b k1c), p2 (k2a k2b k2c), p3 (k3a k3b), committed. */
static void reset(void)
{
	pgtest_exec(conn, "TRUNCATE lrefs, lext_kid, lext_parent, lkids, lparents");
	pgtest_exec(conn, "INSERT INTO lparents (id, name) VALUES (1, 'p1'), (2, 'p2'), (3, 'p3')");
	pgtest_exec(conn, "INSERT INTO lkids (id, parent_id, name, qty) VALUES (11, 1, 'k1a', 1), (12, 1, 'k1b', 2), "
	                  "(13, 1, 'k1c', 3), (21, 2, 'k2a', 4), (22, 2, 'k2b', 5), (23, 2, 'k2c', 6), (31, 3, 'k3a', 7), "
	                  "(32, 3, 'k3b', 8)");
}

/* What one run ends with, as text. */
typedef struct run {
	const pgorm_registry *reg;
	pgorm_session *s;
	char out[4096];
	size_t len;
	void *held[32];       /* the objects the scenario holds, described at the end */
	size_t nheld;
} run;

static void put(run *r, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(r->out + r->len, sizeof r->out - r->len, fmt, a, b);
	ck_assert(n >= 0 && (size_t)n < sizeof r->out - r->len);
	r->len += (size_t)n;
}

static const char *state_name(pgorm_state st)
{
	static const char *names[] = { "transient", "pending", "persistent", "deleted", "detached" };
	return (unsigned)st < 5 ? names[st] : "?";
}

static const char *name_of(const void *o)
{
	if (o == NULL)
		return "-";
	if (((const pgorm_object *)o)->model == &lkid_model)
		return ((const LKid *)o)->name;
	if (((const pgorm_object *)o)->model == &lparent_model)
		return ((const LParent *)o)->name;
	return "?";
}

static void *hold(run *r, void *o)
{
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_lt(r->nheld, 32);
	r->held[r->nheld++] = o;
	return o;
}

/* Load the rows of m (ordered by id) into the run's session, held. */
static size_t load_all(run *r, const pgorm_model *m, void **out, size_t max)
{
	pgorm_query *q = NULL;
	ck_assert_int_eq(pgorm_query_create(&q, r->s, m), 0);
	ck_assert_int_eq(pgorm_query_order_by(q, "id", false), 0);
	pgorm_list l;
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	size_t n = l.len < max ? l.len : max;
	for (size_t i = 0; i < n; i++)
		out[i] = hold(r, l.items[i]);
	pgorm_query_destroy(q);
	return n;
}

/* The result of an operation: code, SQLSTATE, the object the error names. */
static void result(run *r, const char *what, int rc)
{
	char buf[96];
	snprintf(buf, sizeof buf, "%s=%s", what, rc == 0 ? "ok" : pgorm_err_name(rc));
	put(r, "%s%s", buf, "");
	if (rc != 0)
		put(r, " sqlstate=%s obj=%s", pgorm_session_error(r->s)->sqlstate, name_of(pgorm_session_error_object(r->s)));
	put(r, "%s%s", "\n", "");
}

/* The held objects (state; for a kid its link and whether it is loaded) and the rows, read on
 * the session's connection (in its transaction) and on the check connection (committed). */
static void describe(run *r, const char *when)
{
	const pgorm_rel *up = pgorm_registry_rel(r->reg, &lkid_model, "parent");
	put(r, "[%s]%s", when, "");
	for (size_t i = 0; i < r->nheld; i++) {
		void *o = r->held[i];
		put(r, " %s:%s", name_of(o), state_name(pgorm_object_state(o)));
		if (((pgorm_object *)o)->model == &lkid_model) {
			bool loaded = pgorm_rel_is_loaded(up, o);
			put(r, "%s%s", loaded ? ">" : "~", loaded ? name_of(((LKid *)o)->parent) : "");
		}
	}
	static const char *rows = "SELECT coalesce(string_agg(k.name || '>' || coalesce(p.name, '-'), ',' ORDER BY k.name), '') "
	                          "FROM lkids k LEFT JOIN lparents p ON p.id = k.parent_id";
	static const char *prows = "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM lparents";
	char a[512], b[512];
	snprintf(a, sizeof a, "%s", pgtest_text(conn, rows));
	snprintf(b, sizeof b, "%s", pgtest_text(conn, prows));
	put(r, "\n  tx: %s | %s", a, b);
	snprintf(a, sizeof a, "%s", pgtest_text(check, rows));
	snprintf(b, sizeof b, "%s", pgtest_text(check, prows));
	put(r, "\n  committed: %s | %s\n", a, b);
}

typedef void (*scenario)(run *r);

/* Statements of the last run that loaded children (a SELECT from lkids) and that deleted them
 * by foreign key. */
static size_t kid_selects(void)
{
	size_t n = 0;
	for (size_t i = 0; i < log_.n; i++)
		n += strncmp(log_.sql[i], "SELECT", 6) == 0 && strstr(log_.sql[i], "\"lkids\" t WHERE") != NULL;
	return n;
}

static size_t fk_deletes(void) { return pgtest_log_count(&log_, "\"lkids\" WHERE \"parent_id\" = ANY"); }

static void one_run(run *r, const pgorm_registry *reg, scenario f)
{
	reset();
	memset(r, 0, sizeof *r);
	r->reg = reg;
	pgorm_session_config c = PGORM_SESSION_CONFIG_INIT;
	c.stmt_hook = pgtest_log_hook;
	c.stmt_hook_ctx = &log_;
	pgorm_error err;
	ck_assert_msg(pgorm_session_create(&s, reg, NULL, conn, &c, &err) == 0, "session: %s", err.message);
	r->s = s;
	pgtest_log_clear(&log_);
	f(r);
	pgorm_session_destroy(s);
	s = NULL;
}

/* Run f on both paths; they must end alike. saved: the children loads the leaf run saves (0:
 * it must load as the load run does). */
static void both(scenario f, size_t saved)
{
	static run a, b;
	one_run(&b, reg_load, f);
	size_t load_selects = kid_selects();
	ck_assert_uint_eq(fk_deletes(), 0);
	one_run(&a, reg_leaf, f);
	size_t leaf_selects = kid_selects(), leaf_fk = fk_deletes();
	ck_assert_msg(strcmp(a.out, b.out) == 0, "leaf path:\n%s\nload path:\n%s", a.out, b.out);
	ck_assert_uint_ge(load_selects, saved);
	ck_assert_uint_eq(leaf_selects, load_selects - saved);
	ck_assert_uint_eq(leaf_fk, saved);
}

static LParent *parents(run *r, LParent **p)
{
	ck_assert_uint_eq(load_all(r, &lparent_model, (void **)p, 3), 3);
	return p[0];
}

/* Nothing of the children in the session: deleted by foreign key, one statement fewer. */
static void sc_basic(run *r)
{
	LParent *p[3];
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[1]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_basic)
{
	both(sc_basic, true);
	/* the leaf run: the parents' query, then one pipeline: DELETE kids by key of parent,
	 * DELETE parents, COMMIT */
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE"), 2);
}
END_TEST

/* The children loaded before: those of the deleted parent are deleted, their links set as the
 * load sets them. */
static void sc_in_session(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_in_session_children)
{
	both(sc_in_session, 0); /* children in the session: the load */
}
END_TEST

/* A flush that is not a commit's loads the children (the deleted parent stays in the session:
 * its collection can be read, and shows them, as in SQLAlchemy). */
static void sc_flush_loads(run *r)
{
	const pgorm_rel *kids = pgorm_registry_rel(r->reg, &lparent_model, "kids");
	LParent *p[3];
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "flush", pgorm_session_flush(r->s));
	pgorm_collection *c = NULL;
	ck_assert_int_eq(pgorm_rel_load(r->s, kids, p[0], &c), 0);
	put(r, "p1.kids:%s%s", "", "");
	for (size_t i = 0; i < c->len; i++)
		put(r, " %s%s", name_of(c->items[i]), "");
	put(r, "%s%s", "\n", "");
	describe(r, "after flush");
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_not_in_plain_flush)
{
	both(sc_flush_loads, 0);
}
END_TEST

/* Re-parented in memory, unflushed: k1a moved to p2 (not deleted), k2a moved to p1 (deleted
 * with it), k3a moved to p1 (idem). */
static void sc_reparented(run *r)
{
	const pgorm_rel *up = pgorm_registry_rel(r->reg, &lkid_model, "parent");
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	ck_assert_int_eq(pgorm_rel_set(r->s, up, k[0], p[1]), 0);
	ck_assert_int_eq(pgorm_rel_set(r->s, up, k[3], p[0]), 0);
	ck_assert_int_eq(pgorm_rel_set(r->s, up, k[6], p[0]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_reparented_children)
{
	both(sc_reparented, 0); /* children in the session: the load */
}
END_TEST

/* A child's parent set NULL while its many-to-one is not loaded: its foreign key is written
 * (the loaded one unknown then): the load path. Another one moved away through the parent's
 * side (the collection of p2 loaded). */
static void sc_set_null(run *r)
{
	const pgorm_rel *up = pgorm_registry_rel(r->reg, &lkid_model, "parent");
	const pgorm_rel *kids = pgorm_registry_rel(r->reg, &lparent_model, "kids");
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	ck_assert_int_eq(pgorm_rel_set(r->s, up, k[1], NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(r->s, kids, p[1], NULL), 0);
	ck_assert_int_eq(pgorm_rel_append(r->s, kids, p[1], k[2]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_parent_set_null_loads)
{
	both(sc_set_null, 0);
}
END_TEST

/* Unflushed column changes on children of the deleted parent: not sent (a CHECK violation and
 * a UNIQUE clash, were they sent); the children are deleted as with the load. */
static void sc_dirty_columns(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	k[0]->qty = -1;
	k[1]->name = pgorm_strdup(r->s, "k2a");
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_dirty_columns_not_sent)
{
	both(sc_dirty_columns, 0); /* children in the session: the load */
}
END_TEST

/* Children expired by a commit (their loaded foreign key is the one before it). */
static void sc_expired(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	k[4]->qty = 50;
	result(r, "commit", pgorm_session_commit(r->s));
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[2]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_expired_children)
{
	both(sc_expired, 0); /* children in the session: the load */
}
END_TEST

/* Children in the session whose rows another transaction moved after they were loaded (read
 * committed: the flush sees it): k1a from p1 to p2, k2a from p2 to p1. What the load decides
 * comes from the rows; the session's copies are stale, so the leaf path must not decide from
 * them (it deleted k1a by key, a row SQLAlchemy leaves alone): children in the session load. */
static void sc_moved_by_another(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	pgtest_exec(check, "UPDATE lkids SET parent_id = 2 WHERE id = 11");
	pgtest_exec(check, "UPDATE lkids SET parent_id = 1 WHERE id = 21");
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_issue_leaf_children_moved_by_another_transaction)
{
	both(sc_moved_by_another, 0);
}
END_TEST

/* The session holds only children re-linked in memory: k1a (of p1) moved to p2, k2a (of p2)
 * moved to p1. The leaf path, with both left out of the DELETE by foreign key (k1a's UPDATE
 * keeps it, k2a goes by key as the queued child of p1). */
static void sc_relinked_only(run *r)
{
	const pgorm_rel *up = pgorm_registry_rel(r->reg, &lkid_model, "parent");
	LParent *p[3];
	parents(r, p);
	void *a = NULL, *b = NULL;
	pgorm_value k11 = PGORM_INT8(11), k21 = PGORM_INT8(21);
	ck_assert_int_eq(pgorm_session_get(r->s, &lkid_model, &k11, &a), 0);
	ck_assert_int_eq(pgorm_session_get(r->s, &lkid_model, &k21, &b), 0);
	hold(r, a);
	hold(r, b);
	ck_assert_int_eq(pgorm_rel_set(r->s, up, a, p[1]), 0);
	ck_assert_int_eq(pgorm_rel_set(r->s, up, b, p[0]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_relinked_children_left_out)
{
	both(sc_relinked_only, 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "\"parent_id\" = ANY($1::int8[]) AND \"id\" <> ALL($2::int8[])"), 1);
}
END_TEST

/* A child deleted by key and by the cascade; one deleted by key whose parent stays. */
static void sc_deleted_twice(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, k[0]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, k[4]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_deleted_by_key_and_cascade)
{
	both(sc_deleted_twice, 0); /* children in the session: the load */
}
END_TEST

/* A foreign key column written directly (its loaded value then unknown): the load path. */
static void sc_fk_written(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	k[3]->parent_id = p[0]->id; /* k2a: to p1, which is deleted: 23503 (p1 still referenced) */
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
	result(r, "rollback", pgorm_session_rollback(r->s));
	describe(r, "after rollback");
}

START_TEST(test_leaf_fk_written_loads)
{
	both(sc_fk_written, 0);
}
END_TEST

/* A new child whose foreign key is written with no parent linked (its INSERT may name a
 * deleted parent): the load path. */
static void sc_new_child_fk(run *r)
{
	LParent *p[3];
	parents(r, p);
	LKid *n = hold(r, pgorm_object_new(r->s, &lkid_model));
	n->name = pgorm_strdup(r->s, "new");
	n->parent_id = p[0]->id;
	ck_assert_int_eq(pgorm_session_add(r->s, n), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
	result(r, "rollback", pgorm_session_rollback(r->s));
	describe(r, "after rollback");
}

START_TEST(test_leaf_new_child_fk_loads)
{
	both(sc_new_child_fk, 0);
}
END_TEST

/* A new child linked to a deleted parent (not inserted), one linked to a parent that stays. */
static void sc_new_children_linked(run *r)
{
	const pgorm_rel *kids = pgorm_registry_rel(r->reg, &lparent_model, "kids");
	LParent *p[3];
	parents(r, p);
	LKid *n1 = hold(r, pgorm_object_new(r->s, &lkid_model)), *n2 = hold(r, pgorm_object_new(r->s, &lkid_model));
	n1->name = pgorm_strdup(r->s, "n1");
	n2->name = pgorm_strdup(r->s, "n2");
	ck_assert_int_eq(pgorm_rel_append(r->s, kids, p[0], n1), 0);
	ck_assert_int_eq(pgorm_rel_append(r->s, kids, p[1], n2), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_new_children_linked)
{
	both(sc_new_children_linked, 0);
}
END_TEST

/* A new child with no parent and no foreign key, one with a parent that stays: the leaf path
 * (their INSERTs cannot name a deleted parent). */
static void sc_new_children_elsewhere(run *r)
{
	const pgorm_rel *up = pgorm_registry_rel(r->reg, &lkid_model, "parent");
	LParent *p[3];
	parents(r, p);
	LKid *n1 = hold(r, pgorm_object_new(r->s, &lkid_model)), *n2 = hold(r, pgorm_object_new(r->s, &lkid_model));
	n1->name = pgorm_strdup(r->s, "n1");
	n2->name = pgorm_strdup(r->s, "n2");
	ck_assert_int_eq(pgorm_session_add(r->s, n1), 0);
	ck_assert_int_eq(pgorm_rel_set(r->s, up, n2, p[1]), 0);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_new_children_elsewhere)
{
	both(sc_new_children_elsewhere, 1);
}
END_TEST

/* A child row not in the session referenced from a table outside the registry: 23503 on both
 * paths, everything rolled back; the load path names the child it loaded, the leaf path no
 * object (the one difference in errors, session.h). */
static void sc_child_referenced(run *r)
{
	pgtest_exec(conn, "INSERT INTO lext_kid VALUES (12)");
	LParent *p[3];
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	int rc = pgorm_session_commit(r->s);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	ck_assert_str_eq(pgorm_session_error(r->s)->sqlstate, "23503");
	put(r, "commit=%s%s\n", pgorm_err_name(rc), "");
	describe(r, "after commit");
	result(r, "rollback", pgorm_session_rollback(r->s));
	describe(r, "after rollback");
}

START_TEST(test_leaf_child_referenced_outside)
{
	both(sc_child_referenced, 1);
}
END_TEST

/* The parents' DELETE refused mid-pipeline (a row outside the registry refers to p1), after
 * the children's by foreign key: the commit fails and rolls back; states before and after
 * the rollback. */
static void sc_parent_refused(run *r)
{
	pgtest_exec(conn, "INSERT INTO lext_parent VALUES (1)");
	LParent *p[3];
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
	result(r, "rollback", pgorm_session_rollback(r->s));
	describe(r, "after rollback");
}

START_TEST(test_leaf_parent_delete_refused)
{
	both(sc_parent_refused, 1);
}
END_TEST

/* A statement refused before the children's DELETE (an UPDATE of another child, CHECK): the
 * flush fails, nothing deleted, the same states. */
static void sc_update_refused(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	k[4]->qty = -5;
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
	result(r, "rollback", pgorm_session_rollback(r->s));
	describe(r, "after rollback");
}

START_TEST(test_leaf_update_refused)
{
	both(sc_update_refused, 0); /* children in the session: the load */
}
END_TEST

/* A successful flush (which loads) rolled back, then a commit (the load again: the children
 * it loaded stay in the session). */
static void sc_flush_rollback(run *r)
{
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 8), 8);
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "flush", pgorm_session_flush(r->s));
	describe(r, "after flush");
	result(r, "rollback", pgorm_session_rollback(r->s));
	describe(r, "after rollback");
	ck_assert_int_eq(pgorm_session_delete(r->s, p[1]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_flush_rolled_back)
{
	both(sc_flush_rollback, 0); /* children in the session: the load */
}
END_TEST

/* More than 1000 children of the model stay in the session (each would be left out of the
 * DELETE by key): the load path. */
static void sc_many_in_session(run *r)
{
	pgtest_exec(conn, "INSERT INTO lkids (id, parent_id, name) SELECT 100 + g, 3, 'x' || g FROM generate_series(1, 1000) g");
	LParent *p[3];
	LKid *k[3];
	ck_assert_uint_eq(load_all(r, &lkid_model, (void **)k, 3), 3); /* k1a k1b k1c held, all loaded */
	parents(r, p);
	ck_assert_int_eq(pgorm_session_delete(r->s, p[0]), 0);
	result(r, "commit", pgorm_session_commit(r->s));
	describe(r, "after commit");
}

START_TEST(test_leaf_many_in_session_loads)
{
	both(sc_many_in_session, 0);
}
END_TEST

/* The dry-run plan names the DELETE by foreign key when no child is in the session (the load
 * otherwise), and changes no state nor link. */
START_TEST(test_leaf_plan)
{
	reset();
	pgorm_session_config c = PGORM_SESSION_CONFIG_INIT;
	c.stmt_hook = pgtest_log_hook;
	c.stmt_hook_ctx = &log_;
	pgorm_error err;
	ck_assert_msg(pgorm_session_create(&s, reg_leaf, NULL, conn, &c, &err) == 0, "session: %s", err.message);
	run r = { .reg = reg_leaf, .s = s };
	LParent *p[3];
	LKid *k[8];
	ck_assert_uint_eq(load_all(&r, &lkid_model, (void **)k, 8), 8);
	parents(&r, p);
	ck_assert_int_eq(pgorm_session_delete(s, p[0]), 0);
	const pgorm_rel *up = pgorm_registry_rel(reg_leaf, &lkid_model, "parent");
	pgtest_log_clear(&log_);
	char *plan = NULL;
	ck_assert_int_eq(pgorm_session_plan(s, &plan), 0);
	ck_assert_uint_eq(log_.n, 0);
	/* children in the session: the plan loads them (their rows decide, not the copies) */
	ck_assert_msg(strstr(plan, "load lparents.kids of 1 deleted lparents (unloaded) to delete the children"), "%s", plan);
	ck_assert_msg(strstr(plan, "\"lkids\" WHERE \"parent_id\" = ANY") == NULL, "%s", plan);
	pgorm_free(plan);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(pgorm_object_state(k[i]), PGORM_STATE_PERSISTENT);
		ck_assert(!pgorm_rel_is_loaded(up, k[i]));
	}
	/* no child in the session: the DELETE by foreign key, nothing left out */
	pgorm_session_destroy(s);
	ck_assert_int_eq(pgorm_session_create(&s, reg_leaf, NULL, conn, &c, &err), 0);
	r.s = s;
	r.nheld = 0;
	parents(&r, p);
	ck_assert_int_eq(pgorm_session_delete(s, p[2]), 0);
	ck_assert_int_eq(pgorm_session_plan(s, &plan), 0);
	ck_assert_msg(strstr(plan, "\"lkids\" WHERE \"parent_id\" = ANY($1::int8[])\n"), "%s", plan);
	pgorm_free(plan);
}
END_TEST

/* Round trips of the leaf path: the parents' query (1), then one pipeline with the COMMIT. */
START_TEST(test_leaf_round_trips)
{
	reset();
	pgorm_error err;
	ck_assert_int_eq(pgorm_session_create(&s, reg_leaf, NULL, conn, NULL, &err), 0);
	run r = { .reg = reg_leaf, .s = s };
	LParent *p[3];
	pgorm_stats st0, st1;
	pgorm_session_stats(s, &st0);
	parents(&r, p);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pgorm_session_delete(s, p[i]), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgorm_session_stats(s, &st1);
	ck_assert_uint_eq(st1.round_trips - st0.round_trips, 2);
	ck_assert_int_eq(pgtest_int(check, "SELECT count(*) FROM lkids"), 0);
	ck_assert_int_eq(pgtest_int(check, "SELECT count(*) FROM lparents"), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("leaf_delete");
	TCase *tc = pgtest_tcase(su, "leaf_delete", 60, setup, teardown);
	tcase_add_test(tc, test_leaf_basic);
	tcase_add_test(tc, test_leaf_in_session_children);
	tcase_add_test(tc, test_leaf_not_in_plain_flush);
	tcase_add_test(tc, test_leaf_reparented_children);
	tcase_add_test(tc, test_leaf_parent_set_null_loads);
	tcase_add_test(tc, test_leaf_dirty_columns_not_sent);
	tcase_add_test(tc, test_leaf_expired_children);
	tcase_add_test(tc, test_issue_leaf_children_moved_by_another_transaction);
	tcase_add_test(tc, test_leaf_relinked_children_left_out);
	tcase_add_test(tc, test_leaf_deleted_by_key_and_cascade);
	tcase_add_test(tc, test_leaf_fk_written_loads);
	tcase_add_test(tc, test_leaf_new_child_fk_loads);
	tcase_add_test(tc, test_leaf_new_children_linked);
	tcase_add_test(tc, test_leaf_new_children_elsewhere);
	tcase_add_test(tc, test_leaf_child_referenced_outside);
	tcase_add_test(tc, test_leaf_parent_delete_refused);
	tcase_add_test(tc, test_leaf_update_refused);
	tcase_add_test(tc, test_leaf_flush_rolled_back);
	tcase_add_test(tc, test_leaf_many_in_session_loads);
	tcase_add_test(tc, test_leaf_plan);
	tcase_add_test(tc, test_leaf_round_trips);
	return pgtest_run(su);
}
