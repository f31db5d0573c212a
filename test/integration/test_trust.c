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


/* delete-orphan one-to-many, with the expunge cascade both ways (a cycle for expunge) */
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

/* many-to-one delete-orphan with single_parent: an account owns its profile */
typedef struct Profile {
	pgorm_object hdr;
	int64_t id;
	char *bio;
} Profile;

typedef struct Account {
	pgorm_object hdr;
	int64_t id;
	char *name;
	int64_t profile_id;
	Profile *profile;
} Account;

/* a self-referencing chain with the expunge cascade along "next" */
typedef struct Link {
	pgorm_object hdr;
	int64_t id;
	int64_t next_id;
	struct Link *next;
} Link;

static const pgorm_column oparent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, OParent, id),
	PGORM_COLUMN(TEXT, "name", 0, OParent, name),
	PGORM_COLUMN_END
};
static const pgorm_column okid_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, OKid, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, OKid, parent_id, "oparents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, OKid, name),
	PGORM_COLUMN_END
};
static const pgorm_column profile_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Profile, id),
	PGORM_COLUMN(TEXT, "bio", 0, Profile, bio),
	PGORM_COLUMN_END
};
static const pgorm_column account_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Account, id),
	PGORM_COLUMN(TEXT, "name", 0, Account, name),
	PGORM_COLUMN_FK(INT8, "profile_id", PGORM_NULLABLE, Account, profile_id, "profiles", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
static const pgorm_column link_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Link, id),
	PGORM_COLUMN_FK(INT8, "next_id", PGORM_NULLABLE, Link, next_id, "links", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};

extern const pgorm_model oparent_model, okid_model, profile_model, account_model, link_model;
static const pgorm_relationship oparent_rels[] = {
	PGORM_ONE_TO_MANY("kids", OParent, kids, &okid_model, "parent_id", "parent",
	                  PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship okid_rels[] = {
	{ .name = "parent", .target = &oparent_model, .kind = PGORM_REL_MANY_TO_ONE,
	  .offset = offsetof(OKid, parent), .size = sizeof(OParent *), .fk_column = "parent_id",
	  .back_populates = "kids", .cascade = PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_EXPUNGE },
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship account_rels[] = {
	{ .name = "profile", .target = &profile_model, .kind = PGORM_REL_MANY_TO_ONE,
	  .offset = offsetof(Account, profile), .size = sizeof(Profile *), .fk_column = "profile_id",
	  .cascade = PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN, .flags = PGORM_REL_SINGLE_PARENT },
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship link_rels[] = {
	{ .name = "next", .target = &link_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(Link, next),
	  .size = sizeof(Link *), .fk_column = "next_id",
	  .cascade = PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_EXPUNGE },
	PGORM_RELATIONSHIP_END
};
const pgorm_model oparent_model = PGORM_MODEL("oparents", OParent, oparent_cols, oparent_rels);
const pgorm_model okid_model = PGORM_MODEL("okids", OKid, okid_cols, okid_rels);
const pgorm_model profile_model = PGORM_MODEL("profiles", Profile, profile_cols, NULL);
const pgorm_model account_model = PGORM_MODEL("accounts", Account, account_cols, account_rels);
const pgorm_model link_model = PGORM_MODEL("links", Link, link_cols, link_rels);

/* one-to-one children with a UNIQUE foreign key: nulled (badge) or deleted (seat) on replace */
typedef struct Badge {
	pgorm_object hdr;
	int64_t id;
	int64_t owner_id;
	char *label;
} Badge;

typedef struct Owner {
	pgorm_object hdr;
	int64_t id;
	char *name;
	Badge *badge;
	Badge *seat;
} Owner;

static const pgorm_column owner_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Owner, id),
	PGORM_COLUMN(TEXT, "name", 0, Owner, name),
	PGORM_COLUMN_END
};
static const pgorm_column badge_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Badge, id),
	PGORM_COLUMN_FK(INT8, "owner_id", PGORM_NULLABLE | PGORM_UNIQUE, Badge, owner_id, "owners", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "label", 0, Badge, label),
	PGORM_COLUMN_END
};
extern const pgorm_model owner_model, badge_model, seat_model;
static const pgorm_relationship owner_rels[] = {
	{ .name = "badge", .target = &badge_model, .kind = PGORM_REL_ONE_TO_MANY, .offset = offsetof(Owner, badge),
	  .size = sizeof(Badge *), .fk_column = "owner_id", .flags = PGORM_REL_SCALAR },
	{ .name = "seat", .target = &seat_model, .kind = PGORM_REL_ONE_TO_MANY, .offset = offsetof(Owner, seat),
	  .size = sizeof(Badge *), .fk_column = "owner_id", .flags = PGORM_REL_SCALAR, .backref = "owner",
	  .cascade = PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN },
	PGORM_RELATIONSHIP_END
};
const pgorm_model owner_model = PGORM_MODEL("owners", Owner, owner_cols, owner_rels);
const pgorm_model badge_model = PGORM_MODEL("badges", Badge, badge_cols, NULL);
const pgorm_model seat_model = PGORM_MODEL("seats", Badge, badge_cols, NULL);

/* many-to-many between a uuid key and a text key */
typedef struct Post {
	pgorm_object hdr;
	pgorm_uuid id;
	char *title;
	pgorm_collection tags;
} Post;

typedef struct Tag {
	pgorm_object hdr;
	char *name;
	pgorm_collection posts;
} Tag;

extern const pgorm_model post_model, tag_model;
static const pgorm_column post_cols[] = {
	PGORM_COLUMN(UUID, "id", PGORM_PK, Post, id),
	PGORM_COLUMN(TEXT, "title", 0, Post, title),
	PGORM_COLUMN_END
};
static const pgorm_relationship post_rels[] = {
	{ .name = "tags", .target = &tag_model, .offset = offsetof(Post, tags), .size = sizeof(pgorm_collection),
	  .back_populates = "posts", .secondary = &(pgorm_secondary){ "post_tags", "post_id", "tag_name" } },
	PGORM_RELATIONSHIP_END
};
static const pgorm_column tag_cols[] = {
	PGORM_COLUMN(TEXT, "name", PGORM_PK, Tag, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship tag_rels[] = {
	{ .name = "posts", .target = &post_model, .offset = offsetof(Tag, posts), .size = sizeof(pgorm_collection),
	  .back_populates = "tags", .secondary = &(pgorm_secondary){ "post_tags", "tag_name", "post_id" } },
	PGORM_RELATIONSHIP_END
};
const pgorm_model post_model = PGORM_MODEL("posts", Post, post_cols, post_rels);
const pgorm_model tag_model = PGORM_MODEL("tags", Tag, tag_cols, tag_rels);

static pgorm_registry *reg;
static pgorm_conn *conn;  /* the session's */
static pgorm_conn *check; /* a second connection: what is committed */
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .check = &check, .session = &s, .log = &log_ };
static const pgorm_rel *kids_rel, *parent_rel, *okids_rel, *profile_rel;

static void setup(void)
{
	const pgorm_model *models[] = { &parent_model, &kid_model, &strict_model, &oparent_model, &okid_model,
	                                &profile_model, &account_model, &link_model, &owner_model, &badge_model, &seat_model, &post_model, &tag_model };
	pgtest_env_setup(&env, models, 13,
	                 "DROP TABLE IF EXISTS stricts, kids, parents, okids, oparents, accounts, profiles, links, badges, "
	                 "seats, owners, post_tags, posts, tags",
	                 PGTEST_CREATE_ALL, "DROP TABLE stricts, kids, parents",
	                 "CREATE TABLE parents (id bigserial PRIMARY KEY, name text NOT NULL)",
	                 "CREATE TABLE kids (id bigserial PRIMARY KEY, parent_id bigint REFERENCES parents, "
	                 "name text NOT NULL, qty integer NOT NULL DEFAULT 5, note text)",
	                 "CREATE TABLE stricts (id bigserial PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parents, "
	                 "name text NOT NULL)",
	                 NULL);
	okids_rel = pgorm_registry_rel(reg, &oparent_model, "kids");
	profile_rel = pgorm_registry_rel(reg, &account_model, "profile");
	kids_rel = pgorm_registry_rel(reg, &parent_model, "kids");
	parent_rel = pgorm_registry_rel(reg, &kid_model, "parent");
	s = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

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
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"stricts\" (\"name\")"), 1); /* key read back */
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


/* After a rollback, an object changed in the transaction holds the database's values again
 * (SQLAlchemy reloads it on the next read): writing the rolled-back value once more is a
 * change. Before, the field kept the rolled-back bytes, so the same write was not seen and
 * the next commit silently left the row as it was (found by the differential test). */
START_TEST(test_issue_rollback_then_same_write)
{
	pgtest_exec(check, "INSERT INTO kids (name, note, qty) VALUES ('k', NULL, 5)");
	pgorm_query *qy = NULL;
	ck_assert_int_eq(pgorm_query_create(&qy, s, &kid_model), 0);
	pgorm_list rows;
	ck_assert_int_eq(pgorm_query_all(qy, &rows), 0);
	ck_assert_uint_eq(rows.len, 1);
	Kid *k = rows.items[0];
	pgorm_query_destroy(qy);
	commit_ok();
	/* written, not flushed, rolled back */
	k->note = "x";
	k->qty = 9;
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_ptr_null(k->note);
	ck_assert(pgorm_object_is_null(k, "note"));
	ck_assert_int_eq(k->qty, 5);
	k->note = "x";
	k->qty = 9;
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE note = 'x' AND qty = 9"), 1);
	/* flushed, then rolled back */
	k->qty = 7;
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(k->qty, 9);
	k->qty = 7;
	commit_ok();
	ck_assert_int_eq(q("SELECT qty FROM kids"), 7);
	/* inside a savepoint */
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);
	k->qty = 3;
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_int_eq(pgorm_session_rollback_nested(s), 0);
	ck_assert_int_eq(k->qty, 7);
	k->qty = 3;
	commit_ok();
	ck_assert_int_eq(q("SELECT qty FROM kids"), 3);
	/* nothing changed: a rollback reads nothing again */
	pgorm_stats st0, st1;
	pgorm_session_stats(s, &st0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	pgorm_session_stats(s, &st1);
	ck_assert_uint_eq(st1.round_trips, st0.round_trips);
}
END_TEST

/* Loading the many-to-one of an expired object reads its row again (its FK fields may be
 * stale) and keeps the columns written since the expiry, as any load of an expired object
 * does. Before, that read overwrote them and the write was silently lost (found by the
 * differential test); pgorm_session_refresh_attrs overwrote the columns it was not asked for. */
START_TEST(test_issue_m2o_load_keeps_written_columns)
{
	Parent *p = parent("p");
	Kid *k = kid("k");
	pgorm_rel_append(s, kids_rel, p, k);
	pgorm_session_add(s, p);
	commit_ok(); /* both expired */
	k->note = "written";
	ck_assert_int_eq(pgorm_rel_load(s, parent_rel, k, NULL), 0);
	ck_assert_ptr_eq(k->parent, p);
	ck_assert_str_eq(k->note, "written");
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE note = 'written'"), 1);
	/* refresh_attrs of one column keeps another one written meanwhile */
	k->qty = 11;
	k->note = "again";
	const char *names[] = { "note" };
	ck_assert_int_eq(pgorm_session_refresh_attrs(s, k, names, 1), 0);
	ck_assert_str_eq(k->note, "written");
	ck_assert_int_eq(k->qty, 11);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE note = 'written' AND qty = 11"), 1);
}
END_TEST

/* A rollback leaves alone the objects expunged from the session: their values are the
 * user's. Before, it took their fields as seen, so a new object expunged before a failed commit
 * and added again afterwards was inserted without the columns written before (23502 on its
 * NOT NULL name; found by the differential test). */
START_TEST(test_issue_rollback_skips_expunged)
{
	Kid *k = kid("k");
	pgorm_session_add(s, k);
	ck_assert_int_eq(pgorm_session_expunge(s, k), 0);
	Strict *bad = pgorm_object_new(s, &strict_model);
	bad->name = "no parent";
	pgorm_session_add(s, bad); /* parent_id never assigned: 23502 */
	ck_assert_int_ne(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_session_expunge(s, bad), 0);
	pgorm_session_add(s, k);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE name = 'k'"), 1);
}
END_TEST

/* ================= orphans, single parent, collections ================= */

/* A pending child removed under delete-orphan leaves the session at once: added again, it is
 * inserted. Before, it stayed pending and was dropped as an orphan at the flush. */
START_TEST(test_issue_pending_orphan_expunged)
{
	OParent *p = pgorm_object_new(s, &oparent_model);
	p->name = "p";
	OKid *k = pgorm_object_new(s, &okid_model);
	k->name = "k";
	ck_assert_int_eq(pgorm_rel_append(s, okids_rel, p, k), 0);
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	ck_assert_int_eq(pgorm_object_state(k), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_rel_remove(s, okids_rel, p, k), 0);
	ck_assert_int_eq(pgorm_object_state(k), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_session_add(s, k), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM okids WHERE name = 'k' AND parent_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM oparents"), 1);
}
END_TEST

/* A transient child cut from its transient parent under delete-orphan, then added: it is
 * inserted with no parent, as in SQLAlchemy (add clears "orphaned outside the session").
 * Before, the flush dropped it as an orphan without a word (found by the differential test). */
START_TEST(test_issue_orphaned_while_transient_then_added)
{
	OParent *p = pgorm_object_new(s, &oparent_model);
	p->name = "p";
	OKid *k = pgorm_object_new(s, &okid_model);
	k->name = "k";
	ck_assert_int_eq(pgorm_rel_append(s, okids_rel, p, k), 0);
	ck_assert_int_eq(pgorm_rel_remove(s, okids_rel, p, k), 0);
	ck_assert_int_eq(pgorm_session_add(s, k), 0);
	commit_ok();
	ck_assert_int_eq(pgorm_object_state(k), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(q("SELECT count(*) FROM okids WHERE name = 'k' AND parent_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM oparents"), 0);
}
END_TEST

/* An object whose DELETE was flushed cannot be linked to an object in the session along a
 * save-update cascade (SQLAlchemy: "has been deleted, use make_transient()"): refused before
 * anything changes. Before, the link was accepted and the flush went on as if nothing had
 * happened (found by the differential test). */
START_TEST(test_issue_link_flushed_deleted_refused)
{
	Parent *p = parent("p");
	Kid *k = kid("k");
	pgorm_session_add(s, p);
	pgorm_session_add(s, k);
	commit_ok();
	ck_assert_int_eq(pgorm_session_delete(s, k), 0);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	Parent *p2 = parent("p2");
	pgorm_session_add(s, p2);
	ck_assert_int_eq(pgorm_rel_append(s, kids_rel, p2, k), PGORM_ESTATE);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "has been deleted"));
	ck_assert_uint_eq(p2->kids.len, 0);
	ck_assert_ptr_null(k->parent);
	/* the deleted kid's own many-to-one may point at p2: only the named relationship cascades,
	 * not its backref (SQLAlchemy accepts it; differential seed 379); nothing is written for it */
	ck_assert_int_eq(pgorm_rel_set(s, parent_rel, k, p2), 0);
	ck_assert_ptr_eq(k->parent, p2);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM parents"), 2);
}
END_TEST

/* A deleted object belongs to its session until the transaction ends (SQLAlchemy's
 * state.session): giving it a transient parent, its DELETE flushed or only marked, pulls the
 * parent in by the save-update cascade, and the parent is inserted; the deleted row stays
 * deleted (before: the parent stayed transient and was lost; differential seeds 68 and 83). */
START_TEST(test_issue_deleted_object_cascades_save_update)
{
	Kid *k = kid("k"), *k2 = kid("k2");
	pgorm_session_add(s, k);
	pgorm_session_add(s, k2);
	commit_ok();
	ck_assert_int_eq(pgorm_session_delete(s, k), 0);
	ck_assert_int_eq(pgorm_session_flush(s), 0); /* its DELETE flushed */
	Parent *p = parent("p");
	ck_assert_int_eq(pgorm_rel_set(s, parent_rel, k, p), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_session_delete(s, k2), 0); /* marked only */
	Parent *p2 = parent("p2");
	ck_assert_int_eq(pgorm_rel_set(s, parent_rel, k2, p2), 0);
	ck_assert_int_eq(pgorm_object_state(p2), PGORM_STATE_PENDING);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM parents WHERE name IN ('p', 'p2')"), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM kids"), 0);
}
END_TEST

/* The expunge cascade follows what is loaded (SQLAlchemy: PASSIVE_NO_INITIALIZE): a to-one
 * link kept in memory by an expired object is not followed, so the object it points at stays
 * in the session; once loaded again, it is (before: expunged along the stale link; seed 223). */
START_TEST(test_issue_expunge_skips_expired_to_one)
{
	Account *a = pgorm_object_new(s, &account_model);
	a->name = "a";
	Profile *pr = pgorm_object_new(s, &profile_model);
	pr->bio = "bio";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, pr), 0);
	pgorm_session_add(s, a);
	commit_ok(); /* expired: a->profile is kept in memory, not loaded */
	ck_assert_ptr_eq(a->profile, pr);
	ck_assert_int_eq(pgorm_session_expunge(s, a), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(pr), PGORM_STATE_PERSISTENT);

	Account *b = pgorm_object_new(s, &account_model);
	b->name = "b";
	Profile *pr2 = pgorm_object_new(s, &profile_model);
	pr2->bio = "bio2";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, b, pr2), 0);
	pgorm_session_add(s, b);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, profile_rel, b, NULL), 0);
	ck_assert_int_eq(pgorm_session_expunge(s, b), 0);
	ck_assert_int_eq(pgorm_object_state(pr2), PGORM_STATE_DETACHED);
}
END_TEST

/* Three rules of SQLAlchemy's found by the differential test, where pgorm differed:
 * - a delete cascades along a many-to-one with cascade delete (account -> profile), also when
 *   the link is expired (before: the profile stayed);
 * - an expired child whose many-to-one is set to NULL is no orphan of the one-to-many's
 *   delete-orphan (SQLAlchemy does not load the previous parent): its FK becomes NULL and it
 *   stays (before: deleted);
 * - a parent cut loose by a many-to-one delete-orphan while transient is inserted once added
 *   (before: dropped as an orphan). */
START_TEST(test_issue_m2o_delete_cascade_and_unloaded_orphans)
{
	Account *a = pgorm_object_new(s, &account_model);
	a->name = "a";
	Profile *pr = pgorm_object_new(s, &profile_model);
	pr->bio = "bio";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, pr), 0);
	pgorm_session_add(s, a);
	commit_ok(); /* expired */
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM profiles"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM accounts"), 0);

	OParent *p = pgorm_object_new(s, &oparent_model);
	p->name = "p";
	OKid *k = pgorm_object_new(s, &okid_model);
	k->name = "k";
	ck_assert_int_eq(pgorm_rel_append(s, okids_rel, p, k), 0);
	pgorm_session_add(s, p);
	commit_ok(); /* k's many-to-one expired */
	const pgorm_rel *okid_parent = pgorm_registry_rel(reg, &okid_model, "parent");
	ck_assert_int_eq(pgorm_rel_set(s, okid_parent, k, NULL), 0);
	ck_assert_int_eq(pgorm_rel_set(s, okid_parent, k, NULL), 0); /* again: still no orphan */
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM okids WHERE name = 'k' AND parent_id IS NULL"), 1);

	Account *b = pgorm_object_new(s, &account_model);
	b->name = "b";
	Profile *pr2 = pgorm_object_new(s, &profile_model);
	pr2->bio = "kept";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, b, pr2), 0);
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, b, NULL), 0);
	pgorm_session_add(s, pr2);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM profiles WHERE bio = 'kept'"), 1);
}
END_TEST

/* A rollback undoes the many-to-one links made in the transaction (they follow the foreign
 * key again) and the orphan marks: before, a link set and rolled back still cascaded a later
 * delete to the wrong parent, and an orphan mark rolled back still deleted the parent at the
 * next flush (found by the differential test). */
START_TEST(test_issue_rollback_undoes_links)
{
	Account *a = pgorm_object_new(s, &account_model);
	a->name = "a";
	Profile *pr = pgorm_object_new(s, &profile_model);
	pr->bio = "mine";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, pr), 0);
	Profile *other = pgorm_object_new(s, &profile_model);
	other->bio = "other";
	pgorm_session_add(s, a);
	pgorm_session_add(s, other);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, profile_rel, a, NULL), 0);
	/* cut, rolled back: the profile is no orphan */
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, NULL), 0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM profiles"), 2);
	/* moved to the other profile, rolled back: deleting the account takes its own profile */
	ck_assert_int_eq(pgorm_rel_load(s, profile_rel, a, NULL), 0);
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, other), 0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_ptr_eq(a->profile, pr);
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM profiles WHERE bio = 'other'"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM profiles WHERE bio = 'mine'"), 0);
}
END_TEST

/* single_parent: a second parent is refused at once, with no side effect. */
START_TEST(test_issue_single_parent_enforced)
{
	Account *a1 = pgorm_object_new(s, &account_model), *a2 = pgorm_object_new(s, &account_model);
	a1->name = "a1";
	a2->name = "a2";
	Profile *pr = pgorm_object_new(s, &profile_model);
	pr->bio = "bio";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a1, pr), 0);
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a2, pr), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "single_parent"));
	ck_assert_ptr_null(a2->profile);
	ck_assert_ptr_eq(a1->profile, pr);
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a1, pr), 0); /* the same parent again is fine */
	pgorm_session_add(s, a1);
	pgorm_session_add(s, a2);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM accounts WHERE profile_id IS NOT NULL"), 1);
	/* after the first parent lets go, the second may take it */
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a1, NULL), 0);
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a2, pr), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM accounts a JOIN profiles p ON p.id = a.profile_id WHERE a.name = 'a2'"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM profiles"), 1);
}
END_TEST

/* delete-orphan on a many-to-one: the target cut loose is deleted at the flush. */
START_TEST(test_issue_m2o_delete_orphan)
{
	Account *a = pgorm_object_new(s, &account_model);
	a->name = "a";
	Profile *pr = pgorm_object_new(s, &profile_model);
	pr->bio = "bio";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, pr), 0);
	pgorm_session_add(s, a);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM profiles"), 1);
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, NULL), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM profiles"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM accounts WHERE profile_id IS NULL"), 1);
	/* replaced by another: the old one goes, the new one stays */
	Profile *p1 = pgorm_object_new(s, &profile_model), *p2 = pgorm_object_new(s, &profile_model);
	p1->bio = "one";
	p2->bio = "two";
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, p1), 0);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_set(s, profile_rel, a, p2), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM profiles WHERE bio = 'one'"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM profiles p JOIN accounts a ON a.profile_id = p.id WHERE p.bio = 'two'"), 1);
}
END_TEST

/* Expired and unloaded collections show nothing instead of stale or partial items. */
START_TEST(test_issue_collections_do_not_lie)
{
	Parent *p = parent("p");
	Kid *a = kid("a"), *b = kid("b");
	pgorm_rel_append(s, kids_rel, p, a);
	pgorm_rel_append(s, kids_rel, p, b);
	pgorm_session_add(s, p);
	commit_ok();
	ck_assert(!pgorm_rel_is_loaded(kids_rel, p));
	ck_assert_uint_eq(p->kids.len, 0);        /* expired at commit: not [a, b] */
	Kid *c = kid("c");
	ck_assert_int_eq(pgorm_rel_set(s, parent_rel, c, p), 0);
	ck_assert_uint_eq(p->kids.len, 0);        /* queued: not [c] alone */
	ck_assert_int_eq(pgorm_rel_load(s, kids_rel, p, NULL), 0);
	ck_assert_uint_eq(p->kids.len, 3);
	pgorm_session_add(s, c); /* 2.0: no save-update cascade along the backref */
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids"), 3);
}
END_TEST

/* The expunge cascade walks a cycle of pending objects once, and a 200,000-deep chain
 * without recursion (before: endless recursion, and a stack overflow). */
START_TEST(test_issue_expunge_cycle_and_deep_chain)
{
	OParent *p = pgorm_object_new(s, &oparent_model);
	p->name = "p";
	OKid *k = pgorm_object_new(s, &okid_model);
	k->name = "k";
	pgorm_rel_append(s, okids_rel, p, k);
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_expunge(s, p), 0);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(k), PGORM_STATE_TRANSIENT);
	const pgorm_rel *next = pgorm_registry_rel(reg, &link_model, "next");
	enum { DEPTH = 200000 };
	Link *head = pgorm_object_new(s, &link_model), *cur = head;
	for (int i = 1; i < DEPTH; i++) {
		Link *n = pgorm_object_new(s, &link_model);
		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(pgorm_rel_set(s, next, cur, n), 0);
		cur = n;
	}
	ck_assert_int_eq(pgorm_session_add(s, head), 0);
	ck_assert_int_eq(pgorm_object_state(cur), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_session_expunge(s, head), 0);
	ck_assert_int_eq(pgorm_object_state(cur), PGORM_STATE_TRANSIENT);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM links"), 0);
}
END_TEST

/* One-to-one replace with a UNIQUE foreign key: the old child is nulled (or deleted) before
 * the new one takes the key. Before: INSERT first, 23505. */
START_TEST(test_issue_one_to_one_replace_unique_fk)
{
	const pgorm_rel *badge = pgorm_registry_rel(reg, &owner_model, "badge");
	const pgorm_rel *seat = pgorm_registry_rel(reg, &owner_model, "seat");
	Owner *o = pgorm_object_new(s, &owner_model);
	o->name = "o";
	Badge *b1 = pgorm_object_new(s, &badge_model), *s1 = pgorm_object_new(s, &seat_model);
	b1->label = "b1";
	s1->label = "s1";
	ck_assert_int_eq(pgorm_rel_set(s, badge, o, b1), 0);
	ck_assert_int_eq(pgorm_rel_set(s, seat, o, s1), 0);
	pgorm_session_add(s, o);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, badge, o, NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(s, seat, o, NULL), 0);
	Badge *b2 = pgorm_object_new(s, &badge_model), *s2 = pgorm_object_new(s, &seat_model);
	b2->label = "b2";
	s2->label = "s2";
	ck_assert_int_eq(pgorm_rel_set(s, badge, o, b2), 0);
	ck_assert_int_eq(pgorm_rel_set(s, seat, o, s2), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM badges WHERE label = 'b1' AND owner_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM badges b JOIN owners o ON o.id = b.owner_id WHERE b.label = 'b2'"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM seats"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM seats s JOIN owners o ON o.id = s.owner_id WHERE s.label = 's2'"), 1);
}
END_TEST

static char logged[4][256];
static size_t nlogged;
static void log_fn(void *ctx, pgorm_log_level level, const char *message)
{
	(void)ctx;
	if (level == PGORM_LOG_WARNING && nlogged < 4)
		snprintf(logged[nlogged++], sizeof logged[0], "%s", message);
}

/* An object left out of the flush because it was never added is reported in both
 * directions (before: only child -> parent). */
START_TEST(test_issue_skipped_objects_reported)
{
	pgorm_session_destroy(s);
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.log = log_fn;
	nlogged = 0;
	pgorm_error err;
	ck_assert_int_eq(pgorm_session_create(&s, reg, NULL, conn, &cfg, &err), 0);
	Parent *p = parent("p");
	pgorm_session_add(s, p);
	commit_ok();
	Kid *c = kid("c"); /* transient: attached from the child side, 2.0 does not cascade */
	ck_assert_int_eq(pgorm_rel_set(s, parent_rel, c, p), 0);
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_TRANSIENT);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids"), 0);
	ck_assert_uint_eq(nlogged, 1);
	ck_assert_msg(strstr(logged[0], "parents.kids holds 1 kids object(s) not in the session") != NULL, "%s", logged[0]);
}
END_TEST

/* Many-to-many with uuid and text keys: deleting either side removes its association rows
 * (before: the association DELETE always sent = ANY($1::int8[]) and failed); selectin loads
 * over uuid keys. */
START_TEST(test_issue_m2m_text_and_uuid_keys)
{
	const pgorm_rel *tags = pgorm_registry_rel(reg, &post_model, "tags");
	Post *p1 = pgorm_object_new(s, &post_model), *p2 = pgorm_object_new(s, &post_model);
	p1->title = "one";
	p2->title = "two";
	for (int i = 0; i < 16; i++) {
		p1->id.bytes[i] = (uint8_t)(i + 1);
		p2->id.bytes[i] = (uint8_t)(0xf0 + i);
	}
	Tag *a = pgorm_object_new(s, &tag_model), *b = pgorm_object_new(s, &tag_model);
	a->name = "a";
	b->name = "b";
	pgorm_rel_append(s, tags, p1, a);
	pgorm_rel_append(s, tags, p1, b);
	pgorm_rel_append(s, tags, p2, a);
	pgorm_session_add(s, p1);
	pgorm_session_add(s, p2);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM post_tags"), 3);
	/* selectin over the uuid keys */
	pgorm_query *qy = NULL;
	ck_assert_int_eq(pgorm_query_create(&qy, s, &post_model), 0);
	ck_assert_int_eq(pgorm_query_option(qy, "tags", PGORM_LOAD_SELECTIN), 0);
	pgorm_list l;
	ck_assert_msg(pgorm_query_all(qy, &l) == 0, "%s", pgorm_session_error(s)->message);
	ck_assert_uint_eq(l.len, 2);
	ck_assert_uint_eq(p1->tags.len, 2);
	ck_assert_uint_eq(p2->tags.len, 1);
	pgorm_query_destroy(qy);
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);   /* text key */
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM post_tags"), 1);
	ck_assert_int_eq(pgorm_session_delete(s, p1), 0);  /* uuid key */
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM post_tags"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM posts"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM tags"), 1);
}
END_TEST


/* A session on a connection inside the caller's transaction joins it with a savepoint: its
 * commit releases the savepoint and the caller's ROLLBACK undoes everything (before: the
 * session sent BEGIN … COMMIT and committed the caller's work). */
START_TEST(test_issue_session_joins_outer_transaction)
{
	pgtest_exec(conn, "BEGIN");
	pgtest_exec(conn, "INSERT INTO parents (name) VALUES ('caller')");
	Parent *p = parent("joined");
	pgorm_session_add(s, p);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "SAVEPOINT"), 2);  /* SAVEPOINT, RELEASE SAVEPOINT */
	ck_assert_uint_eq(pgtest_log_count(&log_, "COMMIT"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM parents"), 0);      /* nothing committed yet */
	/* a failed flush rolls back to the savepoint only: the caller's transaction goes on */
	Kid *k = kid("k");
	k->name = NULL;
	pgorm_session_add(s, k);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ECONSTRAINT);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_conn_tx_status(conn), PGORM_TX_INTRANS);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM parents"), 2);
	pgtest_exec(conn, "ROLLBACK");
	ck_assert_int_eq(q("SELECT count(*) FROM parents"), 0);
	/* and when the caller commits, the session's rows are there */
	pgtest_exec(conn, "BEGIN");
	Parent *p2 = parent("kept");
	pgorm_session_add(s, p2);
	commit_ok();
	pgtest_exec(conn, "COMMIT");
	ck_assert_int_eq(q("SELECT count(*) FROM parents WHERE name = 'kept'"), 1);
}
END_TEST

/* A second session on a connection whose transaction another session holds is refused
 * (before: its COMMIT committed the first session's rows). */
START_TEST(test_issue_second_session_on_busy_connection)
{
	pgorm_session *s2 = NULL;
	pgorm_error err;
	ck_assert_int_eq(pgorm_session_create(&s2, reg, NULL, conn, NULL, &err), 0);
	Parent *a = parent("first");
	pgorm_session_add(s, a);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	Parent *b = pgorm_object_new(s2, &parent_model);
	b->name = "second";
	pgorm_session_add(s2, b);
	ck_assert_int_eq(pgorm_session_commit(s2), PGORM_ESTATE);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s2)->message, "another session"));
	ck_assert_int_eq(q("SELECT count(*) FROM parents"), 0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM parents"), 0);
	/* once the first has ended its transaction, the second may work */
	ck_assert_int_eq(pgorm_session_rollback(s2), 0);
	pgorm_session_add(s2, b);
	ck_assert_int_eq(pgorm_session_commit(s2), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM parents WHERE name = 'second'"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* merge follows relationships with the merge cascade (before: columns only): a graph edited
 * in another session comes in whole — changed columns, a member dropped (its FK nulled), a
 * new member inserted — and the source session is left alone. */
START_TEST(test_issue_merge_follows_relationships)
{
	Parent *p = parent("p");
	Kid *a = kid("a"), *b = kid("b");
	pgorm_rel_append(s, kids_rel, p, a);
	pgorm_rel_append(s, kids_rel, p, b);
	pgorm_session_add(s, p);
	commit_ok();
	int64_t pid = p->id;
	/* another session loads and edits the graph */
	pgorm_session *s2 = NULL;
	pgorm_error err;
	pgorm_conn *c2 = pgtest_connect();
	ck_assert_int_eq(pgorm_session_create(&s2, reg, NULL, c2, NULL, &err), 0);
	void *got = NULL;
	pgorm_value key = PGORM_INT8(pid);
	ck_assert_int_eq(pgorm_session_get(s2, &parent_model, &key, &got), 0);
	Parent *p2 = got;
	ck_assert_int_eq(pgorm_rel_load(s2, kids_rel, p2, NULL), 0);
	ck_assert_uint_eq(p2->kids.len, 2);
	Kid *k0 = p2->kids.items[0], *k1 = p2->kids.items[1];
	Kid *a2 = k0->name[0] == 'a' ? k0 : k1;
	Kid *b2 = a2 == k0 ? k1 : k0;
	p2->name = pgorm_strdup(s2, "p-edited");
	a2->name = pgorm_strdup(s2, "a-edited");
	ck_assert_int_eq(pgorm_rel_remove(s2, kids_rel, p2, b2), 0);
	Kid *c = pgorm_object_new(s2, &kid_model);
	c->name = pgorm_strdup(s2, "c");
	ck_assert_int_eq(pgorm_rel_append(s2, kids_rel, p2, c), 0);
	/* merged into the first session, committed there */
	void *out = NULL;
	ck_assert_msg(pgorm_session_merge(s, p2, &out) == 0, "%s", pgorm_session_error(s)->message);
	ck_assert_ptr_eq(out, p);
	ck_assert_str_eq(p->name, "p-edited");
	ck_assert_uint_eq(p->kids.len, 2);
	commit_ok();
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM kids WHERE parent_id = %lld AND name IN ('a-edited', 'c')", (long long)pid);
	ck_assert_int_eq(q(sql), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE name = 'b' AND parent_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM parents WHERE name = 'p-edited'"), 1);
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_PENDING); /* the source is untouched */
	pgorm_session_destroy(s2);
	pgorm_conn_close(c2);
}
END_TEST

static int count_batch(void *ctx, void **objs, size_t n)
{
	(void)objs;
	*(size_t *)ctx += n;
	return 0;
}

/* Streaming over rows whose objects the session already holds (expired after a commit)
 * leaves those objects alone (before: they were refreshed with strings from the batch's
 * memory, which the next allocations overwrote, and the next commit wrote them). */
START_TEST(test_issue_stream_leaves_session_objects)
{
	Kid *k[4];
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof name, "kid-%d", i);
		k[i] = kid(name);
		pgorm_session_add(s, k[i]);
	}
	commit_ok();
	pgorm_query *qy = NULL;
	ck_assert_int_eq(pgorm_query_create(&qy, s, &kid_model), 0);
	size_t seen = 0;
	ck_assert_int_eq(pgorm_query_stream(qy, 2, count_batch, &seen), 0);
	pgorm_query_destroy(qy);
	ck_assert_uint_eq(seen, 4);
	for (int i = 0; i < 2000; i++) /* reuse whatever the batches had */
		ck_assert_ptr_nonnull(pgorm_strdup(s, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"));
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof name, "kid-%d", i);
		ck_assert_str_eq(k[i]->name, name);
	}
	k[0]->qty = 9; /* one real change, flushed with the others intact */
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE name LIKE 'kid-_'"), 4);
	ck_assert_int_eq(q("SELECT count(*) FROM kids WHERE qty = 9 AND name = 'kid-0'"), 1);
}
END_TEST

/* The refresh-expire cascade (in "all") was never applied: refresh and expire now reach the
 * related objects, iteratively. */
START_TEST(test_issue_refresh_expire_cascade)
{
	OParent *p = pgorm_object_new(s, &oparent_model);
	p->name = "p";
	OKid *k = pgorm_object_new(s, &okid_model);
	k->name = "k";
	pgorm_rel_append(s, okids_rel, p, k);
	pgorm_session_add(s, p);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, okids_rel, p, NULL), 0);
	pgtest_exec(check, "UPDATE okids SET name = 'changed'");
	ck_assert_int_eq(pgorm_session_refresh(s, p), 0);
	ck_assert_str_eq(k->name, "changed");
	const pgorm_rel *kparent = pgorm_registry_rel(reg, &okid_model, "parent");
	ck_assert_int_eq(pgorm_rel_load(s, okids_rel, p, NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(s, kparent, k, NULL), 0);
	ck_assert(pgorm_rel_is_loaded(kparent, k));
	ck_assert_int_eq(pgorm_session_expire(s, p), 0);
	ck_assert(!pgorm_rel_is_loaded(kparent, k)); /* k expired with p */
	commit_ok();
}
END_TEST

/* A loader path deeper than the loaders go is refused with a message (before: accepted, and
 * levels below the eighth were silently not loaded). */
START_TEST(test_issue_deep_loader_path_refused)
{
	pgorm_query *qy = NULL;
	ck_assert_int_eq(pgorm_query_create(&qy, s, &oparent_model), 0);
	ck_assert_int_eq(pgorm_query_option(qy, "kids.parent.kids.parent.kids.parent.kids.parent", PGORM_LOAD_SELECTIN), 0);
	ck_assert_int_eq(pgorm_query_option(qy, "kids.parent.kids.parent.kids.parent.kids.parent.kids", PGORM_LOAD_SELECTIN),
	                 PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_query_error(qy)->message, "deeper than 8"));
	pgorm_query_destroy(qy);
}
END_TEST

/* A failed flush names the model and attribute, and the object where it can be known. */
START_TEST(test_flush_error_names_attribute_and_object)
{
	Kid *a = kid("same"), *b = kid("b"), *c = kid("c");
	pgorm_session_add(s, a);
	commit_ok();
	pgtest_exec(check, "CREATE UNIQUE INDEX kids_name_key ON kids (name)");
	b->name = "other";
	c->name = "same";
	pgorm_session_add(s, b);
	pgorm_session_add(s, c);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ECONSTRAINT);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "kids.name: "));
	ck_assert_ptr_eq(pgorm_session_error_object(s), c);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_ptr_null(pgorm_session_error_object(s));
	/* NOT NULL on a one-row statement */
	Kid *d = kid("d");
	d->name = NULL;
	pgorm_session_add(s, d);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ECONSTRAINT);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "kids.name: "));
	ck_assert_ptr_eq(pgorm_session_error_object(s), d);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
}
END_TEST

/* A child flushed, rolled back and added again stays in the identity map under its new key:
 * before, rollback reset its key before taking it out of the map, which then held a stale
 * slot and missed it; a later load made a second object for its row, and a one-to-one under
 * delete-orphan deleted that row as an orphan (found by test_differential, seed 7). */
START_TEST(test_issue_o2o_same_parent_again_not_orphaned)
{
	const pgorm_rel *seat = pgorm_registry_rel(reg, &owner_model, "seat");
	const pgorm_rel *owner_of = pgorm_registry_rel(reg, &seat_model, "owner");
	Badge *c = pgorm_object_new(s, &seat_model);
	c->label = "c";
	pgorm_session_add(s, c);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	Owner *o = pgorm_object_new(s, &owner_model);
	o->name = "o";
	pgorm_session_add(s, o);
	ck_assert_int_eq(pgorm_rel_set(s, seat, o, c), 0);
	commit_ok();
	int rc = pgorm_rel_set(s, owner_of, c, o);
	ck_assert_msg(rc == 0, "%s", pgorm_session_error(s)->message);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM seats s JOIN owners o ON o.id = s.owner_id"), 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("trust");
	TCase *tc = pgtest_tcase(su, "trust", 60, setup, teardown);
	tcase_add_test(tc, test_issue_fk_field_write_is_inserted);
	tcase_add_test(tc, test_issue_null_string_not_null_column);
	tcase_add_test(tc, test_issue_unassigned_fk_not_sent_as_zero);
	tcase_add_test(tc, test_issue_unassigned_column_gets_default);
	tcase_add_test(tc, test_issue_loaded_null_then_written);
	tcase_add_test(tc, test_issue_rollback_resets_synced_fks);
	tcase_add_test(tc, test_issue_pending_orphan_expunged);
	tcase_add_test(tc, test_issue_single_parent_enforced);
	tcase_add_test(tc, test_issue_m2o_delete_orphan);
	tcase_add_test(tc, test_issue_collections_do_not_lie);
	tcase_add_test(tc, test_issue_expunge_cycle_and_deep_chain);
	tcase_add_test(tc, test_issue_one_to_one_replace_unique_fk);
	tcase_add_test(tc, test_issue_skipped_objects_reported);
	tcase_add_test(tc, test_issue_m2m_text_and_uuid_keys);
	tcase_add_test(tc, test_issue_session_joins_outer_transaction);
	tcase_add_test(tc, test_issue_second_session_on_busy_connection);
	tcase_add_test(tc, test_issue_merge_follows_relationships);
	tcase_add_test(tc, test_issue_stream_leaves_session_objects);
	tcase_add_test(tc, test_issue_refresh_expire_cascade);
	tcase_add_test(tc, test_issue_deep_loader_path_refused);
	tcase_add_test(tc, test_flush_error_names_attribute_and_object);
	tcase_add_test(tc, test_issue_o2o_same_parent_again_not_orphaned);
	tcase_add_test(tc, test_issue_rollback_then_same_write);
	tcase_add_test(tc, test_issue_m2o_load_keeps_written_columns);
	tcase_add_test(tc, test_issue_rollback_skips_expunged);
	tcase_add_test(tc, test_issue_orphaned_while_transient_then_added);
	tcase_add_test(tc, test_issue_link_flushed_deleted_refused);
	tcase_add_test(tc, test_issue_deleted_object_cascades_save_update);
	tcase_add_test(tc, test_issue_expunge_skips_expired_to_one);
	tcase_add_test(tc, test_issue_m2o_delete_cascade_and_unloaded_orphans);
	tcase_add_test(tc, test_issue_rollback_undoes_links);
	return su;
}

int main(void)
{
	return pgtest_run(suite());
}
