/* Integration tests: session, identity map and unit of work on single tables. */
#include "pgtest.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct Item {
	pgorm_object hdr;
	int64_t id;
	char *name;
	int32_t qty;
	double price;
	char *note;          /* nullable */
} Item;

static const pgorm_column item_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Item, id),
	PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, Item, name),
	PGORM_COLUMN(INT4, "qty", 0, Item, qty),
	PGORM_COLUMN(FLOAT8, "price", 0, Item, price),
	PGORM_COLUMN(TEXT, "note", PGORM_NULLABLE, Item, note),
	PGORM_COLUMN_END
};
static const pgorm_model item_model = PGORM_MODEL("items", Item, item_cols, NULL);

typedef struct Versioned {
	pgorm_object hdr;
	int32_t id;
	char *body;
	int32_t version;
} Versioned;

static const pgorm_column ver_cols[] = {
	PGORM_COLUMN(INT4, "id", PGORM_PK, Versioned, id),
	PGORM_COLUMN(TEXT, "body", 0, Versioned, body),
	PGORM_COLUMN(INT4, "version", PGORM_VERSION, Versioned, version),
	PGORM_COLUMN_END
};
static const pgorm_model ver_model = PGORM_MODEL("versioned", Versioned, ver_cols, NULL);

/* Every supported column type, each nullable, plus a composite primary key. */
typedef struct AllTypes {
	pgorm_object hdr;
	int32_t k1;
	char *k2;
	bool b;
	int16_t i2;
	int32_t i4;
	int64_t i8;
	float f4;
	double f8;
	char *t;
	pgorm_bytes by;
	char *num;
	int32_t d;
	int64_t ts;
	int64_t tstz;
	pgorm_uuid u;
	char *js;
	char *jsb;
} AllTypes;

static const pgorm_column all_cols[] = {
	PGORM_COLUMN(INT4, "k1", PGORM_PK, AllTypes, k1),
	PGORM_COLUMN(TEXT, "k2", PGORM_PK, AllTypes, k2),
	PGORM_COLUMN(BOOL, "b", PGORM_NULLABLE, AllTypes, b),
	PGORM_COLUMN(INT2, "i2", PGORM_NULLABLE, AllTypes, i2),
	PGORM_COLUMN(INT4, "i4", PGORM_NULLABLE, AllTypes, i4),
	PGORM_COLUMN(INT8, "i8", PGORM_NULLABLE, AllTypes, i8),
	PGORM_COLUMN(FLOAT4, "f4", PGORM_NULLABLE, AllTypes, f4),
	PGORM_COLUMN(FLOAT8, "f8", PGORM_NULLABLE, AllTypes, f8),
	PGORM_COLUMN(TEXT, "t", PGORM_NULLABLE, AllTypes, t),
	PGORM_COLUMN(BYTEA, "by", PGORM_NULLABLE, AllTypes, by),
	PGORM_COLUMN(NUMERIC, "num", PGORM_NULLABLE, AllTypes, num),
	PGORM_COLUMN(DATE, "d", PGORM_NULLABLE, AllTypes, d),
	PGORM_COLUMN(TIMESTAMP, "ts", PGORM_NULLABLE, AllTypes, ts),
	PGORM_COLUMN(TIMESTAMPTZ, "tstz", PGORM_NULLABLE, AllTypes, tstz),
	PGORM_COLUMN(UUID, "u", PGORM_NULLABLE, AllTypes, u),
	PGORM_COLUMN(JSON, "js", PGORM_NULLABLE, AllTypes, js),
	PGORM_COLUMN(JSONB, "jsb", PGORM_NULLABLE, AllTypes, jsb),
	PGORM_COLUMN_END
};
static const pgorm_model all_model = PGORM_MODEL("alltypes", AllTypes, all_cols, NULL);

static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_session *sess;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .session = &sess, .log = &log_ };

static void setup(void)
{
	const pgorm_model *models[] = { &item_model, &ver_model, &all_model };
	pgtest_env_setup(&env, models, 3, "DROP TABLE IF EXISTS items, versioned, alltypes", PGTEST_CREATE_ALL,
	                 "DROP TABLE items, versioned",
	                 "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, "
	                 "qty integer NOT NULL, price double precision NOT NULL, note text)",
	                 "CREATE TABLE versioned (id integer PRIMARY KEY, body text NOT NULL, version integer NOT NULL)",
	                 NULL);
	sess = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

static Item *new_item(const char *name, int qty)
{
	Item *it = pgorm_object_new(sess, &item_model);
	ck_assert_ptr_nonnull(it);
	it->name = pgorm_strdup(sess, name);
	ck_assert_int_eq(PGORM_SET(it, qty, qty), 0); /* 0 too (model.h: never-assigned columns) */
	ck_assert_int_eq(PGORM_SET(it, price, qty * 1.5), 0);
	return it;
}

START_TEST(test_insert_get_update_delete)
{
	Item *a = new_item("apple", 3);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_TRANSIENT);
	ck_assert(pgorm_object_is_null(a, "note"));
	ck_assert_int_eq(pgorm_session_add(sess, a), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_int_gt(a->id, 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM items WHERE name = 'apple' AND qty = 3 AND note IS NULL"), 1);

	/* identity map: get of a loaded, unexpired object issues nothing */
	void *got = NULL;
	pgorm_value pk = PGORM_INT8(a->id);
	ck_assert_int_eq(pgorm_session_get(sess, &item_model, &pk, &got), 0); /* expired at commit: one SELECT */
	ck_assert_ptr_eq(got, a);
	pgorm_stats st0, st1;
	pgorm_session_stats(sess, &st0);
	ck_assert_int_eq(pgorm_session_get(sess, &item_model, &pk, &got), 0);
	pgorm_session_stats(sess, &st1);
	ck_assert_ptr_eq(got, a);
	ck_assert_uint_eq(st1.selects, st0.selects);

	/* update: only the changed column */
	pgtest_log_clear(&log_);
	a->qty = 7;
	ck_assert_int_eq(pgorm_object_set_null(a, "note", false), 0);
	a->note = "ripe";
	ck_assert_int_eq(pgorm_session_flush(sess), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "\"qty\" = $1, \"note\" = $2"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "\"name\""), 0);
	/* nothing changed: no statement */
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_flush(sess), 0);
	ck_assert_uint_eq(log_.n, 0);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT qty FROM items WHERE name = 'apple' AND note = 'ripe'"), 7);

	ck_assert_int_eq(pgorm_session_delete(sess, a), 0);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM items"), 0);
}
END_TEST

START_TEST(test_bulk_insert_round_trips)
{
	char name[32];
	Item *items[10000];
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "item%05d", i);
		items[i] = new_item(name, i);
		ck_assert_int_eq(pgorm_session_add(sess, items[i]), 0);
	}
	pgorm_conn_stats c0, c1;
	pgorm_conn_stats_get(conn, &c0);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	pgorm_conn_stats_get(conn, &c1);
	ck_assert_uint_le(c1.round_trips - c0.round_trips, 20);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM items"), 10000);
	for (int i = 0; i < 10000; i += 997) {
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT qty FROM items WHERE id = %lld", (long long)items[i]->id);
		ck_assert_int_eq(pgtest_int(conn, sql), i);
	}
}
END_TEST

START_TEST(test_unique_violation_rolls_back)
{
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i % 4); /* n0 twice */
		ck_assert_int_eq(pgorm_session_add(sess, new_item(name, i)), 0);
	}
	int rc = pgorm_session_commit(sess);
	ck_assert_int_eq(rc, PGORM_ECONSTRAINT);
	const pgorm_error *e = pgorm_session_error(sess);
	ck_assert_str_eq(e->sqlstate, "23505");
	ck_assert_str_eq(e->constraint, "items_name_key");
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM items"), 0);
	/* only rollback is accepted now */
	ck_assert_int_eq(pgorm_session_add(sess, new_item("x", 1)), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_flush(sess), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_rollback(sess), 0);
	/* corrected second flush */
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		ck_assert_int_eq(pgorm_session_add(sess, new_item(name, i)), 0);
	}
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM items"), 4);
}
END_TEST

START_TEST(test_stale_version)
{
	Versioned *v = pgorm_object_new(sess, &ver_model);
	v->id = 1;
	v->body = "a";
	v->version = 1;
	ck_assert_int_eq(pgorm_session_add(sess, v), 0);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	void *got;
	pgorm_value pk = PGORM_INT4(1);
	ck_assert_int_eq(pgorm_session_get(sess, &ver_model, &pk, &got), 0);
	v->body = "b";
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_int_eq(v->version, 2);
	ck_assert_int_eq(pgtest_int(conn, "SELECT version FROM versioned"), 2);
	/* a second connection changes the row behind our back */
	pgorm_conn *other = pgtest_connect();
	pgtest_exec(other, "UPDATE versioned SET body = 'z', version = version + 1");
	pgorm_conn_close(other);
	v->body = "c";
	ck_assert_int_eq(pgorm_session_commit(sess), PGORM_ESTALE);
	ck_assert_int_eq(pgorm_session_rollback(sess), 0);
	ck_assert_str_eq(pgtest_text(conn, "SELECT body FROM versioned"), "z");
}
END_TEST

START_TEST(test_bad_input)
{
	ck_assert_int_eq(pgorm_session_add(sess, NULL), PGORM_EINVAL);
	Item *t = new_item("t", 1);
	ck_assert_int_eq(pgorm_session_delete(sess, t), PGORM_ESTATE); /* transient */
	pgorm_session *other;
	ck_assert_int_eq(pgorm_session_create(&other, reg, NULL, conn, NULL, NULL), 0);
	ck_assert_int_eq(pgorm_session_add(other, t), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(other)->message, "another session"));
	pgorm_session_destroy(other);
	ck_assert_int_eq(pgorm_object_set_null(t, "name", true), PGORM_EINVAL); /* NOT NULL */
	ck_assert_int_eq(pgorm_object_set_null(t, "nope", true), PGORM_EINVAL);
	pgorm_value wrong = PGORM_TEXT("1");
	void *got;
	ck_assert_int_eq(pgorm_session_get(sess, &item_model, &wrong, &got), PGORM_ETYPE);
	pgorm_value missing = PGORM_INT8(424242);
	ck_assert_int_eq(pgorm_session_get(sess, &item_model, &missing, &got), PGORM_ENOTFOUND);
	ck_assert_ptr_null(got);
}
END_TEST

START_TEST(test_rollback_restores)
{
	Item *a = new_item("keep", 1), *b = new_item("gone", 2);
	pgorm_session_add(sess, a);
	pgorm_session_add(sess, b);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_int_eq(pgorm_session_delete(sess, a), 0);
	Item *c = new_item("new", 3);
	pgorm_session_add(sess, c);
	ck_assert_int_eq(pgorm_session_flush(sess), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DELETED);
	ck_assert_int_eq(pgorm_session_rollback(sess), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM items"), 2);
	void *got;
	pgorm_value pk = PGORM_INT8(a->id);
	ck_assert_int_eq(pgorm_session_get(sess, &item_model, &pk, &got), 0);
	ck_assert_ptr_eq(got, a);
}
END_TEST

START_TEST(test_all_types_composite_key)
{
	static const uint8_t blob[] = { 0, 1, 2, 255 };
	AllTypes *a = pgorm_object_new(sess, &all_model);
	a->k1 = 7;
	a->k2 = "key é";
	const char *cols[] = { "b", "i2", "i4", "i8", "f4", "f8", "t", "by", "num", "d", "ts", "tstz", "u", "js", "jsb" };
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
		ck_assert_int_eq(pgorm_object_set_null(a, cols[i], false), 0);
	a->b = true;
	a->i2 = -32768;
	a->i4 = 2147483647;
	a->i8 = INT64_MIN;
	a->f4 = 1.5f;
	a->f8 = -0.1;
	a->t = "naïve ☃";
	a->by = (pgorm_bytes){ (uint8_t *)blob, sizeof blob };
	a->num = "-12345678901234567890.000123";
	a->d = 9132;                       /* 2025-01-01 */
	a->ts = 86400000000LL;             /* 2000-01-02 00:00:00 */
	a->tstz = -1;
	for (int i = 0; i < 16; i++)
		a->u.bytes[i] = (uint8_t)(i * 17);
	a->js = "{\"a\": [1, 2]}";
	a->jsb = "{\"b\": null}";
	AllTypes *n = pgorm_object_new(sess, &all_model); /* every nullable column NULL */
	n->k1 = 7;
	n->k2 = "other";
	ck_assert_int_eq(pgorm_session_add(sess, a), 0);
	ck_assert_int_eq(pgorm_session_add(sess, n), 0);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_str_eq(pgtest_text(conn, "SELECT concat_ws('|', b, i2, i4, i8, f4, f8, t, encode(by, 'hex'), num, d, ts, "
	                                   "u, js, jsb) FROM alltypes WHERE k2 = 'key é'"),
	                 "t|-32768|2147483647|-9223372036854775808|1.5|-0.1|naïve ☃|000102ff|"
	                 "-12345678901234567890.000123|2025-01-01|2000-01-02 00:00:00|00112233-4455-6677-8899-aabbccddeeff|"
	                 "{\"a\": [1, 2]}|{\"b\": null}");
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM alltypes WHERE k2 = 'other' AND num IS NULL AND b IS NULL "
	                                  "AND by IS NULL AND u IS NULL AND jsb IS NULL AND ts IS NULL"), 1);
	/* read back in a fresh session by composite key */
	pgorm_session *s2;
	ck_assert_int_eq(pgorm_session_create(&s2, reg, NULL, conn, NULL, NULL), 0);
	pgorm_value pk[] = { PGORM_INT4(7), PGORM_TEXT("key é") };
	void *got;
	ck_assert_int_eq(pgorm_session_get(s2, &all_model, pk, &got), 0);
	AllTypes *g = got;
	ck_assert(g->b);
	ck_assert_int_eq(g->i2, -32768);
	ck_assert_int_eq(g->i8, INT64_MIN);
	ck_assert(g->f8 == -0.1);
	ck_assert_str_eq(g->t, "naïve ☃");
	ck_assert_uint_eq(g->by.len, 4);
	ck_assert_int_eq(memcmp(g->by.data, blob, 4), 0);
	ck_assert_str_eq(g->num, "-12345678901234567890.000123");
	ck_assert_int_eq(g->d, 9132);
	ck_assert_int_eq(g->ts, 86400000000LL);
	ck_assert_int_eq(g->tstz, -1);
	ck_assert_int_eq(g->u.bytes[15], 255);
	ck_assert_str_eq(g->jsb, "{\"b\": null}");
	ck_assert(!pgorm_object_is_null(g, "num"));
	pgorm_value pk2[] = { PGORM_INT4(7), PGORM_TEXT("other") };
	ck_assert_int_eq(pgorm_session_get(s2, &all_model, pk2, &got), 0);
	ck_assert(pgorm_object_is_null(got, "num"));
	ck_assert(pgorm_object_is_null(got, "u"));
	/* update one column through the composite key, set another to NULL */
	g->i4 = 1;
	ck_assert_int_eq(pgorm_object_set_null(g, "t", true), 0);
	ck_assert_int_eq(pgorm_session_commit(s2), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM alltypes WHERE k1 = 7 AND k2 = 'key é' AND i4 = 1 AND t IS NULL"), 1);
	ck_assert_int_eq(pgorm_session_delete(s2, got), 0);
	ck_assert_int_eq(pgorm_session_commit(s2), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM alltypes"), 1);
	pgorm_session_destroy(s2);
}
END_TEST

/* A column written after commit (the object is expired) survives a query that reloads the
 * row, and reaches the database at the next flush; populate-existing overwrites it. */
START_TEST(test_issue_expired_changes_survive_reload)
{
	Item *a = new_item("kept", 1);
	ck_assert_int_eq(pgorm_session_add(sess, a), 0);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);       /* a is expired now */
	a->qty = 42;                                            /* written while expired */
	pgtest_exec(conn, "UPDATE items SET price = 9.5 WHERE name = 'kept'"); /* another writer */
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	(void)cfg;
	pgorm_query *q;
	ck_assert_int_eq(pgorm_query_create(&q, sess, &item_model), 0);
	pgorm_query_filter(q, "name", "=", PGORM_TEXT("kept"));
	void *got;
	ck_assert_int_eq(pgorm_query_one(q, &got), 0);          /* autoflush first: qty = 42 is written */
	pgorm_query_destroy(q);
	ck_assert_ptr_eq(got, a);
	ck_assert_int_eq(a->qty, 42);
	ck_assert(a->price == 9.5);                            /* the untouched column was reloaded */
	ck_assert_int_eq(pgorm_session_commit(sess), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT qty FROM items WHERE name = 'kept'"), 42);

	/* without autoflush the change is still kept across the reload, then flushed */
	pgorm_session *s2;
	pgorm_session_config c2 = PGORM_SESSION_CONFIG_INIT;
	c2.autoflush = false;
	ck_assert_int_eq(pgorm_session_create(&s2, reg, NULL, conn, &c2, NULL), 0);
	ck_assert_int_eq(pgorm_query_create(&q, s2, &item_model), 0);
	pgorm_query_filter(q, "name", "=", PGORM_TEXT("kept"));
	ck_assert_int_eq(pgorm_query_one(q, &got), 0);
	pgorm_query_destroy(q);
	ck_assert_int_eq(pgorm_session_commit(s2), 0);          /* expired */
	Item *b = got;
	b->qty = 7;
	ck_assert_int_eq(pgorm_query_create(&q, s2, &item_model), 0);
	pgorm_query_filter(q, "name", "=", PGORM_TEXT("kept"));
	ck_assert_int_eq(pgorm_query_one(q, &got), 0);
	pgorm_query_destroy(q);
	ck_assert_int_eq(b->qty, 7);
	ck_assert_int_eq(pgorm_session_flush(s2), 0);
	ck_assert_int_eq(pgorm_session_commit(s2), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT qty FROM items WHERE name = 'kept'"), 7);
	/* populate-existing overwrites a pending change, as SQLAlchemy's does */
	b->qty = 100;
	ck_assert_int_eq(pgorm_query_create(&q, s2, &item_model), 0);
	pgorm_query_filter(q, "name", "=", PGORM_TEXT("kept"));
	pgorm_query_populate_existing(q, true);
	ck_assert_int_eq(pgorm_query_one(q, &got), 0);
	pgorm_query_destroy(q);
	ck_assert_int_eq(b->qty, 7);
	pgorm_session_destroy(s2);
}
END_TEST

static void *other_thread(void *arg)
{
	static int rc;
	rc = pgorm_session_flush(arg);
	return &rc;
}

START_TEST(test_second_thread_rejected)
{
	Item *a = new_item("t1", 1);
	ck_assert_int_eq(pgorm_session_add(sess, a), 0);
	ck_assert_int_eq(pgorm_session_flush(sess), 0); /* this thread opened the transaction */
	pthread_t th;
	void *res;
	ck_assert_int_eq(pthread_create(&th, NULL, other_thread, sess), 0);
	pthread_join(th, &res);
	ck_assert_int_eq(*(int *)res, PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_commit(sess), 0);  /* the owner goes on */
	ck_assert_int_eq(pthread_create(&th, NULL, other_thread, sess), 0); /* between transactions: fine */
	pthread_join(th, &res);
	ck_assert_int_eq(*(int *)res, 0);
}
END_TEST

/* pgorm_session_plan is a dry run: the FK fields it computes from changed links are put
 * back in the user's structs (it used to leave the new parent's key there). */
typedef struct PlanParent { pgorm_object hdr; int64_t id; pgorm_collection kids; } PlanParent;
typedef struct PlanChild { pgorm_object hdr; int64_t id; int64_t pid; PlanParent *parent; } PlanChild;
extern const pgorm_model plan_parent_model, plan_child_model;
static const pgorm_column plan_parent_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, PlanParent, id),
	PGORM_COLUMN_END
};
static const pgorm_relationship plan_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", PlanParent, kids, &plan_child_model, "pid", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model plan_parent_model = PGORM_MODEL("plan_parents", PlanParent, plan_parent_cols, plan_parent_rels);
static const pgorm_column plan_child_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, PlanChild, id),
	PGORM_COLUMN_FK(INT8, "pid", PGORM_NULLABLE, PlanChild, pid, "plan_parents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
static const pgorm_relationship plan_child_rels[] = {
	PGORM_MANY_TO_ONE("parent", PlanChild, parent, &plan_parent_model, "pid", "kids"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model plan_child_model = PGORM_MODEL("plan_children", PlanChild, plan_child_cols, plan_child_rels);

START_TEST(test_issue_plan_keeps_fks)
{
	const pgorm_model *models[] = { &plan_parent_model, &plan_child_model };
	pgorm_registry *r2;
	pgorm_session *s2;
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&r2, models, 2, &err) == 0, "%s", err.message);
	ck_assert_int_eq(pgorm_registry_drop_all(r2, conn), 0);
	ck_assert_int_eq(pgorm_registry_create_all(r2, conn, false), 0);
	ck_assert_int_eq(pgorm_session_create(&s2, r2, NULL, conn, NULL, &err), 0);
	const pgorm_rel *parent = pgorm_registry_rel(r2, &plan_child_model, "parent");
	PlanParent *p1 = pgorm_object_new(s2, &plan_parent_model), *p2 = pgorm_object_new(s2, &plan_parent_model);
	PlanChild *c = pgorm_object_new(s2, &plan_child_model);
	ck_assert_int_eq(pgorm_rel_set(s2, parent, c, p1), 0);
	ck_assert_int_eq(pgorm_session_add(s2, p1), 0);
	ck_assert_int_eq(pgorm_session_add(s2, p2), 0);
	ck_assert_int_eq(pgorm_session_commit(s2), 0);
	ck_assert_int_eq(c->pid, p1->id);
	/* move c to p2: the dry run must leave c->pid (and its NULL bit) as the user had it */
	ck_assert_int_eq(pgorm_rel_set(s2, parent, c, p2), 0);
	char *plan = NULL;
	ck_assert_int_eq(pgorm_session_plan(s2, &plan), 0);
	ck_assert_ptr_nonnull(strstr(plan, "UPDATE \"plan_children\""));
	pgorm_free(plan);
	ck_assert_int_eq(c->pid, p1->id);
	ck_assert(!pgorm_object_is_null(c, "pid"));
	/* a NULL link: the plan does not set the NULL bit either */
	PlanChild *c2 = pgorm_object_new(s2, &plan_child_model);
	ck_assert_int_eq(pgorm_rel_set(s2, parent, c2, p1), 0);
	ck_assert_int_eq(pgorm_session_add(s2, c2), 0);
	ck_assert_int_eq(pgorm_session_plan(s2, &plan), 0);
	pgorm_free(plan);
	ck_assert_int_eq(c2->pid, 0);
	ck_assert_int_eq(c->pid, p1->id);
	/* the real flush still writes them */
	ck_assert_int_eq(pgorm_session_commit(s2), 0);
	ck_assert_int_eq(c->pid, p2->id);
	ck_assert_int_eq(c2->pid, p1->id);
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT pid FROM plan_children WHERE id = %lld", (long long)c->id);
	ck_assert_int_eq(pgtest_int(conn, sql), p2->id);
	pgorm_session_destroy(s2);
	ck_assert_int_eq(pgorm_registry_drop_all(r2, conn), 0);
	pgorm_registry_destroy(r2);
}
END_TEST

/* Argument errors that have a session at hand leave a message in it. */
START_TEST(test_issue_session_error_messages)
{
	Item *a = new_item("msg", 1);
	pgorm_value pk = PGORM_INT8(1);
	ck_assert_int_eq(pgorm_session_get(sess, &item_model, &pk, NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_session_error(sess)->code, PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(sess)->message, "pgorm_session_get"));
	ck_assert_int_eq(pgorm_session_plan(sess, NULL), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(sess)->message, "pgorm_session_plan"));
	ck_assert_int_eq(pgorm_object_set_null(a, "no_such_column", true), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(sess)->message, "no_such_column"));
	ck_assert_int_eq(pgorm_object_set_null(a, "name", true), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(sess)->message, "items.name is NOT NULL"));
	ck_assert_int_eq(pgorm_object_set_null(a, "note", true), 0);
	ck_assert(pgorm_object_is_null(a, "note"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = pgtest_tcase(s, "core", 120, setup, teardown);
	tcase_add_test(tc, test_insert_get_update_delete);
	tcase_add_test(tc, test_bulk_insert_round_trips);
	tcase_add_test(tc, test_unique_violation_rolls_back);
	tcase_add_test(tc, test_stale_version);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_rollback_restores);
	tcase_add_test(tc, test_all_types_composite_key);
	tcase_add_test(tc, test_issue_expired_changes_survive_reload);
	tcase_add_test(tc, test_issue_plan_keeps_fks);
	tcase_add_test(tc, test_issue_session_error_messages);
#ifndef NDEBUG
	tcase_add_test(tc, test_second_thread_rejected);
#endif
	return pgtest_run(s);
}
