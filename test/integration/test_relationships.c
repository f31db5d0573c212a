/* Integration tests: one-to-many / many-to-one relationships, bidirectional sync, cascades,
 * delete-orphan, one-to-one, self-reference, many-to-many, batched cascades, flush plan. */
#include "pgtest.h"

#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct Parent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} Parent;

typedef struct Child {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	Parent *parent;
} Child;

/* One parent/child pair of models per cascade configuration, each on its own tables. */
#define PAIR(sfx, _casc, _pass)                                                               \
	extern const pgorm_model parent_##sfx, child_##sfx;                                       \
	static const pgorm_column parent_cols_##sfx[] = {                                         \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),            \
		PGORM_COLUMN(TEXT, "name", 0, Parent, name), PGORM_COLUMN_END };                  \
	static const pgorm_relationship parent_rels_##sfx[] = {                                   \
		{ .name = "children", .target = &child_##sfx, .kind = PGORM_REL_ONE_TO_MANY,      \
		  .offset = offsetof(Parent, children), .size = sizeof(pgorm_collection),         \
		  .back_populates = "parent", .cascade = (_casc), .passive_deletes = (_pass), \
		  .order_by = "id" },                                                             \
		PGORM_RELATIONSHIP_END };                                                         \
	const pgorm_model parent_##sfx = PGORM_MODEL("parents_" #sfx, Parent, parent_cols_##sfx, parent_rels_##sfx); \
	static const pgorm_column child_cols_##sfx[] = {                                          \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),             \
		PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Child, parent_id, "parents_" #sfx, "id", PGORM_FK_NO_ACTION), \
		PGORM_COLUMN(TEXT, "name", 0, Child, name), PGORM_COLUMN_END };                   \
	static const pgorm_relationship child_rels_##sfx[] = {                                    \
		PGORM_MANY_TO_ONE("parent", Child, parent, &parent_##sfx, "parent_id", "children"), \
		PGORM_RELATIONSHIP_END };                                                         \
	const pgorm_model child_##sfx = PGORM_MODEL("children_" #sfx, Child, child_cols_##sfx, child_rels_##sfx);

PAIR(def, 0, PGORM_PASSIVE_OFF)
PAIR(del, PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN, PGORM_PASSIVE_OFF)
PAIR(orph, PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_DELETE_ORPHAN, PGORM_PASSIVE_OFF)
PAIR(pas, 0, PGORM_PASSIVE_ON)
PAIR(pall, 0, PGORM_PASSIVE_ALL)
PAIR(nn, 0, PGORM_PASSIVE_OFF)

static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .session = &s, .log = &log_ };
static const pgorm_rel *children, *parent;

static void make_tables(const char *sfx, const char *fk_extra, bool fk_not_null)
{
	char sql[512];
	snprintf(sql, sizeof sql, "CREATE TABLE parents_%s (id bigserial PRIMARY KEY, name text NOT NULL)", sfx);
	pgtest_exec(conn, sql);
	snprintf(sql, sizeof sql,
	         "CREATE TABLE children_%s (id bigserial PRIMARY KEY, parent_id bigint %s REFERENCES parents_%s(id) %s, "
	         "name text NOT NULL)", sfx, fk_not_null ? "NOT NULL" : "", sfx, fk_extra);
	pgtest_exec(conn, sql);
	snprintf(sql, sizeof sql, "CREATE INDEX ON children_%s (parent_id)", sfx);
	pgtest_exec(conn, sql);
}

static void setup(void)
{
	const pgorm_model *models[] = { &parent_def, &child_def, &parent_del, &child_del, &parent_orph, &child_orph,
	                                &parent_pas, &child_pas, &parent_pall, &child_pall, &parent_nn, &child_nn };
	pgtest_env_setup(&env, models, 12,
	                 "DROP TABLE IF EXISTS children_def, parents_def, children_del, parents_del, children_orph, "
	                 "parents_orph, children_pas, parents_pas, children_pall, parents_pall, children_nn, parents_nn",
	                 NULL);
	make_tables("def", "", false);
	make_tables("del", "", false);
	make_tables("orph", "", false);
	make_tables("pas", "ON DELETE CASCADE", false);
	make_tables("pall", "", false);
	make_tables("nn", "", true);
	s = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

static void use(const pgorm_model *pm)
{
	children = pgorm_registry_rel(reg, pm, "children");
	ck_assert_ptr_nonnull(children);
	parent = pgorm_rel_partner(children);
	ck_assert_ptr_nonnull(parent);
}

static Parent *P(const pgorm_model *m, const char *name)
{
	Parent *p = pgorm_object_new(s, m);
	ck_assert_ptr_nonnull(p);
	p->name = pgorm_strdup(s, name);
	return p;
}

static Child *C(const pgorm_model *m, const char *name)
{
	Child *c = pgorm_object_new(s, m);
	ck_assert_ptr_nonnull(c);
	c->name = pgorm_strdup(s, name);
	return c;
}

static int64_t q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t q(const char *fmt, ...)
{
	char sql[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return pgtest_int(conn, sql);
}

/* The reference scenario of DESIGN.md §1 with delete + delete-orphan. */
START_TEST(test_reference_scenario)
{
	use(&parent_del);
	Parent *p = P(&parent_del, "p1");
	Child *a = C(&child_del, "a"), *b = C(&child_del, "b");
	ck_assert_int_eq(pgorm_rel_append(s, children, p, a), 0);
	ck_assert_ptr_eq(a->parent, p);                      /* back_populates, at once */
	ck_assert_int_eq(pgorm_rel_set(s, parent, b, p), 0);
	ck_assert_uint_eq(p->children.len, 2);               /* b appears at once */
	ck_assert_ptr_eq(p->children.items[1], b);
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PENDING); /* save-update cascade */
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(a->parent_id, p->id);
	ck_assert_int_eq(q("SELECT count(*) FROM children_del WHERE parent_id = %lld", (long long)p->id), 2);
	/* statements: parent insert before child insert */
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"parents_del\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"children_del\""), 1); /* one batch for both */

	ck_assert_int_eq(pgorm_rel_load(s, children, p, NULL), 0); /* expired at commit: reload */
	ck_assert_uint_eq(p->children.len, 2);
	ck_assert_int_eq(pgorm_rel_remove(s, children, p, a), 0);
	ck_assert_ptr_null(a->parent);
	ck_assert_int_eq(pgorm_session_delete(s, p), 0);
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM children_del"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM parents_del"), 0);
	/* children deleted before the parent */
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"children_del\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"parents_del\""), 1);
	size_t ic = 0, ip = 0;
	for (size_t i = 0; i < log_.n; i++) {
		if (strstr(log_.sql[i], "DELETE FROM \"children_del\"")) ic = i;
		if (strstr(log_.sql[i], "DELETE FROM \"parents_del\"")) ip = i;
	}
	ck_assert_uint_lt(ic, ip);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DETACHED);
}
END_TEST

START_TEST(test_remove_nulls_fk_by_default)
{
	use(&parent_def);
	Parent *p = P(&parent_def, "p");
	Child *a = C(&child_def, "a"), *b = C(&child_def, "b");
	pgorm_rel_append(s, children, p, a);
	pgorm_rel_append(s, children, p, b);
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p, NULL), 0);
	ck_assert_int_eq(pgorm_rel_remove(s, children, p, a), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM children_def WHERE parent_id IS NULL AND name = 'a'"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM children_def"), 2);
}
END_TEST

START_TEST(test_remove_then_reparent_is_not_nulled)
{
	use(&parent_orph);
	Parent *p1 = P(&parent_orph, "p1"), *p2 = P(&parent_orph, "p2");
	Child *a = C(&child_orph, "a");
	pgorm_rel_append(s, children, p1, a);
	pgorm_session_add(s, p1);
	pgorm_session_add(s, p2);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p1, NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p2, NULL), 0);
	ck_assert_int_eq(pgorm_rel_remove(s, children, p1, a), 0);
	ck_assert_int_eq(pgorm_rel_append(s, children, p2, a), 0); /* re-parented before flush */
	ck_assert_uint_eq(p1->children.len, 0);
	ck_assert_uint_eq(p2->children.len, 1);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM children_orph WHERE parent_id = %lld", (long long)p2->id), 1);
}
END_TEST

START_TEST(test_delete_orphan)
{
	use(&parent_orph);
	Parent *p = P(&parent_orph, "p");
	Child *a = C(&child_orph, "a"), *b = C(&child_orph, "b");
	pgorm_rel_append(s, children, p, a);
	pgorm_rel_append(s, children, p, b);
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p, NULL), 0);
	ck_assert_int_eq(pgorm_rel_remove(s, children, p, a), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM children_orph"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM children_orph WHERE name = 'b'"), 1);
}
END_TEST

START_TEST(test_move_between_parents)
{
	use(&parent_def);
	Parent *p1 = P(&parent_def, "p1"), *p2 = P(&parent_def, "p2");
	Child *a = C(&child_def, "a");
	pgorm_rel_append(s, children, p1, a);
	pgorm_rel_set(s, parent, a, p2);
	ck_assert_uint_eq(p1->children.len, 0);
	ck_assert_uint_eq(p2->children.len, 1);
	pgorm_rel_append(s, children, p1, a);
	ck_assert_uint_eq(p1->children.len, 1);
	ck_assert_uint_eq(p2->children.len, 0);
	ck_assert_ptr_eq(a->parent, p1);
	pgorm_session_add(s, p1);
	pgorm_session_add(s, p2);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT parent_id FROM children_def"), p1->id);
}
END_TEST

START_TEST(test_unloaded_collection_queues)
{
	use(&parent_def);
	Parent *p = P(&parent_def, "p");
	pgorm_rel_append(s, children, p, C(&child_def, "a"));
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);     /* expires p: collection unloaded */
	ck_assert(!pgorm_rel_is_loaded(children, p));
	Child *b = C(&child_def, "b");
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_rel_set(s, parent, b, p), 0); /* queued, no SQL */
	ck_assert_uint_eq(log_.n, 0);
	ck_assert_int_eq(pgorm_session_add(s, b), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p, NULL), 0);
	ck_assert_uint_eq(p->children.len, 2);             /* loaded row + queued b */
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM children_def WHERE parent_id = %lld", (long long)p->id), 2);
}
END_TEST

START_TEST(test_delete_parent_default_nulls_children)
{
	use(&parent_def);
	Parent *p = P(&parent_def, "p");
	for (int i = 0; i < 3; i++)
		pgorm_rel_append(s, children, p, C(&child_def, "c"));
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	/* the collection is unloaded (expired): delete loads it and nulls the FKs */
	ck_assert_int_eq(pgorm_session_delete(s, p), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM children_def WHERE parent_id IS NULL"), 3);
	ck_assert_int_eq(q("SELECT count(*) FROM parents_def"), 0);
}
END_TEST

START_TEST(test_delete_parent_not_null_fk_fails)
{
	use(&parent_nn);
	Parent *p = P(&parent_nn, "p");
	pgorm_rel_append(s, children, p, C(&child_nn, "c"));
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_session_delete(s, p), 0);
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "23502");
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM parents_nn"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM children_nn WHERE parent_id IS NOT NULL"), 1);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PERSISTENT);
}
END_TEST

START_TEST(test_passive_deletes)
{
	use(&parent_pas);
	Parent *p = P(&parent_pas, "p");
	for (int i = 0; i < 3; i++)
		pgorm_rel_append(s, children, p, C(&child_pas, "c"));
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_delete(s, p), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	/* no child SQL for unloaded children: ON DELETE CASCADE did it */
	ck_assert_uint_eq(pgtest_log_count(&log_, "children_pas"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM children_pas"), 0);

	use(&parent_pall);
	Parent *p2 = P(&parent_pall, "p");
	pgorm_rel_append(s, children, p2, C(&child_pall, "c"));
	pgorm_session_add(s, p2);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p2, NULL), 0); /* even loaded: never nulled */
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_delete(s, p2), 0);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ECONSTRAINT); /* FK violation: by design */
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"children_pall\""), 0);
	pgorm_session_rollback(s);
}
END_TEST

START_TEST(test_fk_column_set_directly)
{
	use(&parent_def);
	Parent *p1 = P(&parent_def, "p1"), *p2 = P(&parent_def, "p2");
	Child *a = C(&child_def, "a");
	pgorm_rel_append(s, children, p1, a);
	pgorm_session_add(s, p1);
	pgorm_session_add(s, p2);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p1, NULL), 0);
	a->parent_id = p2->id;              /* the column, not the relationship */
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_ptr_eq(a->parent, p1);    /* in-memory relationship untouched */
	ck_assert_uint_eq(p1->children.len, 1);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(q("SELECT parent_id FROM children_def"), p2->id);
}
END_TEST

START_TEST(test_deleted_child_stays_until_commit)
{
	use(&parent_def);
	Parent *p = P(&parent_def, "p");
	Child *a = C(&child_def, "a");
	pgorm_rel_append(s, children, p, a);
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_uint_eq(p->children.len, 1);     /* still shown, like SQLAlchemy */
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_uint_eq(p->children.len, 0);     /* gone at commit */
	ck_assert_int_eq(q("SELECT count(*) FROM children_def"), 0);
}
END_TEST

START_TEST(test_cascade_batched)
{
	use(&parent_del);
	Parent *p = P(&parent_del, "big");
	for (int i = 0; i < 10000; i++)
		pgorm_rel_append(s, children, p, C(&child_del, "c"));
	pgorm_session_add(s, p);
	pgorm_stats st0, st1;
	pgorm_session_stats(s, &st0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgorm_session_stats(s, &st1);
	ck_assert_uint_le(st1.inserts - st0.inserts, 11);
	int64_t pid = p->id;
	pgorm_session_destroy(s);       /* a fresh session: nothing loaded */
	ck_assert_int_eq(pgorm_session_create(&s, reg, NULL, conn, NULL, NULL), 0);
	void *got;
	pgorm_value pk = PGORM_INT8(pid);
	ck_assert_int_eq(pgorm_session_get(s, &parent_del, &pk, &got), 0);
	pgorm_session_stats(s, &st0);
	ck_assert_int_eq(pgorm_session_delete(s, got), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgorm_session_stats(s, &st1);
	uint64_t stmts = (st1.selects + st1.inserts + st1.updates + st1.deletes) -
	                 (st0.selects + st0.inserts + st0.updates + st0.deletes);
	ck_assert_uint_le(stmts, 4);    /* load children (1) + delete children (1) + delete parent (1) */
	ck_assert_int_eq(q("SELECT count(*) FROM children_del"), 0);
}
END_TEST

/* Nulling the FKs of 10,000 children of a deleted parent is one UPDATE, not 10,000. */
START_TEST(test_issue_fk_nulling_batched)
{
	use(&parent_def);
	Parent *p = P(&parent_def, "big");
	for (int i = 0; i < 10000; i++)
		pgorm_rel_append(s, children, p, C(&child_def, "c"));
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgorm_stats st0, st1;
	pgorm_session_stats(s, &st0);
	ck_assert_int_eq(pgorm_session_delete(s, p), 0);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgorm_session_stats(s, &st1);
	ck_assert_uint_eq(st1.updates - st0.updates, 1);
	ck_assert_uint_eq(st1.selects - st0.selects, 1);
	ck_assert_uint_eq(st1.deletes - st0.deletes, 1);
	ck_assert_int_eq(q("SELECT count(*) FROM children_def WHERE parent_id IS NULL"), 10000);
	ck_assert_int_eq(q("SELECT count(*) FROM parents_def"), 0);
}
END_TEST

/* A new child attached to a parent that is deleted in the same flush is inserted with a NULL
 * key (default cascade) instead of failing on the foreign key; with delete cascade it is not
 * inserted at all. */
START_TEST(test_issue_new_child_of_deleted_parent)
{
	use(&parent_def);
	Parent *p = P(&parent_def, "p");
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p, NULL), 0);
	Child *c = C(&child_def, "late");
	ck_assert_int_eq(pgorm_rel_append(s, children, p, c), 0);   /* pending through the cascade */
	ck_assert_int_eq(pgorm_session_delete(s, p), 0);
	ck_assert_msg(pgorm_session_commit(s) == 0, "%s", pgorm_session_error(s)->message);
	ck_assert_int_eq(q("SELECT count(*) FROM children_def WHERE name = 'late' AND parent_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM parents_def"), 0);

	use(&parent_del);
	Parent *p2 = P(&parent_del, "p2");
	pgorm_session_add(s, p2);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, p2, NULL), 0);
	Child *c2 = C(&child_del, "gone");
	ck_assert_int_eq(pgorm_rel_append(s, children, p2, c2), 0);
	ck_assert_int_eq(pgorm_session_delete(s, p2), 0);
	ck_assert_msg(pgorm_session_commit(s) == 0, "%s", pgorm_session_error(s)->message);
	ck_assert_int_eq(q("SELECT count(*) FROM children_del"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM parents_del"), 0);
}
END_TEST

START_TEST(test_flush_plan)
{
	use(&parent_del);
	Parent *p = P(&parent_del, "p");
	pgorm_rel_append(s, children, p, C(&child_del, "a"));
	pgorm_session_add(s, p);
	char *plan = NULL;
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_plan(s, &plan), 0);
	ck_assert_uint_eq(log_.n, 0);  /* nothing sent */
	ck_assert_ptr_nonnull(plan);
	char *ip = strstr(plan, "INSERT INTO \"parents_del\""), *ic = strstr(plan, "INSERT INTO \"children_del\"");
	ck_assert_ptr_nonnull(ip);
	ck_assert_ptr_nonnull(ic);
	ck_assert(ip < ic);
	ck_assert_ptr_nonnull(strstr(plan, "after parents_del (FK parent_id)"));
	pgorm_free(plan);
	ck_assert_int_eq(pgorm_object_state(p), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("relationships");
	TCase *tc = pgtest_tcase(su, "one_to_many", 120, setup, teardown);
	tcase_add_test(tc, test_reference_scenario);
	tcase_add_test(tc, test_remove_nulls_fk_by_default);
	tcase_add_test(tc, test_remove_then_reparent_is_not_nulled);
	tcase_add_test(tc, test_delete_orphan);
	tcase_add_test(tc, test_move_between_parents);
	tcase_add_test(tc, test_unloaded_collection_queues);
	tcase_add_test(tc, test_delete_parent_default_nulls_children);
	tcase_add_test(tc, test_delete_parent_not_null_fk_fails);
	tcase_add_test(tc, test_passive_deletes);
	tcase_add_test(tc, test_fk_column_set_directly);
	tcase_add_test(tc, test_deleted_child_stays_until_commit);
	tcase_add_test(tc, test_cascade_batched);
	tcase_add_test(tc, test_flush_plan);
	tcase_add_test(tc, test_issue_fk_nulling_batched);
	tcase_add_test(tc, test_issue_new_child_of_deleted_parent);
	return pgtest_run(su);
}
