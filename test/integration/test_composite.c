/* Integration tests: relationships over a composite foreign key (DDL, flush FK sync, lazy,
 * selectin via unnest of several arrays, joined, many-to-one from the identity map). */
#include "pgtest.h"

#include <stdio.h>
#include <string.h>

typedef struct Order {
	pgorm_object hdr;
	char *region;
	int64_t no;
	char *customer;
	pgorm_collection lines;
} Order;

typedef struct Line {
	pgorm_object hdr;
	int64_t id;
	char *order_region;
	int64_t order_no;
	char *item;
	Order *order;
} Line;

extern const pgorm_model order_model, line_model;
static const pgorm_column order_cols[] = {
	PGORM_COLUMN(TEXT, "region", PGORM_PK, Order, region),
	PGORM_COLUMN(INT8, "no", PGORM_PK, Order, no),
	PGORM_COLUMN(TEXT, "customer", 0, Order, customer), PGORM_COLUMN_END };
static const pgorm_relationship order_rels[] = {
	{ .name = "lines", .target = &line_model, .offset = offsetof(Order, lines), .size = sizeof(pgorm_collection),
	  .back_populates = "order", .cascade = PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN, .order_by = "id" },
	PGORM_RELATIONSHIP_END };
const pgorm_model order_model = PGORM_MODEL("orders", Order, order_cols, order_rels);

static const pgorm_column line_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Line, id),
	PGORM_COLUMN_FK(TEXT, "order_region", PGORM_NULLABLE, Line, order_region, "orders", "region", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_FK(INT8, "order_no", PGORM_NULLABLE, Line, order_no, "orders", "no", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "item", 0, Line, item), PGORM_COLUMN_END };
static const pgorm_relationship line_rels[] = {
	PGORM_MANY_TO_ONE("order", Line, order, &order_model, NULL, "lines"),
	PGORM_RELATIONSHIP_END };
const pgorm_model line_model = PGORM_MODEL("order_lines", Line, line_cols, line_rels);

static pgorm_registry *reg;
static pgorm_conn *conn;
static const pgtest_env env = { .reg = &reg, .conn = &conn };
static const pgorm_rel *lines, *order_rel;

static void setup(void)
{
	const pgorm_model *models[] = { &order_model, &line_model };
	pgtest_env_setup(&env, models, 2, "DROP TABLE IF EXISTS order_lines, orders", PGTEST_CREATE_ALL, NULL);
	lines = pgorm_registry_rel(reg, &order_model, "lines");
	order_rel = pgorm_registry_rel(reg, &line_model, "order");
}

static void teardown(void) { pgtest_env_teardown(&env); }

START_TEST(test_composite_fk)
{
	/* DDL: one two-column FOREIGN KEY, and the schema check agrees */
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND "
	                                  "conrelid = 'order_lines'::regclass AND array_length(conkey, 1) = 2"), 1);
	char *report = NULL;
	ck_assert_int_eq(pgorm_registry_check(reg, conn, &report), 0);
	pgorm_free(report);

	pgtest_log log = { 0 };
	pgorm_session *s = pgtest_env_session(&env, NULL, &log);
	const char *regions[] = { "eu", "us" };
	for (int r = 0; r < 2; r++)
		for (int n = 1; n <= 50; n++) {
			Order *o = pgorm_object_new(s, &order_model);
			o->region = (char *)regions[r];
			o->no = n;
			o->customer = pgorm_strdup(s, "cust");
			for (int k = 0; k < 3; k++) {
				Line *l = pgorm_object_new(s, &line_model);
				l->item = "item";
				ck_assert_int_eq(pgorm_rel_append(s, lines, o, l), 0);
			}
			ck_assert_int_eq(pgorm_session_add(s, o), 0);
		}
	ck_assert_msg(pgorm_session_commit(s) == 0, "%s", pgorm_session_error(s)->message);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM order_lines l JOIN orders o "
	                                  "ON o.region = l.order_region AND o.no = l.order_no"), 300);
	pgorm_session_destroy(s);
	pgtest_log_clear(&log);

	/* selectin: one statement matching both key columns with unnest of two arrays */
	s = pgtest_env_session(&env, NULL, &log);
	pgorm_query *q;
	ck_assert_int_eq(pgorm_query_create(&q, s, &order_model), 0);
	pgorm_query_order_by(q, "region", false);
	pgorm_query_order_by(q, "no", false);
	pgorm_query_option(q, "lines", PGORM_LOAD_SELECTIN);
	pgorm_list l;
	ck_assert_msg(pgorm_query_all(q, &l) == 0, "%s", pgorm_session_error(s)->message);
	pgorm_query_destroy(q);
	ck_assert_uint_eq(l.len, 100);
	ck_assert_uint_eq(pgtest_log_count(&log, "unnest($1::text[], $2::int8[])"), 1);
	for (size_t i = 0; i < l.len; i++) {
		Order *o = l.items[i];
		ck_assert_uint_eq(o->lines.len, 3);
		for (size_t k = 0; k < 3; k++) {
			Line *ln = o->lines.items[k];
			ck_assert_ptr_eq(ln->order, o);
			ck_assert_str_eq(ln->order_region, o->region);
			ck_assert_int_eq(ln->order_no, o->no);
		}
	}
	/* many-to-one lazy load answered by the identity map */
	ck_assert_int_eq(pgorm_query_create(&q, s, &line_model), 0);
	pgorm_query_filter(q, "order_region", "=", PGORM_TEXT("us"));
	pgorm_query_filter(q, "order_no", "=", PGORM_INT8(7));
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	pgorm_query_destroy(q);
	ck_assert_uint_eq(l.len, 3);
	size_t before = log.n;
	void *parent = NULL;
	ck_assert_int_eq(pgorm_rel_load(s, order_rel, l.items[0], &parent), 0);
	ck_assert_uint_eq(log.n, before);
	ck_assert_str_eq(((Order *)parent)->region, "us");
	ck_assert_int_eq(((Order *)parent)->no, 7);
	pgorm_session_destroy(s);
	pgtest_log_clear(&log);

	/* joined and lazy on the composite key; move a line, delete an order with its lines */
	s = pgtest_env_session(&env, NULL, &log);
	ck_assert_int_eq(pgorm_query_create(&q, s, &order_model), 0);
	pgorm_query_filter(q, "region", "=", PGORM_TEXT("eu"));
	pgorm_query_order_by(q, "no", false);
	pgorm_query_option(q, "lines", PGORM_LOAD_JOINED);
	ck_assert_int_eq(pgorm_query_all(q, &l), 0);
	pgorm_query_destroy(q);
	ck_assert_uint_eq(l.len, 50);
	ck_assert_uint_eq(pgtest_log_count(&log, "\"order_region\" = t.\"region\" AND j"), 1);
	Order *e1 = l.items[0], *e2 = l.items[1];
	ck_assert_uint_eq(e1->lines.len, 3);
	Line *mv = e1->lines.items[0];
	ck_assert_int_eq(pgorm_rel_set(s, order_rel, mv, e2), 0);
	ck_assert_uint_eq(e2->lines.len, 4);
	ck_assert_int_eq(pgorm_session_delete(s, e1), 0);
	ck_assert_msg(pgorm_session_commit(s) == 0, "%s", pgorm_session_error(s)->message);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM order_lines WHERE order_region = 'eu' AND order_no = 2"), 4);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM order_lines WHERE order_region = 'eu' AND order_no = 1"), 0);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM orders"), 99);
	ck_assert_int_eq(pgorm_rel_load(s, lines, e2, NULL), 0);  /* expired: lazy reload */
	ck_assert_uint_eq(e2->lines.len, 4);
	pgorm_session_destroy(s);
	pgtest_log_clear(&log);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("composite");
	TCase *tc = pgtest_tcase(su, "core", 120, setup, teardown);
	tcase_add_test(tc, test_composite_fk);
	return pgtest_run(su);
}
