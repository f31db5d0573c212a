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

static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_session *sess;
static pgtest_log log_;

static void setup(void)
{
	const pgorm_model *models[] = { &item_model, &ver_model };
	pgorm_error err;
	ck_assert_msg(pgorm_registry_create(&reg, models, 2, &err) == 0, "%s", err.message);
	conn = pgtest_connect();
	pgtest_exec(conn, "DROP TABLE IF EXISTS items, versioned");
	pgtest_exec(conn, "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, "
	                  "qty integer NOT NULL, price double precision NOT NULL, note text)");
	pgtest_exec(conn, "CREATE TABLE versioned (id integer PRIMARY KEY, body text NOT NULL, version integer NOT NULL)");
	pgorm_session_config cfg = PGORM_SESSION_CONFIG_INIT;
	cfg.stmt_hook = pgtest_log_hook;
	cfg.stmt_hook_ctx = &log_;
	ck_assert_int_eq(pgorm_session_create(&sess, reg, NULL, conn, &cfg, &err), 0);
	pgtest_log_clear(&log_);
}

static void teardown(void)
{
	pgorm_session_destroy(sess);
	pgorm_conn_close(conn);
	pgorm_registry_destroy(reg);
	pgtest_log_clear(&log_);
}

static Item *new_item(const char *name, int qty)
{
	Item *it = pgorm_object_new(sess, &item_model);
	ck_assert_ptr_nonnull(it);
	it->name = pgorm_strdup(sess, name);
	it->qty = qty;
	it->price = qty * 1.5;
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

int main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");
	tcase_add_unchecked_fixture(tc, pgtest_schema_setup, pgtest_schema_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_insert_get_update_delete);
	tcase_add_test(tc, test_bulk_insert_round_trips);
	tcase_add_test(tc, test_unique_violation_rolls_back);
	tcase_add_test(tc, test_stale_version);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_rollback_restores);
#ifndef NDEBUG
	tcase_add_test(tc, test_second_thread_rejected);
#endif
	suite_add_tcase(s, tc);
	return pgtest_run(s);
}
