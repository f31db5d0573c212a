/* Integration tests: streaming a large result in bounded memory; sessions on a pool. */
#include "pgtest.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

typedef struct Row {
	pgorm_object hdr;
	int64_t id;
	int64_t grp;
	char *label;
	pgorm_collection items;
} Row;

typedef struct Item {
	pgorm_object hdr;
	int64_t id;
	int64_t row_id;
	char *name;
} Item;

extern const pgorm_model row_model, item_model;
static const pgorm_column row_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK, Row, id),
	PGORM_COLUMN(INT8, "grp", 0, Row, grp),
	PGORM_COLUMN(TEXT, "label", 0, Row, label), PGORM_COLUMN_END };
static const pgorm_relationship row_rels[] = {
	{ .name = "items", .target = &item_model, .offset = offsetof(Row, items), .size = sizeof(pgorm_collection),
	  .order_by = "id" },
	PGORM_RELATIONSHIP_END };
const pgorm_model row_model = PGORM_MODEL("big", Row, row_cols, row_rels);
static const pgorm_column item_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Item, id),
	PGORM_COLUMN_FK(INT8, "row_id", 0, Item, row_id, "big", "id", PGORM_FK_CASCADE),
	PGORM_COLUMN(TEXT, "name", 0, Item, name), PGORM_COLUMN_END };
const pgorm_model item_model = PGORM_MODEL("big_items", Item, item_cols, NULL);

/* Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) instead of
 * going back to the allocator, which the RSS bound below would count: keep it small. The
 * runtime reads this hook; without ASan it is an unused function. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=4"; }

static pgorm_registry *reg;
static const pgtest_env env = { .reg = &reg };

static void setup(void)
{
	const pgorm_model *models[] = { &row_model, &item_model };
	pgtest_env_setup(&env, models, 2, NULL);
}

static void teardown(void) { pgtest_env_teardown(&env); }

typedef struct counter {
	int64_t rows, last_id, items;
	bool ordered;
} counter;

static int on_batch(void *ctx, void **objs, size_t n)
{
	counter *c = ctx;
	for (size_t i = 0; i < n; i++) {
		Row *r = objs[i];
		if (r->id != c->last_id + 1 || strncmp(r->label, "row ", 4) != 0)
			c->ordered = false;
		c->last_id = r->id;
		c->items += (int64_t)r->items.len;
	}
	c->rows += (int64_t)n;
	return 0;
}

static long max_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

START_TEST(test_stream_million_rows_bounded)
{
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "DROP TABLE IF EXISTS big_items, big");
	pgtest_exec(c, "CREATE TABLE big (id bigint PRIMARY KEY, grp bigint NOT NULL, label text NOT NULL)");
	pgtest_exec(c, "CREATE TABLE big_items (id bigserial PRIMARY KEY, row_id bigint NOT NULL REFERENCES big(id), name text NOT NULL)");
	pgtest_exec(c, "INSERT INTO big SELECT g, g % 10, 'row ' || g || ' with some padding text' FROM generate_series(1, 1000000) g");
	pgtest_exec(c, "CREATE INDEX ON big_items (row_id)");
	pgtest_exec(c, "INSERT INTO big_items (row_id, name) SELECT g * 100, 'i' || g FROM generate_series(1, 5000) g");
	pgorm_session *s;
	ck_assert_int_eq(pgorm_session_create(&s, reg, NULL, c, NULL, NULL), 0);
	pgorm_query *q;
	ck_assert_int_eq(pgorm_query_create(&q, s, &row_model), 0);
	pgorm_query_order_by(q, "id", false);
	pgorm_query_option(q, "items", PGORM_LOAD_SELECTIN);
	counter cnt = { 0, 0, 0, true };
	long before = max_rss_kb();
	ck_assert_msg(pgorm_query_stream(q, 2000, on_batch, &cnt) == 0, "%s", pgorm_session_error(s)->message);
	long grown = max_rss_kb() - before;
	pgorm_query_destroy(q);
	ck_assert_int_eq(cnt.rows, 1000000);
	ck_assert(cnt.ordered);
	ck_assert_int_eq(cnt.items, 5000);     /* selectin per batch of parents */
	/* 1M objects kept would take > 150 MB; a batch of 2000 takes well under 1 MB */
	ck_assert_msg(grown < 32 * 1024, "peak RSS grew by %ld kB while streaming", grown);
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgorm_session_destroy(s);
	pgorm_conn_close(c);
}
END_TEST

START_TEST(test_session_on_pool)
{
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = pgtest_dsn();
	pc.max_size = 2;
	pgorm_pool *pool;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &pc, &err) == 0, "%s", err.message);
	pgorm_conn *c = pgtest_connect();
	pgtest_exec(c, "DROP TABLE IF EXISTS big_items, big");
	pgtest_exec(c, "CREATE TABLE big (id bigint PRIMARY KEY, grp bigint NOT NULL, label text NOT NULL)");
	pgorm_session *s;
	ck_assert_int_eq(pgorm_session_create(&s, reg, pool, NULL, NULL, &err), 0);
	pgorm_pool_stats st;
	Row *r = pgorm_object_new(s, &row_model);
	r->id = 1;
	r->grp = 2;
	r->label = "pooled";
	ck_assert_int_eq(pgorm_session_add(s, r), 0);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_eq(st.in_use, 1);               /* held for the transaction */
	ck_assert_int_eq(pgorm_session_commit(s), 0);
	pgorm_pool_stats_get(pool, &st);
	ck_assert_uint_eq(st.in_use, 0);               /* given back at commit */
	ck_assert_int_eq(pgtest_int(c, "SELECT count(*) FROM big WHERE label = 'pooled'"), 1);
	pgorm_session_destroy(s);
	pgorm_conn_close(c);
	pgorm_pool_destroy(pool);
}
END_TEST

START_TEST(test_session_after_pool_closed)
{
	pgorm_pool_config pc = PGORM_POOL_CONFIG_INIT;
	pc.conninfo = pgtest_dsn();
	pgorm_pool *pool;
	pgorm_error err;
	ck_assert_msg(pgorm_pool_create(&pool, &pc, &err) == 0, "%s", err.message);
	pgorm_session *s;
	ck_assert_int_eq(pgorm_session_create(&s, reg, pool, NULL, NULL, &err), 0);
	ck_assert_int_eq(pgorm_pool_close(pool, 1000), 0);
	Row *r = pgorm_object_new(s, &row_model);
	r->id = 99;
	r->label = "x";
	ck_assert_int_eq(pgorm_session_add(s, r), 0);
	int rc = pgorm_session_commit(s);
	ck_assert_int_ne(rc, 0);
	ck_assert_int_eq(pgorm_session_error(s)->code, rc);
	ck_assert_str_ne(pgorm_session_error(s)->message, "");
	void *got;
	pgorm_value pk = PGORM_INT8(1);
	ck_assert_int_ne(pgorm_session_get(s, &row_model, &pk, &got), 0);
	pgorm_session_destroy(s);
	pgorm_pool_destroy(pool);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("stream");
	TCase *tc = pgtest_tcase(su, "core", 240, setup, teardown);
	tcase_add_test(tc, test_stream_million_rows_bounded);
	tcase_add_test(tc, test_session_on_pool);
	tcase_add_test(tc, test_session_after_pool_closed);
	return pgtest_run(su);
}
