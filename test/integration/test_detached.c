/* Integration tests (issue 14): detached objects that outlive their session (close, graphs,
 * add / merge into a later session, DetachedInstanceError, rollback after adopting, bad input),
 * relationship changes made while detached and flushed by the session that adopts them (checked
 * against SQLAlchemy 2.0's behaviour, noted at each test), and joined loading below the first
 * level (nested LEFT OUTER JOINs, one SELECT). SQLAlchemy's side of the detached cases is kept
 * as scripts with their recorded output in test/differential/detached (meson test detached_sa
 * runs them again and compares). */
#include "pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Cat {
	pgorm_object hdr;
	int64_t id;
	char *name;
} Cat;

typedef struct DParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} DParent;

typedef struct DChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	int64_t cat_id;
	char *name;
	DParent *parent;
	Cat *cat;
	pgorm_collection grand;
} DChild;

typedef struct DGrand {
	pgorm_object hdr;
	int64_t id;
	int64_t child_id;
	char *name;
	DChild *child;
} DGrand;

extern const pgorm_model cat_model, dparent_model, dchild_model, dgrand_model;
static const pgorm_column cat_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Cat, id),
	PGORM_COLUMN(TEXT, "name", 0, Cat, name),
	PGORM_COLUMN_END
};
static const pgorm_column dparent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DParent, id),
	PGORM_COLUMN(TEXT, "name", 0, DParent, name),
	PGORM_COLUMN_END
};
static const pgorm_column dchild_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DChild, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, DChild, parent_id, "dparents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_FK(INT8, "cat_id", PGORM_NULLABLE, DChild, cat_id, "dcats", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, DChild, name),
	PGORM_COLUMN_END
};
static const pgorm_column dgrand_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DGrand, id),
	PGORM_COLUMN_FK(INT8, "child_id", PGORM_NULLABLE, DGrand, child_id, "dchildren", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, DGrand, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship dparent_rels[] = {
	PGORM_ONE_TO_MANY("children", DParent, children, &dchild_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship dchild_rels[] = {
	PGORM_MANY_TO_ONE("parent", DChild, parent, &dparent_model, "parent_id", "children"),
	PGORM_MANY_TO_ONE("cat", DChild, cat, &cat_model, "cat_id", NULL),
	PGORM_ONE_TO_MANY("grand", DChild, grand, &dgrand_model, "child_id", "child", 0),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship dgrand_rels[] = {
	PGORM_MANY_TO_ONE("child", DGrand, child, &dchild_model, "child_id", "grand"),
	PGORM_RELATIONSHIP_END
};
/* A self-referential tree, joined two levels deep. */
typedef struct DNode {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	struct DNode *parent;
	pgorm_collection children;
} DNode;
extern const pgorm_model dnode_model;
static const pgorm_column dnode_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DNode, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, DNode, parent_id, "dnodes", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, DNode, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship dnode_rels[] = {
	PGORM_MANY_TO_ONE("parent", DNode, parent, &dnode_model, "parent_id", "children"),
	PGORM_ONE_TO_MANY("children", DNode, children, &dnode_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model dnode_model = PGORM_MODEL("dnodes", DNode, dnode_cols, dnode_rels);

/* delete-orphan: a kid removed from its parent is deleted */
typedef struct OParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection kids;
} OParent;
typedef struct OKid {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	OParent *parent;
} OKid;
extern const pgorm_model oparent_model, okid_model;
static const pgorm_column oparent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, OParent, id),
	PGORM_COLUMN(TEXT, "name", 0, OParent, name),
	PGORM_COLUMN_END
};
static const pgorm_column okid_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, OKid, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, OKid, parent_id, "doparents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, OKid, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship oparent_rels[] = {
	PGORM_ONE_TO_MANY("kids", OParent, kids, &okid_model, "parent_id", "parent",
	                  PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship okid_rels[] = {
	PGORM_MANY_TO_ONE("parent", OKid, parent, &oparent_model, "parent_id", "kids"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model oparent_model = PGORM_MODEL("doparents", OParent, oparent_cols, oparent_rels);
const pgorm_model okid_model = PGORM_MODEL("dokids", OKid, okid_cols, okid_rels);

/* many-to-many through dpost_tags */
typedef struct DPost {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection tags;
} DPost;
typedef struct DTag {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection posts;
} DTag;
extern const pgorm_model dpost_model, dtag_model;
static const pgorm_column dpost_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DPost, id),
	PGORM_COLUMN(TEXT, "name", 0, DPost, name),
	PGORM_COLUMN_END
};
static const pgorm_column dtag_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DTag, id),
	PGORM_COLUMN(TEXT, "name", 0, DTag, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship dpost_rels[] = {
	{ PGORM_M2M("tags", DPost, tags, &dtag_model, "dpost_tags", "post_id", "tag_id", "posts") },
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship dtag_rels[] = {
	{ PGORM_M2M("posts", DTag, posts, &dpost_model, "dpost_tags", "tag_id", "post_id", "tags") },
	PGORM_RELATIONSHIP_END
};
const pgorm_model dpost_model = PGORM_MODEL("dposts", DPost, dpost_cols, dpost_rels);

/* one-to-one: a person's passport (uselist=False), default cascade */
typedef struct DPassport DPassport;
typedef struct DPerson {
	pgorm_object hdr;
	int64_t id;
	char *name;
	DPassport *passport;
} DPerson;
struct DPassport {
	pgorm_object hdr;
	int64_t id;
	int64_t person_id;
	char *num;
	DPerson *person;
};
extern const pgorm_model dperson_model, dpassport_model;
static const pgorm_column dperson_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DPerson, id),
	PGORM_COLUMN(TEXT, "name", 0, DPerson, name),
	PGORM_COLUMN_END
};
static const pgorm_column dpassport_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, DPassport, id),
	PGORM_COLUMN_FK(INT8, "person_id", PGORM_NULLABLE, DPassport, person_id, "dpersons", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "num", 0, DPassport, num),
	PGORM_COLUMN_END
};
static const pgorm_relationship dperson_rels[] = {
	{ PGORM_O2O("passport", DPerson, passport, &dpassport_model, "person_id", "person") },
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship dpassport_rels[] = {
	PGORM_MANY_TO_ONE("person", DPassport, person, &dperson_model, "person_id", "passport"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model dperson_model = PGORM_MODEL("dpersons", DPerson, dperson_cols, dperson_rels);
const pgorm_model dpassport_model = PGORM_MODEL("dpassports", DPassport, dpassport_cols, dpassport_rels);
const pgorm_model dtag_model = PGORM_MODEL("dtags", DTag, dtag_cols, dtag_rels);

const pgorm_model cat_model = PGORM_MODEL("dcats", Cat, cat_cols, NULL);
const pgorm_model dparent_model = PGORM_MODEL("dparents", DParent, dparent_cols, dparent_rels);
const pgorm_model dchild_model = PGORM_MODEL("dchildren", DChild, dchild_cols, dchild_rels);
const pgorm_model dgrand_model = PGORM_MODEL("dgrand", DGrand, dgrand_cols, dgrand_rels);

static pgorm_registry *reg;
static pgorm_conn *conn, *check;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .check = &check, .session = &s, .log = &log_ };

/* The data every test starts from (committed):
 *   p1 "p1": c1 "c1" (cat "red"; grandchildren g1, g2), c2 "c2" (no cat; no grandchildren)
 *   p2 "p2": no children
 *   p3 "p3": c3 "c3" (cat "red"; g3)
 *   o1 "o1" (delete-orphan): k1, k2
 *   post1: tags t1 (t2 exists, on no post)
 *   ann: passport A1 (one-to-one) */
static void setup(void)
{
	const pgorm_model *models[] = { &cat_model,     &dparent_model, &dchild_model, &dgrand_model, &dnode_model,
		                        &oparent_model, &okid_model,    &dpost_model,  &dtag_model,   &dperson_model,
		                        &dpassport_model };
	pgtest_env_setup(&env, models, 11,
	                 "DROP TABLE IF EXISTS dgrand, dchildren, dparents, dcats, dnodes, dokids, doparents, dpost_tags,"
	                 " dposts, dtags, dpassports, dpersons CASCADE",
	                 PGTEST_CREATE_ALL,
	                 "INSERT INTO dpersons (id, name) VALUES (1, 'ann')",
	                 "INSERT INTO dpassports (id, person_id, num) VALUES (1, 1, 'A1')",
	                 "SELECT setval(pg_get_serial_sequence('dpassports', 'id'), 10)",
	                 "INSERT INTO doparents (id, name) VALUES (1, 'o1')",
	                 "INSERT INTO dokids (id, parent_id, name) VALUES (1, 1, 'k1'), (2, 1, 'k2')",
	                 "INSERT INTO dposts (id, name) VALUES (1, 'post1')",
	                 "INSERT INTO dtags (id, name) VALUES (1, 't1'), (2, 't2')",
	                 "INSERT INTO dpost_tags (post_id, tag_id) VALUES (1, 1)",
	                 "SELECT setval(pg_get_serial_sequence('dtags', 'id'), 10)",
	                 /* r1 → a → (a1, a2); r1 → b; r2 (a leaf root) */
	                 "INSERT INTO dnodes (id, parent_id, name) VALUES (1, NULL, 'r1'), (2, 1, 'a'), (3, 1, 'b'),"
	                 " (4, 2, 'a1'), (5, 2, 'a2'), (6, NULL, 'r2')",
	                 "INSERT INTO dcats (id, name) VALUES (1, 'red')",
	                 "INSERT INTO dparents (id, name) VALUES (1, 'p1'), (2, 'p2'), (3, 'p3')",
	                 "INSERT INTO dchildren (id, parent_id, cat_id, name) VALUES (1, 1, 1, 'c1'), (2, 1, NULL, 'c2'),"
	                 " (3, 3, 1, 'c3')",
	                 "INSERT INTO dgrand (id, child_id, name) VALUES (1, 1, 'g1'), (2, 1, 'g2'), (3, 3, 'g3')",
	                 "SELECT setval(pg_get_serial_sequence('dparents', 'id'), 10)",
	                 "SELECT setval(pg_get_serial_sequence('dchildren', 'id'), 10)", NULL);
	s = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

static int64_t q(const char *sql) { return pgtest_int(check, sql); }

static const pgorm_rel *rel(const pgorm_model *m, const char *name)
{
	const pgorm_rel *r = pgorm_registry_rel(reg, m, name);
	ck_assert_ptr_nonnull(r);
	return r;
}

static void ok(pgorm_session *on, int rc, const char *what)
{
	ck_assert_msg(rc == 0, "%s: %d %s", what, rc, pgorm_session_error(on)->message);
}

static void expect(pgorm_session *on, int rc, int code, const char *frag)
{
	ck_assert_int_eq(rc, code);
	if (frag != NULL)
		ck_assert_msg(strstr(pgorm_session_error(on)->message, frag) != NULL, "\"%s\" not in \"%s\"", frag,
		              pgorm_session_error(on)->message);
}

/* A second session on the same connection, its statements in log_. */
static pgorm_session *session2(void)
{
	pgorm_session *s2 = NULL;
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.stmt_hook = pgtest_log_hook;
	cfg.stmt_hook_ctx = &log_;
	ck_assert_int_eq(pgorm_session_create(&s2, reg, NULL, conn, &cfg, NULL), 0);
	return s2;
}

/* p1 with its children loaded (selectin), in an open transaction of on. */
static DParent *load_p1(pgorm_session *on)
{
	pgorm_query *qq = NULL;
	ck_assert_int_eq(pgorm_query_create(&qq, on, &dparent_model), 0);
	ck_assert_int_eq(pgorm_query_filter(qq, "id", "=", PGORM_INT8(1)), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "children", PGORM_LOAD_SELECTIN), 0);
	void *p = NULL;
	ok(on, pgorm_query_one(qq, &p), "query p1");
	pgorm_query_destroy(qq);
	return p; /* not committed: a commit would expire it (expire_on_commit) */
}

START_TEST(test_close_detaches_and_add_flushes_edits)
{
	const pgorm_rel *children = rel(&dparent_model, "children"), *grand = rel(&dchild_model, "grand");
	DParent *p = load_p1(s);
	ck_assert_uint_eq(p->children.len, 2);
	DChild *c1 = ((DChild *)p->children.items[0])->id == 1 ? p->children.items[0] : p->children.items[1];
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_eq(pgorm_object_graph(p), g);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(c1), PGORM_STATE_DETACHED);
	ck_assert(!pgorm_session_contains(s, p));
	/* readable: values, loaded relationships (no SQL) */
	ck_assert_str_eq(p->name, "p1");
	ck_assert_str_eq(c1->name, "c1");
	ck_assert_ptr_eq(c1->parent, p);
	pgtest_log_clear(&log_);
	pgorm_collection *coll = NULL;
	ok(s, pgorm_rel_load(s, children, p, &coll), "loaded relationship of a detached object");
	ck_assert_ptr_eq(coll, &p->children);
	/* an unloaded one: DetachedInstanceError, not a crash nor a NULL-argument message */
	expect(s, pgorm_rel_load(s, grand, c1, NULL), PGORM_ESTATE, "detached");
	expect(s, pgorm_rel_load(s, grand, c1, NULL), PGORM_ESTATE, "dchildren.grand is not loaded");
	ck_assert_uint_eq(log_.n, 0);
	/* other calls that need the object in the session say so */
	expect(s, pgorm_session_delete(s, p), PGORM_ESTATE, "detached");
	expect(s, pgorm_session_refresh(s, p), PGORM_ESTATE, "detached");
	/* edits while detached */
	p->name = pgorm_object_strdup(p, "p1-edited");
	c1->name = "c1-edited";
	ck_assert(pgorm_object_is_modified(p));
	ck_assert_int_eq(pgorm_object_set_null(c1, "cat_id", true), 0);
	/* a later session adopts the graph: the edits are flushed as UPDATEs */
	pgorm_session *s2 = session2();
	pgtest_log_clear(&log_);
	ok(s2, pgorm_session_add(s2, p), "add detached");
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(c1), PGORM_STATE_PERSISTENT); /* save-update cascade */
	ck_assert(pgorm_session_contains(s2, c1));
	pgorm_graph_release(g); /* s2 holds the memory now */
	ok(s2, pgorm_session_commit(s2), "commit s2");
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE"), 0);
	ck_assert_uint_ge(pgtest_log_count(&log_, "UPDATE \"dparents\""), 1);
	ck_assert_uint_ge(pgtest_log_count(&log_, "UPDATE \"dchildren\""), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dparents WHERE id = 1 AND name = 'p1-edited'"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 1 AND name = 'c1-edited' AND cat_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 2 AND name = 'c2'"), 1); /* untouched */
	/* adopted objects work as any: a lazy load now goes through s2 */
	ok(s2, pgorm_rel_load(s2, grand, c1, NULL), "lazy load after adoption");
	ck_assert_uint_eq(c1->grand.len, 2);
	pgorm_session_destroy(s2);
}
END_TEST

/* A handle keeps objects alive after their session is destroyed. */
START_TEST(test_graph_outlives_destroy)
{
	pgorm_session *s1 = session2();
	DParent *p = load_p1(s1);
	DChild *c = p->children.items[0];
	pgorm_graph *g = pgorm_graph_retain(pgorm_object_graph(p));
	ck_assert_ptr_nonnull(g);
	pgorm_session_destroy(s1);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	ck_assert_str_eq(p->name, "p1");
	ck_assert_ptr_eq(c->parent, p);
	ck_assert_uint_eq(p->children.len, 2);
	ck_assert(!pgorm_object_is_modified(p));
	p->name = "renamed";
	ck_assert(pgorm_object_is_modified(p));
	ck_assert(!pgorm_object_is_null(p, "name"));
	/* pgorm_graph_retain / release pair up; NULL is accepted */
	pgorm_graph_release(pgorm_graph_retain(g));
	pgorm_graph_release(NULL);
	ck_assert_ptr_null(pgorm_graph_retain(NULL));
	/* the detached graph of the destroyed session is adopted by another */
	pgorm_session *s3 = session2();
	ok(s3, pgorm_session_add(s3, p), "add");
	pgorm_graph_release(g);
	ok(s3, pgorm_session_commit(s3), "commit");
	ck_assert_int_eq(q("SELECT count(*) FROM dparents WHERE name = 'renamed'"), 1);
	pgorm_session_destroy(s3);
}
END_TEST

/* Memory handed along three sessions: each adoption joins the graphs, each holder (session or
 * handle) lets go in its own order, the last one frees (valgrind checks there is no leak). */
START_TEST(test_graph_chain)
{
	DParent *p = load_p1(s);
	pgorm_graph *g1 = NULL, *g2 = NULL;
	ok(s, pgorm_session_close(s, &g1), "close s");
	pgorm_session *s2 = session2();
	ok(s2, pgorm_session_add(s2, p), "s2 adopts p");
	pgorm_graph_release(g1); /* s2 holds it */
	void *p3 = NULL;
	pgorm_value k3 = PGORM_INT8(3);
	ok(s2, pgorm_session_get(s2, &dparent_model, &k3, &p3), "get p3");
	ok(s2, pgorm_session_close(s2, &g2), "close s2");
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(p3), PGORM_STATE_DETACHED);
	pgorm_session *s3 = session2();
	ok(s3, pgorm_session_add(s3, p), "s3 adopts p (allocated by s, last held through g2)");
	pgorm_graph_release(g2);
	ck_assert_str_eq(((DParent *)p3)->name, "p3"); /* same memory as p: s3 keeps it */
	((DChild *)p->children.items[0])->name = "chain";
	ok(s3, pgorm_session_commit(s3), "commit s3");
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE name = 'chain'"), 1);
	pgorm_session_destroy(s3);
	pgorm_session_destroy(s2);
}
END_TEST

START_TEST(test_bad_input)
{
	const pgorm_rel *children = rel(&dparent_model, "children");
	DParent *p = load_p1(s);
	/* still attached to s: another session refuses it with a clear error */
	pgorm_session *s2 = session2();
	expect(s2, pgorm_session_add(s2, p), PGORM_EINVAL, "attached to another session");
	expect(s2, pgorm_rel_load(s2, children, p, NULL), PGORM_EINVAL, "another session");
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert(pgorm_session_contains(s, p));
	/* a transient object of a session still open */
	DParent *t = pgorm_object_new(s, &dparent_model);
	expect(s2, pgorm_session_add(s2, t), PGORM_EINVAL, "another session");
	/* s2 already holds another object for p1's row: add refuses, merge copies */
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	void *other = NULL;
	pgorm_value k1 = PGORM_INT8(1);
	ok(s2, pgorm_session_get(s2, &dparent_model, &k1, &other), "get");
	expect(s2, pgorm_session_add(s2, p), PGORM_ESTATE, "same primary key");
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	p->name = "via-merge";
	void *m = NULL;
	ok(s2, pgorm_session_merge(s2, p, &m), "merge");
	ck_assert_ptr_eq(m, other);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED); /* the source is left alone */
	ok(s2, pgorm_session_commit(s2), "commit merge");
	ck_assert_int_eq(q("SELECT count(*) FROM dparents WHERE name = 'via-merge'"), 1);
	pgorm_session_destroy(s2);
	/* the graph (not joined to s2: merge copies) still holds p */
	ck_assert_str_eq(p->name, "via-merge");
	ck_assert_uint_eq(p->children.len, 2);
	pgorm_graph_release(g);
	/* close accepts NULL out, and a NULL session is refused */
	ck_assert_int_eq(pgorm_session_close(NULL, &g), PGORM_EINVAL);
	ck_assert_ptr_null(g);
	ok(s, pgorm_session_close(s, NULL), "close without handle");
}
END_TEST

/* Rollback after adopting: the adopted object stays in the session, expired, its unflushed
 * edits discarded (SQLAlchemy: persistent and expired); an adopted new object is transient. */
START_TEST(test_rollback_after_adopt)
{
	const pgorm_rel *children = rel(&dparent_model, "children");
	DParent *p = load_p1(s);
	DParent *fresh = pgorm_object_new(s, &dparent_model);
	fresh->name = "fresh";
	DChild *kid = pgorm_object_new(s, &dchild_model);
	kid->name = "kid";
	ok(s, pgorm_rel_append(s, children, fresh, kid), "append");
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	ck_assert_int_eq(pgorm_object_state(fresh), PGORM_STATE_TRANSIENT);
	p->name = "edited";
	pgorm_session *s2 = session2();
	ok(s2, pgorm_session_add(s2, p), "add p");
	ok(s2, pgorm_session_add(s2, fresh), "add fresh");
	ck_assert_int_eq(pgorm_object_state(kid), PGORM_STATE_PENDING);
	pgorm_graph_release(g);
	ok(s2, pgorm_session_flush(s2), "flush");
	ck_assert_int_eq(pgorm_session_rollback(s2), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
	ck_assert(pgorm_session_contains(s2, p));
	ck_assert_int_eq(pgorm_object_state(fresh), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(kid), PGORM_STATE_TRANSIENT);
	pgtest_log_clear(&log_);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM dparents WHERE name = 'p1'"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dparents"), 3);
	/* expired: the next get reads the row again */
	void *got = NULL;
	pgorm_value k1 = PGORM_INT8(1);
	ok(s2, pgorm_session_get(s2, &dparent_model, &k1, &got), "get");
	ck_assert_ptr_eq(got, p);
	ck_assert_str_eq(p->name, "p1");
	/* the transient pair can still be added: one INSERT each */
	ok(s2, pgorm_session_add(s2, fresh), "add again");
	ok(s2, pgorm_session_commit(s2), "commit insert");
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren c JOIN dparents p ON p.id = c.parent_id"
	                   " WHERE p.name = 'fresh' AND c.name = 'kid'"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* Close in the middle of a transaction: the rollback undoes the flushed INSERT (the object is
 * transient again, its key reset) and the flushed DELETE (the object is back, detached). */
START_TEST(test_close_with_open_transaction)
{
	DParent *p = load_p1(s);
	void *p2 = NULL;
	pgorm_value k2 = PGORM_INT8(2);
	ok(s, pgorm_session_get(s, &dparent_model, &k2, &p2), "get p2");
	DParent *n = pgorm_object_new(s, &dparent_model);
	n->name = "new";
	ok(s, pgorm_session_add(s, n), "add");
	ok(s, pgorm_session_delete(s, p2), "delete");
	p->name = "flushed";
	ok(s, pgorm_session_flush(s), "flush");
	ck_assert_int_gt(n->id, 0);
	p->name = "after-flush";
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close"); /* with NULL the objects would be freed here */
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(n), PGORM_STATE_TRANSIENT);
	ck_assert(pgorm_object_is_null(n, "id"));
	ck_assert_int_eq(pgorm_object_state(p2), PGORM_STATE_DETACHED);
	ck_assert(!pgorm_object_was_deleted(p2));
	ck_assert_int_eq(q("SELECT count(*) FROM dparents"), 3);
	/* the session is usable again */
	void *again = NULL;
	ok(s, pgorm_session_get(s, &dparent_model, &k2, &again), "get after close");
	ck_assert_str_eq(((DParent *)again)->name, "p2");
	ck_assert_ptr_ne(again, p2);
	pgorm_graph_release(g);
}
END_TEST

/* An object expunged from a session that is still open (and still lists it) is adopted by
 * another: only the adopting session flushes it. Its children, still in s (expunge does not
 * cascade by default), stop the add while its loaded collection reaches them (SQLAlchemy:
 * "already attached to session"); with the collection unloaded (expired) nothing does. */
START_TEST(test_issue_14_expunged_then_adopted_elsewhere)
{
	DParent *p = load_p1(s);
	ok(s, pgorm_session_expunge(s, p), "expunge");
	pgorm_session *s2 = session2();
	expect(s2, pgorm_session_add(s2, p), PGORM_EINVAL, "attached to another session");
	ck_assert(!pgorm_session_contains(s2, p));
	const char *children_name[] = { "children" };
	ok(s, pgorm_session_add(s, p), "back into s");
	ok(s, pgorm_session_expire_attrs(s, p, children_name, 1), "expire p.children");
	ok(s, pgorm_session_expunge(s, p), "expunge again");
	ok(s2, pgorm_session_add(s2, p), "add to s2");
	ck_assert(pgorm_session_contains(s2, p));
	ck_assert(!pgorm_session_contains(s, p));
	p->name = "s2-only";
	pgtest_log_clear(&log_);
	ok(s, pgorm_session_commit(s), "commit s");
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	ok(s2, pgorm_session_commit(s2), "commit s2");
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"dparents\""), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dparents WHERE name = 's2-only'"), 1);
	/* s's memory is joined to s2's: closing s leaves p alive in s2 */
	ok(s, pgorm_session_close(s, NULL), "close s");
	ck_assert_str_eq(p->name, "s2-only");
	pgorm_session_destroy(s2);
}
END_TEST

/* Out of memory in close and add: each fails with PGORM_ENOMEM, close changes nothing, and
 * nothing leaks (valgrind / ASan). The allocator fails the Nth allocation, N = 1, 2, … */
static long countdown = -1;
static bool fail_now(void) { return countdown > 0 && --countdown == 0; }
static void *m_(size_t n) { return fail_now() ? NULL : malloc(n); }
static void *c_(size_t n, size_t sz) { return fail_now() ? NULL : calloc(n, sz); }
static void *r_(void *ptr, size_t n) { return fail_now() ? NULL : realloc(ptr, n); }

START_TEST(test_close_and_add_out_of_memory)
{
	static const pgorm_allocator failing = { m_, c_, r_, free };
	bool done = false;
	int close_failed = 0, add_failed = 0;
	for (long n = 1; n < 200 && !done; n++) {
		pgorm_session *s1 = session2(), *s2 = session2();
		DParent *p = load_p1(s1);
		pgorm_graph *g = NULL;
		countdown = n;
		pgorm_allocator prev = pgorm_set_allocator(&failing);
		int rc = pgorm_session_close(s1, &g);
		int rc2 = rc == 0 ? pgorm_session_add(s2, p) : -1;
		pgorm_set_allocator(&prev);
		countdown = -1;
		if (rc != 0) {
			ck_assert_int_eq(rc, PGORM_ENOMEM);
			close_failed++;
			ck_assert_ptr_null(g);
			ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT); /* unchanged */
			ck_assert(pgorm_session_contains(s1, p));
		} else if (rc2 != 0) {
			ck_assert_int_eq(rc2, PGORM_ENOMEM);
			add_failed++;
		} else {
			done = true;
			ck_assert(pgorm_session_contains(s2, p));
		}
		pgorm_graph_release(g);
		pgorm_session_destroy(s2);
		pgorm_session_destroy(s1);
	}
	ck_assert(done);
	ck_assert_int_ge(close_failed, 1);
	ck_assert_int_ge(add_failed, 1);
}
END_TEST

/* ---- joined loading below the first level ---- */

static void run_joined(pgorm_session *on, int64_t limit, int64_t offset, pgorm_list *out)
{
	pgorm_query *qq = NULL;
	ck_assert_int_eq(pgorm_query_create(&qq, on, &dparent_model), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "children", PGORM_LOAD_JOINED), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "children.grand", PGORM_LOAD_JOINED), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "children.cat", PGORM_LOAD_JOINED), 0);
	ck_assert_int_eq(pgorm_query_order_by(qq, "id", false), 0);
	if (limit >= 0)
		ck_assert_int_eq(pgorm_query_limit(qq, limit), 0);
	if (offset >= 0)
		ck_assert_int_eq(pgorm_query_offset(qq, offset), 0);
	ok(on, pgorm_query_all(qq, out), "joined query");
	pgorm_query_destroy(qq);
}

static DChild *child_by_id(DParent *p, int64_t id)
{
	for (size_t i = 0; i < p->children.len; i++)
		if (((DChild *)p->children.items[i])->id == id)
			return p->children.items[i];
	ck_abort_msg("no child %lld", (long long)id);
	return NULL;
}

START_TEST(test_nested_joined_one_select)
{
	const pgorm_rel *children = rel(&dparent_model, "children"), *grand = rel(&dchild_model, "grand"),
	                *cat = rel(&dchild_model, "cat");
	pgorm_list out;
	pgtest_log_clear(&log_);
	run_joined(s, -1, -1, &out);
	ck_assert_uint_eq(log_.n, 2); /* BEGIN and one SELECT: no selectin follow-up */
	ck_assert_uint_eq(pgtest_log_count(&log_, "BEGIN"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "SELECT"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "LEFT OUTER JOIN"), 1);
	/* each level joined to the one above it */
	ck_assert_uint_eq(pgtest_log_count(&log_, "LEFT OUTER JOIN \"dchildren\" j0 ON j0.\"parent_id\" = t.\"id\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "LEFT OUTER JOIN \"dgrand\" j2 ON j2.\"child_id\" = j0.\"id\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "LEFT OUTER JOIN \"dcats\" j1 ON j1.\"id\" = j0.\"cat_id\""), 1);
	ck_assert_uint_eq(out.len, 3);
	DParent *p1 = out.items[0], *p2 = out.items[1], *p3 = out.items[2];
	ck_assert_int_eq(p1->id, 1);
	ck_assert_int_eq(p2->id, 2);
	ck_assert_int_eq(p3->id, 3);
	/* each level loaded, empty collections included */
	ck_assert(pgorm_rel_is_loaded(children, p2));
	ck_assert_uint_eq(p2->children.len, 0);
	ck_assert_uint_eq(p1->children.len, 2);
	DChild *c1 = child_by_id(p1, 1), *c2 = child_by_id(p1, 2);
	ck_assert(pgorm_rel_is_loaded(grand, c1) && pgorm_rel_is_loaded(grand, c2));
	ck_assert(pgorm_rel_is_loaded(cat, c1) && pgorm_rel_is_loaded(cat, c2));
	ck_assert_uint_eq(c1->grand.len, 2);
	ck_assert_uint_eq(c2->grand.len, 0);
	ck_assert_ptr_eq(((DGrand *)c1->grand.items[0])->child, c1);
	ck_assert_ptr_eq(c1->parent, p1);
	ck_assert_ptr_nonnull(c1->cat);
	ck_assert_str_eq(c1->cat->name, "red");
	ck_assert_ptr_null(c2->cat);
	ck_assert_uint_eq(p3->children.len, 1);
	DChild *c3 = p3->children.items[0];
	ck_assert_ptr_eq(c3->cat, c1->cat); /* identity map: one object per row */
	ck_assert_uint_eq(c3->grand.len, 1);
	/* nothing more to load */
	pgtest_log_clear(&log_);
	ok(s, pgorm_rel_load(s, grand, c1, NULL), "loaded");
	ck_assert_uint_eq(log_.n, 0);
	/* the same query again returns the same objects, no duplicates in collections */
	pgorm_list again;
	run_joined(s, -1, -1, &again);
	ck_assert_ptr_eq(again.items[0], p1);
	ck_assert_uint_eq(p1->children.len, 2);
	ck_assert_uint_eq(c1->grand.len, 2);
}
END_TEST

START_TEST(test_nested_joined_limit_offset)
{
	pgorm_list out;
	pgtest_log_clear(&log_);
	run_joined(s, 2, 0, &out); /* the limit counts parents, not joined rows */
	ck_assert_uint_eq(log_.n, 2); /* BEGIN, SELECT */
	ck_assert_uint_eq(pgtest_log_count(&log_, "SELECT"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "LIMIT"), 1);
	/* the limit applies to parents in a subquery, the joins outside it */
	ck_assert_uint_eq(pgtest_log_count(&log_, "FROM (SELECT * FROM \"dparents\" t WHERE true ORDER BY t.\"id\" LIMIT 2 OFFSET 0) t LEFT OUTER JOIN"), 1);
	ck_assert_uint_eq(out.len, 2);
	DParent *p1 = out.items[0];
	ck_assert_int_eq(p1->id, 1);
	ck_assert_uint_eq(p1->children.len, 2);
	ck_assert_uint_eq(child_by_id(p1, 1)->grand.len, 2);
	ck_assert_int_eq(((DParent *)out.items[1])->id, 2);
	pgorm_list tail;
	run_joined(s, 5, 2, &tail);
	ck_assert_uint_eq(tail.len, 1);
	DParent *p3 = tail.items[0];
	ck_assert_int_eq(p3->id, 3);
	ck_assert_uint_eq(p3->children.len, 1);
	ck_assert_uint_eq(((DChild *)p3->children.items[0])->grand.len, 1);
}
END_TEST

START_TEST(test_nested_joined_self_referential)
{
	pgorm_query *qq = NULL;
	ck_assert_int_eq(pgorm_query_create(&qq, s, &dnode_model), 0);
	ck_assert_int_eq(pgorm_query_filter(qq, "parent_id", "IS NULL", PGORM_INT8(0)), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "children", PGORM_LOAD_JOINED), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "children.children", PGORM_LOAD_JOINED), 0);
	ck_assert_int_eq(pgorm_query_order_by(qq, "id", false), 0);
	pgorm_list out;
	pgtest_log_clear(&log_);
	ok(s, pgorm_query_all(qq, &out), "tree query");
	pgorm_query_destroy(qq);
	ck_assert_uint_eq(pgtest_log_count(&log_, "SELECT"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "LEFT OUTER JOIN \"dnodes\" j1 ON j1.\"parent_id\" = j0.\"id\""), 1);
	ck_assert_uint_eq(out.len, 2);
	DNode *r1 = out.items[0], *r2 = out.items[1];
	ck_assert_str_eq(r1->name, "r1");
	ck_assert_str_eq(r2->name, "r2");
	ck_assert_uint_eq(r2->children.len, 0);
	ck_assert_uint_eq(r1->children.len, 2);
	const pgorm_rel *children = rel(&dnode_model, "children");
	for (size_t i = 0; i < r1->children.len; i++) {
		DNode *k = r1->children.items[i];
		ck_assert_ptr_eq(k->parent, r1);
		ck_assert(pgorm_rel_is_loaded(children, k));
		ck_assert_uint_eq(k->children.len, strcmp(k->name, "a") == 0 ? 2 : 0);
		for (size_t j = 0; j < k->children.len; j++) {
			DNode *g = k->children.items[j];
			ck_assert_ptr_eq(g->parent, k);
			ck_assert(!pgorm_rel_is_loaded(children, g)); /* below the joined levels */
		}
	}
}
END_TEST


/* ---- relationship changes while detached (SQLAlchemy 2.0 allows changing loaded
 * relationships of a detached object; add() then cascades and the flush writes them) ---- */

/* One object by key, with relationship `with` (NULL: none) loaded selectin. */
static void *load_one(pgorm_session *on, const pgorm_model *m, int64_t id, const char *with)
{
	pgorm_query *qq = NULL;
	ck_assert_int_eq(pgorm_query_create(&qq, on, m), 0);
	ck_assert_int_eq(pgorm_query_filter(qq, "id", "=", PGORM_INT8(id)), 0);
	if (with != NULL)
		ck_assert_int_eq(pgorm_query_option(qq, with, PGORM_LOAD_SELECTIN), 0);
	void *o = NULL;
	ok(on, pgorm_query_one(qq, &o), "query one");
	pgorm_query_destroy(qq);
	return o;
}

static bool holds(const pgorm_collection *c, const void *o)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->items[i] == o)
			return true;
	return false;
}

/* SQLAlchemy: p.children.remove(c1); p.children.append(Child()) on a detached p changes both
 * sides in memory, sends nothing; s2.add(p) brings the new child and c1 (the collection's
 * history) into s2; the commit INSERTs the child with p's key and sets c1's FK NULL. */
START_TEST(test_detached_o2m_append_remove)
{
	const pgorm_rel *children = rel(&dparent_model, "children"), *grand = rel(&dchild_model, "grand");
	DParent *p = load_p1(s);
	DChild *c1 = child_by_id(p, 1), *c2 = child_by_id(p, 2);
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2(); /* not the session that loaded them */
	DChild *n = pgorm_object_new(s2, &dchild_model);
	n->name = "new";
	pgtest_log_clear(&log_);
	ok(s2, pgorm_rel_remove(s2, children, p, c1), "remove while detached");
	ok(s2, pgorm_rel_append(s2, children, p, n), "append while detached");
	ck_assert_ptr_null(c1->parent);
	ck_assert_ptr_eq(n->parent, p);
	ck_assert_uint_eq(p->children.len, 2);
	ck_assert(holds(&p->children, c2) && holds(&p->children, n) && !holds(&p->children, c1));
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(c1), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(n), PGORM_STATE_TRANSIENT); /* p is in no session: no cascade */
	ck_assert(pgorm_object_is_modified(p));
	ck_assert(pgorm_object_is_modified(c1));
	ck_assert(!pgorm_object_is_modified(c2));
	ck_assert_uint_eq(log_.n, 0);
	/* an unloaded relationship of a detached object cannot be changed (DetachedInstanceError) */
	DGrand *gr = pgorm_object_new(s2, &dgrand_model);
	expect(s2, pgorm_rel_append(s2, grand, c2, gr), PGORM_ESTATE, "dchildren.grand is not loaded");
	expect(s2, pgorm_rel_remove(s2, grand, c2, gr), PGORM_ESTATE, "detached");
	ck_assert_ptr_null(gr->child);
	ok(s2, pgorm_session_add(s2, p), "add");
	ck_assert(pgorm_session_contains(s2, p));
	ck_assert(pgorm_session_contains(s2, c1)); /* reached through the collection's history */
	ck_assert(pgorm_session_contains(s2, c2));
	ck_assert_int_eq(pgorm_object_state(n), PGORM_STATE_PENDING);
	ck_assert(!pgorm_session_contains(s2, gr));
	pgorm_graph_release(g);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"dparents\""), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 1 AND parent_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE name = 'new' AND parent_id = 1"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 2 AND parent_id = 1"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren"), 4);
	pgorm_session_destroy(s2);
}
END_TEST

/* SQLAlchemy: p.children = [c2, new] on a detached p: c1 takes the remove path (FK NULL), the
 * new child is inserted, c2 causes no statement. */
START_TEST(test_detached_replace)
{
	const pgorm_rel *children = rel(&dparent_model, "children"), *grand = rel(&dchild_model, "grand");
	DParent *p = load_p1(s);
	DChild *c1 = child_by_id(p, 1), *c2 = child_by_id(p, 2);
	pgorm_graph *g = pgorm_graph_retain(pgorm_object_graph(p));
	ok(s, pgorm_session_close(s, NULL), "close");
	pgorm_session *s2 = session2();
	DChild *n = pgorm_object_new(s2, &dchild_model);
	n->name = "n2";
	void *items[] = { c2, n };
	ok(s2, pgorm_rel_replace(s2, children, p, items, 2), "replace while detached");
	ck_assert_uint_eq(p->children.len, 2);
	ck_assert_ptr_eq(p->children.items[0], c2);
	ck_assert_ptr_eq(p->children.items[1], n);
	ck_assert_ptr_null(c1->parent);
	ck_assert_ptr_eq(n->parent, p);
	expect(s2, pgorm_rel_replace(s2, grand, c2, NULL, 0), PGORM_ESTATE, "is not loaded");
	pgtest_log_clear(&log_);
	ok(s2, pgorm_session_add(s2, p), "add");
	pgorm_graph_release(g);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 1); /* c1 only */
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 1 AND parent_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE name = 'n2' AND parent_id = 1"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 2 AND parent_id = 1"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* SQLAlchemy: c1.parent = p2 and c2.parent = None on detached objects whose parent is loaded
 * (pgorm's load of p1.children sets each child's parent, as reading c.parent in the session
 * does in SQLAlchemy); p2's unloaded collection queues the change; s2.add(c1) cascades to p2 (c1.parent), to p1
 * (c1.parent's history) and through p1's collection history to c2; the commit writes both
 * foreign keys. */
START_TEST(test_detached_m2o_set_unset)
{
	const pgorm_rel *parent = rel(&dchild_model, "parent"), *children = rel(&dparent_model, "children");
	DParent *p = load_p1(s);
	DChild *c1 = child_by_id(p, 1), *c2 = child_by_id(p, 2);
	void *p2v = NULL;
	pgorm_value k2 = PGORM_INT8(2);
	ok(s, pgorm_session_get(s, &dparent_model, &k2, &p2v), "get p2");
	DParent *p2 = p2v;
	ck_assert(pgorm_rel_is_loaded(parent, c1));
	ck_assert(!pgorm_rel_is_loaded(children, p2));
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2();
	pgtest_log_clear(&log_);
	ok(s2, pgorm_rel_set(s2, parent, c1, p2), "set while detached");
	ok(s2, pgorm_rel_set(s2, parent, c2, NULL), "unset while detached");
	ck_assert_ptr_eq(c1->parent, p2);
	ck_assert_ptr_null(c2->parent);
	ck_assert_uint_eq(p->children.len, 0);
	ck_assert(!pgorm_rel_is_loaded(children, p2)); /* queued, shown when it loads */
	ck_assert_uint_eq(log_.n, 0);
	ok(s2, pgorm_session_add(s2, c1), "add c1");
	ck_assert(pgorm_session_contains(s2, p2));
	ck_assert(pgorm_session_contains(s2, p));
	ck_assert(pgorm_session_contains(s2, c2));
	pgorm_graph_release(g);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"dparents\""), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 1 AND parent_id = 2"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 2 AND parent_id IS NULL"), 1);
	pgorm_collection *coll = NULL;
	ok(s2, pgorm_rel_load(s2, children, p2, &coll), "load p2's children");
	ck_assert_uint_eq(coll->len, 1);
	ck_assert_ptr_eq(coll->items[0], c1);
	pgorm_session_destroy(s2);
}
END_TEST

/* SQLAlchemy: a many-to-one of a detached object is set without loading its previous value, so
 * an unloaded one can be set (c.parent = p2 after s.get(C, 1)); the commit writes the key. A
 * one-to-one parent side cannot (its previous child would be needed). */
START_TEST(test_detached_m2o_set_unloaded)
{
	const pgorm_rel *parent = rel(&dchild_model, "parent");
	void *c = NULL, *p2 = NULL;
	pgorm_value k1 = PGORM_INT8(1), k2 = PGORM_INT8(2);
	ok(s, pgorm_session_get(s, &dchild_model, &k1, &c), "get c1");
	ok(s, pgorm_session_get(s, &dparent_model, &k2, &p2), "get p2");
	ck_assert(!pgorm_rel_is_loaded(parent, c));
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2();
	ok(s2, pgorm_rel_set(s2, parent, c, p2), "set an unloaded many-to-one while detached");
	ck_assert_ptr_eq(((DChild *)c)->parent, p2);
	ok(s2, pgorm_session_add(s2, c), "add");
	ck_assert(pgorm_session_contains(s2, p2));
	pgorm_graph_release(g);
	pgtest_log_clear(&log_);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 1 AND parent_id = 2"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* SQLAlchemy: person.passport = Passport("B2") on a detached person whose passport is not
 * loaded is accepted too; after add() the flush loads the previous passport and nulls its key
 * (rows (A1, NULL), (B2, ann)). */
START_TEST(test_detached_o2o_set_unloaded)
{
	const pgorm_rel *passport = rel(&dperson_model, "passport");
	DPerson *ann = load_one(s, &dperson_model, 1, NULL);
	ck_assert(!pgorm_rel_is_loaded(passport, ann));
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2();
	DPassport *b2 = pgorm_object_new(s2, &dpassport_model);
	b2->num = "B2";
	ok(s2, pgorm_rel_set(s2, passport, ann, b2), "set an unloaded one-to-one while detached");
	ck_assert_ptr_eq(ann->passport, b2);
	ck_assert_ptr_eq(b2->person, ann);
	ok(s2, pgorm_session_add(s2, ann), "add");
	ck_assert_int_eq(pgorm_object_state(b2), PGORM_STATE_PENDING);
	pgorm_graph_release(g);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_int_eq(q("SELECT count(*) FROM dpassports WHERE num = 'A1' AND person_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dpassports WHERE num = 'B2' AND person_id = 1"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* SQLAlchemy: appending a detached object to a collection of an object in the session pulls it
 * in (save-update), with what its cascade reaches (its old parent, through c1.parent's
 * history, c1.parent being loaded); the old parent's loaded collection loses it at once. */
START_TEST(test_detached_pulled_into_session)
{
	const pgorm_rel *children = rel(&dparent_model, "children");
	DParent *p = load_p1(s);
	DChild *c1 = child_by_id(p, 1);
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2();
	DParent *p2 = load_one(s2, &dparent_model, 2, "children");
	ok(s2, pgorm_rel_append(s2, children, p2, c1), "append a detached child");
	ck_assert(pgorm_session_contains(s2, c1));
	ck_assert(pgorm_session_contains(s2, p));
	ck_assert_ptr_eq(c1->parent, p2);
	ck_assert_uint_eq(p->children.len, 1);
	pgorm_graph_release(g);
	pgtest_log_clear(&log_);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 1 AND parent_id = 2"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 2 AND parent_id = 1"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* SQLAlchemy (cascade="all, delete-orphan"): o.kids.remove(k1) while detached; s2.add(o)
 * reaches k1 through the history and the flush DELETEs it. */
START_TEST(test_detached_delete_orphan)
{
	const pgorm_rel *kids = rel(&oparent_model, "kids");
	OParent *o = load_one(s, &oparent_model, 1, "kids");
	ck_assert_uint_eq(o->kids.len, 2);
	OKid *k1 = ((OKid *)o->kids.items[0])->id == 1 ? o->kids.items[0] : o->kids.items[1];
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2();
	ok(s2, pgorm_rel_remove(s2, kids, o, k1), "remove while detached");
	ck_assert_ptr_null(k1->parent);
	ck_assert_uint_eq(o->kids.len, 1);
	ck_assert_int_eq(pgorm_object_state(k1), PGORM_STATE_DETACHED); /* no session: nothing deleted yet */
	pgtest_log_clear(&log_);
	ok(s2, pgorm_session_add(s2, o), "add");
	pgorm_graph_release(g);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"dokids\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	ck_assert_int_eq(pgorm_object_state(k1), PGORM_STATE_DETACHED);
	ck_assert(pgorm_object_was_deleted(k1));
	ck_assert_int_eq(q("SELECT count(*) FROM dokids WHERE id = 1"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM dokids WHERE id = 2 AND parent_id = 1"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

static DTag *tag_by_id(DPost *p, int64_t id)
{
	for (size_t i = 0; i < p->tags.len; i++)
		if (((DTag *)p->tags.items[i])->id == id)
			return p->tags.items[i];
	return NULL;
}

/* SQLAlchemy: post.tags.remove(t1); post.tags.append(t2); post.tags.append(Tag("t3")) while
 * detached; s2.add(post) takes t1 (history), t2 and t3 in; the commit inserts t3 and the
 * association rows (1, 2), (1, 3) and deletes (1, 1). */
START_TEST(test_detached_m2m)
{
	const pgorm_rel *tags = rel(&dpost_model, "tags"), *posts = rel(&dtag_model, "posts");
	DPost *post = load_one(s, &dpost_model, 1, "tags");
	DTag *t1 = tag_by_id(post, 1);
	ck_assert_ptr_nonnull(t1);
	DTag *t2 = load_one(s, &dtag_model, 2, NULL); /* its posts: not loaded */
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2();
	DTag *t3 = pgorm_object_new(s2, &dtag_model);
	t3->name = "t3";
	pgtest_log_clear(&log_);
	ok(s2, pgorm_rel_remove(s2, tags, post, t1), "m2m remove while detached");
	ok(s2, pgorm_rel_append(s2, tags, post, t2), "m2m append while detached");
	ok(s2, pgorm_rel_append(s2, tags, post, t3), "m2m append of a new tag while detached");
	ck_assert_uint_eq(post->tags.len, 2);
	ck_assert_ptr_null(tag_by_id(post, 1));
	ck_assert(!pgorm_rel_is_loaded(posts, t2));
	ck_assert_uint_eq(t3->posts.len, 1);
	ck_assert_ptr_eq(t3->posts.items[0], post);
	ck_assert(pgorm_object_is_modified(post));
	expect(s2, pgorm_rel_append(s2, posts, t2, post), PGORM_ESTATE, "dtags.posts is not loaded");
	ck_assert_uint_eq(log_.n, 0);
	ok(s2, pgorm_session_add(s2, post), "add");
	ck_assert(pgorm_session_contains(s2, t1));
	ck_assert(pgorm_session_contains(s2, t2));
	ck_assert_int_eq(pgorm_object_state(t3), PGORM_STATE_PENDING);
	pgorm_graph_release(g);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"dpost_tags\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"dpost_tags\""), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dpost_tags WHERE post_id = 1 AND tag_id = 1"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM dpost_tags WHERE post_id = 1 AND tag_id = 2"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dpost_tags p JOIN dtags t ON t.id = p.tag_id WHERE p.post_id = 1"
	                   " AND t.name = 't3'"),
	                 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dpost_tags"), 2);
	pgorm_session_destroy(s2);
}
END_TEST

/* Closing a session with many-to-many changes not flushed keeps them with the objects (as
 * SQLAlchemy keeps them in the collection's history): a later session that adds the objects
 * writes them. Before the fix close dropped them and the commit wrote nothing. */
START_TEST(test_issue_14_close_keeps_m2m_changes)
{
	const pgorm_rel *tags = rel(&dpost_model, "tags");
	DPost *post = load_one(s, &dpost_model, 1, "tags");
	DTag *t1 = tag_by_id(post, 1), *t2 = load_one(s, &dtag_model, 2, NULL);
	ok(s, pgorm_rel_append(s, tags, post, t2), "append");
	ok(s, pgorm_rel_remove(s, tags, post, t1), "remove");
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close with unflushed m2m changes");
	ck_assert_int_eq(q("SELECT count(*) FROM dpost_tags WHERE tag_id = 1"), 1);
	pgorm_session *s2 = session2();
	ok(s2, pgorm_session_add(s2, post), "add");
	ck_assert(pgorm_session_contains(s2, t2));
	pgorm_graph_release(g);
	pgtest_log_clear(&log_);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_int_eq(q("SELECT count(*) FROM dpost_tags WHERE post_id = 1 AND tag_id = 1"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM dpost_tags WHERE post_id = 1 AND tag_id = 2"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"dpost_tags\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"dpost_tags\""), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* Closing a session with children taken out of their parent's collection, not flushed yet:
 * SQLAlchemy keeps the collection's history, so adding the parent to another session reaches
 * the removed child (FK set NULL, or DELETE under delete-orphan). Before the fix the child,
 * no longer in the collection, was not reached and nothing was written. */
START_TEST(test_issue_14_close_keeps_removed_children)
{
	const pgorm_rel *children = rel(&dparent_model, "children"), *kids = rel(&oparent_model, "kids");
	DParent *p = load_p1(s);
	DChild *c1 = child_by_id(p, 1);
	OParent *o = load_one(s, &oparent_model, 1, "kids");
	OKid *k1 = ((OKid *)o->kids.items[0])->id == 1 ? o->kids.items[0] : o->kids.items[1];
	ok(s, pgorm_rel_remove(s, children, p, c1), "remove c1");
	ok(s, pgorm_rel_remove(s, kids, o, k1), "remove k1 (delete-orphan)");
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close with unflushed removals");
	pgorm_session *s2 = session2();
	ok(s2, pgorm_session_add(s2, p), "add p");
	ok(s2, pgorm_session_add(s2, o), "add o");
	ck_assert(pgorm_session_contains(s2, c1));
	ck_assert(pgorm_session_contains(s2, k1));
	pgorm_graph_release(g);
	ok(s2, pgorm_session_commit(s2), "commit");
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 1 AND parent_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM dokids WHERE id = 1"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM dokids WHERE id = 2 AND parent_id = 1"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* A detached object linked to an object that another, still open, session holds: SQLAlchemy
 * lets the link be made, and add() to a third session fails ("already attached to session");
 * pgorm refuses it the same way, before anything changes (p stays detached, nothing sent).
 * (SQLAlchemy leaves p in the session whose add failed.) Through a session that does not hold
 * the other object the link itself is refused. */
START_TEST(test_detached_linked_to_other_session)
{
	const pgorm_rel *children = rel(&dparent_model, "children");
	DParent *p = load_p1(s);
	pgorm_graph *g = NULL;
	ok(s, pgorm_session_close(s, &g), "close");
	pgorm_session *s2 = session2(), *s3 = session2();
	void *c3 = NULL;
	pgorm_value k3 = PGORM_INT8(3);
	ok(s3, pgorm_session_get(s3, &dchild_model, &k3, &c3), "get c3 in s3");
	expect(s2, pgorm_rel_append(s2, children, p, c3), PGORM_EINVAL, "another session");
	ck_assert_uint_eq(p->children.len, 2);
	ok(s3, pgorm_rel_append(s3, children, p, c3), "link through s3");
	ck_assert_ptr_eq(((DChild *)c3)->parent, p);
	ck_assert_uint_eq(p->children.len, 3);
	pgtest_log_clear(&log_);
	expect(s2, pgorm_session_add(s2, p), PGORM_EINVAL, "attached to another session");
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_DETACHED);
	ck_assert(!pgorm_session_contains(s2, p));
	ck_assert(!pgorm_session_contains(s2, p->children.items[0]));
	ok(s2, pgorm_session_commit(s2), "commit s2");
	ck_assert_uint_eq(log_.n, 0);
	/* s3 does not write c3's key either: its parent is in no session (SQLAlchemy warns "not in
	 * session, add operation along 'C.parent' won't proceed") */
	ok(s3, pgorm_session_commit(s3), "commit s3");
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	pgorm_session_destroy(s3);
	pgorm_session_destroy(s2);
	ck_assert_str_eq(p->name, "p1"); /* the graph still holds it */
	pgorm_graph_release(g);
	ck_assert_int_eq(q("SELECT count(*) FROM dchildren WHERE id = 3 AND parent_id = 3"), 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("detached");
	TCase *tc = pgtest_tcase(su, "detached", 60, setup, teardown);
	tcase_add_test(tc, test_close_detaches_and_add_flushes_edits);
	tcase_add_test(tc, test_graph_outlives_destroy);
	tcase_add_test(tc, test_graph_chain);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_rollback_after_adopt);
	tcase_add_test(tc, test_close_with_open_transaction);
	tcase_add_test(tc, test_issue_14_expunged_then_adopted_elsewhere);
	tcase_add_test(tc, test_close_and_add_out_of_memory);
	tcase_add_test(tc, test_detached_o2m_append_remove);
	tcase_add_test(tc, test_detached_replace);
	tcase_add_test(tc, test_detached_m2o_set_unset);
	tcase_add_test(tc, test_detached_m2o_set_unloaded);
	tcase_add_test(tc, test_detached_o2o_set_unloaded);
	tcase_add_test(tc, test_detached_pulled_into_session);
	tcase_add_test(tc, test_detached_delete_orphan);
	tcase_add_test(tc, test_detached_m2m);
	tcase_add_test(tc, test_issue_14_close_keeps_m2m_changes);
	tcase_add_test(tc, test_issue_14_close_keeps_removed_children);
	tcase_add_test(tc, test_detached_linked_to_other_session);
	TCase *tj = pgtest_tcase(su, "nested_joined", 60, setup, teardown);
	tcase_add_test(tj, test_nested_joined_one_select);
	tcase_add_test(tj, test_nested_joined_limit_offset);
	tcase_add_test(tj, test_nested_joined_self_referential);
	return pgtest_run(su);
}
