/* Integration tests: the session API a service needs (issue 14): collection assignment,
 * expiry and state queries. */
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
	int64_t parent_id;
	char *name;
	Parent *parent;
} Kid;

extern const pgorm_model aparent_model, akid_model, oparent_model, okid_model;
static const pgorm_column parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", 0, Parent, name),
	PGORM_COLUMN_END
};
static const pgorm_column kid_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Kid, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Kid, parent_id, "aparents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Kid, name),
	PGORM_COLUMN_END
};
static const pgorm_column okid_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Kid, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Kid, parent_id, "oparents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Kid, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", Parent, kids, &akid_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship kid_rels[] = {
	PGORM_MANY_TO_ONE("parent", Kid, parent, &aparent_model, "parent_id", "kids"),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship oparent_rels[] = {
	PGORM_ONE_TO_MANY("kids", Parent, kids, &okid_model, "parent_id", "parent",
	                  PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN),
	PGORM_RELATIONSHIP_END
};
static const pgorm_relationship okid_rels[] = {
	PGORM_MANY_TO_ONE("parent", Kid, parent, &oparent_model, "parent_id", "kids"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model aparent_model = PGORM_MODEL("aparents", Parent, parent_cols, parent_rels);
const pgorm_model akid_model = PGORM_MODEL("akids", Kid, kid_cols, kid_rels);
const pgorm_model oparent_model = PGORM_MODEL("oparents", Parent, parent_cols, oparent_rels);
const pgorm_model okid_model = PGORM_MODEL("okids", Kid, okid_cols, okid_rels);

/* Row cycles (post_update): a person's partner points back at them; a team's captain is one of
 * its members, who point at the team. */
typedef struct Person {
	pgorm_object hdr;
	int64_t id;
	int64_t partner_id;
	char *name;
	struct Person *partner;
} Person;

typedef struct Member Member;
typedef struct Team {
	pgorm_object hdr;
	int64_t id;
	int64_t captain_id;
	char *name;
	Member *captain;
	pgorm_collection members;
} Team;

struct Member {
	pgorm_object hdr;
	int64_t id;
	int64_t team_id;
	char *name;
	Team *team;
};

extern const pgorm_model person_model, team_model, member_model;
static const pgorm_column person_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Person, id),
	PGORM_COLUMN_FK(INT8, "partner_id", PGORM_NULLABLE, Person, partner_id, "persons", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Person, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship person_rels[] = {
	{ .name = "partner", .target = &person_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(Person, partner),
	  .size = sizeof(Person *), .fk_column = "partner_id", .flags = PGORM_REL_POST_UPDATE },
	PGORM_RELATIONSHIP_END
};
static const pgorm_column team_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Team, id),
	PGORM_COLUMN_FK(INT8, "captain_id", PGORM_NULLABLE, Team, captain_id, "members", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Team, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship team_rels[] = {
	{ .name = "captain", .target = &member_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(Team, captain),
	  .size = sizeof(Member *), .fk_column = "captain_id", .flags = PGORM_REL_POST_UPDATE },
	PGORM_ONE_TO_MANY("members", Team, members, &member_model, "team_id", "team", PGORM_CASCADE_ALL),
	PGORM_RELATIONSHIP_END
};
static const pgorm_column member_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Member, id),
	PGORM_COLUMN_FK(INT8, "team_id", PGORM_NULLABLE, Member, team_id, "teams", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Member, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship member_rels[] = {
	PGORM_MANY_TO_ONE("team", Member, team, &team_model, "team_id", "members"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model person_model = PGORM_MODEL("persons", Person, person_cols, person_rels);
const pgorm_model team_model = PGORM_MODEL("teams", Team, team_cols, team_rels);
const pgorm_model member_model = PGORM_MODEL("members", Member, member_cols, member_rels);

typedef struct Doc {
	pgorm_object hdr;
	int64_t id;
	char *body;
	int32_t version;
} Doc;
static const pgorm_column doc_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Doc, id),
	PGORM_COLUMN(TEXT, "body", 0, Doc, body),
	PGORM_COLUMN(INT4, "version", PGORM_VERSION, Doc, version),
	PGORM_COLUMN_END
};
static const pgorm_model doc_model = PGORM_MODEL("docs", Doc, doc_cols, NULL);

static pgorm_registry *reg;
static pgorm_conn *conn, *check;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .check = &check, .session = &s, .log = &log_ };

static void setup(void)
{
	const pgorm_model *models[] = { &aparent_model, &akid_model, &oparent_model, &okid_model, &person_model,
	                                &team_model, &member_model, &doc_model };
	pgtest_env_setup(&env, models, 8,
	                 "DROP TABLE IF EXISTS akids, aparents, okids, oparents, persons, teams, members, docs CASCADE",
	                 PGTEST_CREATE_ALL, NULL);
	s = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

static int64_t q(const char *sql) { return pgtest_int(check, sql); }

static void commit_ok(void)
{
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == 0, "commit: %d %s", rc, pgorm_session_error(s)->message);
}

static void *obj(const pgorm_model *m, const char *name)
{
	void *o = pgorm_object_new(s, m);
	ck_assert_ptr_nonnull(o);
	if (m == &aparent_model || m == &oparent_model)
		((Parent *)o)->name = pgorm_strdup(s, name);
	else
		((Kid *)o)->name = pgorm_strdup(s, name);
	return o;
}

static const pgorm_rel *rel(const pgorm_model *m, const char *name)
{
	const pgorm_rel *r = pgorm_registry_rel(reg, m, name);
	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(test_rel_replace)
{
	const pgorm_rel *kids = rel(&aparent_model, "kids");
	Parent *p = obj(&aparent_model, "p");
	Kid *a = obj(&akid_model, "a"), *b = obj(&akid_model, "b"), *c = obj(&akid_model, "c");
	pgorm_rel_append(s, kids, p, a);
	pgorm_rel_append(s, kids, p, b);
	pgorm_session_add(s, p);
	commit_ok();
	/* p.kids = [c, b] on an expired (unloaded) collection: loaded first */
	void *want[] = { c, b };
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_rel_replace(s, kids, p, want, 2), 0);
	ck_assert_uint_eq(p->kids.len, 2);
	ck_assert_ptr_eq(p->kids.items[0], c);
	ck_assert_ptr_eq(p->kids.items[1], b);
	ck_assert_ptr_null(a->parent);
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_PENDING);
	commit_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"akids\" SET \"parent_id\" = NULL"), 1); /* a only */
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"akids\""), 1);                     /* c */
	ck_assert_int_eq(q("SELECT count(*) FROM akids WHERE parent_id IS NULL AND name = 'a'"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM akids WHERE parent_id IS NOT NULL"), 2);
	/* the same list again: no statement */
	ck_assert_int_eq(pgorm_rel_load(s, kids, p, NULL), 0);
	void *same[] = { p->kids.items[0], p->kids.items[1] };
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_rel_replace(s, kids, p, same, 2), 0);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_uint_eq(log_.n, 0);
	/* bad input changes nothing */
	void *dup[] = { c, c };
	ck_assert_int_eq(pgorm_rel_replace(s, kids, p, dup, 2), PGORM_EINVAL);
	void *wrong[] = { p };
	ck_assert_int_eq(pgorm_rel_replace(s, kids, p, wrong, 1), PGORM_EINVAL);
	ck_assert_uint_eq(p->kids.len, 2);
	/* delete-orphan: a dropped member is deleted */
	const pgorm_rel *okids = rel(&oparent_model, "kids");
	Parent *op = obj(&oparent_model, "op");
	Kid *x = obj(&okid_model, "x"), *y = obj(&okid_model, "y");
	pgorm_rel_append(s, okids, op, x);
	pgorm_rel_append(s, okids, op, y);
	pgorm_session_add(s, op);
	commit_ok();
	void *only_y[] = { y };
	ck_assert_int_eq(pgorm_rel_replace(s, okids, op, only_y, 1), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM okids"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM okids WHERE name = 'y'"), 1);
}
END_TEST

START_TEST(test_expiry_and_state_queries)
{
	const pgorm_rel *kids = rel(&aparent_model, "kids");
	Parent *p = obj(&aparent_model, "p");
	Kid *a = obj(&akid_model, "a");
	ck_assert(!pgorm_session_contains(s, p));
	ck_assert(!pgorm_object_is_modified(p));
	pgorm_rel_append(s, kids, p, a);
	pgorm_session_add(s, p);
	ck_assert(pgorm_session_contains(s, p));
	ck_assert(pgorm_object_is_modified(p)); /* pending */
	commit_ok();
	ck_assert(!pgorm_object_is_modified(p));
	/* expire_all, then a query reloads */
	pgtest_exec(check, "UPDATE aparents SET name = 'renamed'");
	ck_assert_int_eq(pgorm_session_expire_all(s), 0);
	void *got = NULL;
	pgorm_value key = PGORM_INT8(p->id);
	ck_assert_int_eq(pgorm_session_get(s, &aparent_model, &key, &got), 0);
	ck_assert_str_eq(p->name, "renamed");
	/* is_modified sees a plain write */
	p->name = "mine";
	ck_assert(pgorm_object_is_modified(p));
	/* expire one attribute: its unflushed change is discarded, then refreshed */
	const char *name_attr[] = { "name" };
	ck_assert_int_eq(pgorm_session_refresh_attrs(s, p, name_attr, 1), 0);
	ck_assert_str_eq(p->name, "renamed");
	ck_assert(!pgorm_object_is_modified(p));
	/* a relationship by name */
	ck_assert_int_eq(pgorm_rel_load(s, kids, p, NULL), 0);
	const char *kids_attr[] = { "kids" };
	ck_assert_int_eq(pgorm_session_expire_attrs(s, p, kids_attr, 1), 0);
	ck_assert(!pgorm_rel_is_loaded(kids, p));
	ck_assert_uint_eq(p->kids.len, 0);
	ck_assert_int_eq(pgorm_session_refresh_attrs(s, p, kids_attr, 1), 0);
	ck_assert_uint_eq(p->kids.len, 1);
	const char *bad[] = { "nope" };
	ck_assert_int_eq(pgorm_session_expire_attrs(s, p, bad, 1), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "aparents has no column or relationship \"nope\""));
	/* marked for deletion vs deleted by a flush */
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	ck_assert(pgorm_object_is_marked_deleted(a));
	ck_assert(!pgorm_object_was_deleted(a));
	ck_assert(pgorm_session_contains(s, a));
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert(!pgorm_object_is_marked_deleted(a));
	ck_assert(pgorm_object_was_deleted(a));
	ck_assert_int_eq(pgorm_session_rollback(s), 0);      /* back */
	ck_assert(!pgorm_object_was_deleted(a));
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	commit_ok();
	ck_assert(pgorm_object_was_deleted(a));               /* stays true once detached */
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DETACHED);
	ck_assert(!pgorm_session_contains(s, a));
}
END_TEST

START_TEST(test_post_update_row_cycles)
{
	const pgorm_rel *partner = rel(&person_model, "partner");
	Person *a = pgorm_object_new(s, &person_model), *b = pgorm_object_new(s, &person_model);
	Person *self = pgorm_object_new(s, &person_model);
	a->name = "a";
	b->name = "b";
	self->name = "self";
	ck_assert_int_eq(pgorm_rel_set(s, partner, a, b), 0);
	ck_assert_int_eq(pgorm_rel_set(s, partner, b, a), 0);
	ck_assert_int_eq(pgorm_rel_set(s, partner, self, self), 0);
	pgorm_session_add(s, a);
	pgorm_session_add(s, self);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"persons\" SET \"partner_id\" = $1"), 3);
	ck_assert_int_eq(q("SELECT count(*) FROM persons p JOIN persons o ON o.id = p.partner_id AND o.partner_id = p.id"), 3);
	ck_assert_int_eq(a->partner_id, b->id);
	/* a team whose captain is a member: the team goes in first, its captain after */
	const pgorm_rel *captain = rel(&team_model, "captain"), *members = rel(&team_model, "members");
	Team *t = pgorm_object_new(s, &team_model);
	t->name = "t";
	Member *m1 = pgorm_object_new(s, &member_model), *m2 = pgorm_object_new(s, &member_model);
	m1->name = "m1";
	m2->name = "m2";
	pgorm_rel_append(s, members, t, m1);
	pgorm_rel_append(s, members, t, m2);
	ck_assert_int_eq(pgorm_rel_set(s, captain, t, m2), 0);
	pgorm_session_add(s, t);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM teams t JOIN members m ON m.id = t.captain_id AND m.team_id = t.id "
	                   "WHERE m.name = 'm2'"), 1);
	/* and they can all be deleted: the post_update keys are nulled first */
	ck_assert_int_eq(pgorm_session_delete(s, t), 0);      /* cascade all: the members go too */
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	ck_assert_int_eq(pgorm_session_delete(s, b), 0);
	ck_assert_int_eq(pgorm_session_delete(s, self), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM teams") + q("SELECT count(*) FROM members") + q("SELECT count(*) FROM persons"), 0);
}
END_TEST

/* Versioned rows are deleted by one statement over (key, version) pairs; a concurrent change
 * to any of them is PGORM_ESTALE and nothing is deleted. */
START_TEST(test_versioned_delete_batched)
{
	Doc *d[3];
	for (int i = 0; i < 3; i++) {
		d[i] = pgorm_object_new(s, &doc_model);
		d[i]->body = "x";
		pgorm_session_add(s, d[i]);
	}
	commit_ok();
	ck_assert_int_eq(d[0]->version, 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pgorm_session_delete(s, d[i]), 0);
	char sql[96];
	snprintf(sql, sizeof sql, "UPDATE docs SET version = version + 1 WHERE id = %lld", (long long)d[1]->id);
	pgtest_exec(check, sql);
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ESTALE);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"docs\""), 1);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM docs"), 3);
	void *got;
	pgorm_value k0 = PGORM_INT8(d[0]->id), k2 = PGORM_INT8(d[2]->id);
	ck_assert_int_eq(pgorm_session_get(s, &doc_model, &k0, &got), 0);
	ck_assert_int_eq(pgorm_session_get(s, &doc_model, &k2, &got), 0);
	ck_assert_int_eq(pgorm_session_delete(s, d[0]), 0);
	ck_assert_int_eq(pgorm_session_delete(s, d[2]), 0);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"docs\""), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM docs"), 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("api");
	TCase *tc = pgtest_tcase(su, "api", 60, setup, teardown);
	tcase_add_test(tc, test_rel_replace);
	tcase_add_test(tc, test_expiry_and_state_queries);
	tcase_add_test(tc, test_post_update_row_cycles);
	tcase_add_test(tc, test_versioned_delete_batched);
	return pgtest_run(su);
}
