/* Integration tests of the query layer (issue 15, queries): OR/AND/NOT groups, IN / NOT IN,
 * IS [NOT] NULL, LIKE / ILIKE and the escape helper, BETWEEN; any() / has() through
 * relationships (nested, many-to-many); ORDER BY a many-to-one column; aggregates with GROUP BY
 * and HAVING; expressions in bulk UPDATE with the identity map in step; upsert (DO UPDATE /
 * DO NOTHING, batched, merged into the identity map; a partial unique index as the arbiter,
 * DO UPDATE … WHERE with its own parameters); keyset pagination. Results and the
 * statements issued are asserted; bad input is refused with a clear error before any SQL. */
#include "pgtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Shop {
	pgorm_object hdr;
	int64_t id;
	char *name;
	char *city;                  /* nullable */
	pgorm_collection items;
} Shop;

typedef struct Item {
	pgorm_object hdr;
	int64_t id;
	int64_t shop_id;
	char *name;
	char *price;                 /* numeric(10,2) */
	int32_t qty;
	double weight;
	Shop *shop;
	pgorm_collection tags;
} Item;

typedef struct Tag {
	pgorm_object hdr;
	int64_t id;
	char *label;
} Tag;

typedef struct Member {
	pgorm_object hdr;
	int64_t id;
	char *email;
	char *name;
	int32_t hits;
	int32_t version;
} Member;

/* a subscription: one active row per email (a partial unique index), any number of old ones */
typedef struct Sub {
	pgorm_object hdr;
	int64_t id;
	char *email;
	bool active;
	char *plan;
	int32_t seats;
} Sub;

extern const pgorm_model shop_model, item_model, tag_model, member_model, sub_model;

static const pgorm_column shop_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Shop, id),
	PGORM_COLUMN(TEXT, "name", 0, Shop, name),
	PGORM_COLUMN(TEXT, "city", PGORM_NULLABLE, Shop, city),
	PGORM_COLUMN_END };
static const pgorm_relationship shop_rels[] = {
	{ PGORM_O2M("items", Shop, items, &item_model, "shop_id", "shop"), .order_by = "id" },
	PGORM_RELATIONSHIP_END };
const pgorm_model shop_model = PGORM_MODEL("q_shop", Shop, shop_cols, shop_rels);

static const pgorm_column item_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Item, id),
	PGORM_COLUMN_FK(INT8, "shop_id", PGORM_NULLABLE, Item, shop_id, "q_shop", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Item, name),
	PGORM_COLUMN(NUMERIC, "price", 0, Item, price),
	PGORM_COLUMN(INT4, "qty", 0, Item, qty),
	PGORM_COLUMN(FLOAT8, "weight", 0, Item, weight),
	PGORM_COLUMN_END };
static const pgorm_relationship item_rels[] = {
	{ PGORM_M2O("shop", Item, shop, &shop_model, "shop_id", "items") },
	{ PGORM_M2M("tags", Item, tags, &tag_model, "q_item_tag", "item_id", "tag_id", NULL), .order_by = "id" },
	PGORM_RELATIONSHIP_END };
const pgorm_model item_model = PGORM_MODEL("q_item", Item, item_cols, item_rels);

static const pgorm_column tag_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Tag, id),
	PGORM_COLUMN(TEXT, "label", 0, Tag, label),
	PGORM_COLUMN_END };
const pgorm_model tag_model = PGORM_MODEL("q_tag", Tag, tag_cols, NULL);

static const pgorm_column member_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Member, id),
	PGORM_COLUMN(TEXT, "email", PGORM_UNIQUE, Member, email),
	PGORM_COLUMN(TEXT, "name", 0, Member, name),
	PGORM_COLUMN(INT4, "hits", PGORM_SERVER_DEFAULT, Member, hits),
	PGORM_COLUMN(INT4, "version", PGORM_VERSION, Member, version),
	PGORM_COLUMN_END };
const pgorm_model member_model = PGORM_MODEL("q_member", Member, member_cols, NULL);

static const pgorm_column sub_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Sub, id),
	PGORM_COLUMN(TEXT, "email", 0, Sub, email),
	PGORM_COLUMN(BOOL, "active", 0, Sub, active),
	PGORM_COLUMN(TEXT, "plan", 0, Sub, plan),
	PGORM_COLUMN(INT4, "seats", 0, Sub, seats),
	PGORM_COLUMN_END };
const pgorm_model sub_model = PGORM_MODEL("q_sub", Sub, sub_cols, NULL);

static pgorm_registry *reg;
static pgorm_conn *conn;
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .session = &s, .log = &log_ };

static void setup(void)
{
	const pgorm_model *models[] = { &shop_model, &item_model, &tag_model, &member_model, &sub_model };
	pgtest_env_setup(&env, models, 5, "DROP TABLE IF EXISTS q_item_tag, q_item, q_tag, q_shop, q_member, q_sub",
	                 "CREATE TABLE q_sub (id bigserial PRIMARY KEY, email text NOT NULL, active bool NOT NULL, "
	                 "plan text NOT NULL, seats int NOT NULL)",
	                 "CREATE UNIQUE INDEX q_sub_active_email ON q_sub (email) WHERE active",
	                 "INSERT INTO q_sub (email, active, plan, seats) VALUES ('a@x', false, 'old', 1), "
	                 "('a@x', true, 'basic', 2), ('b@x', true, 'pro', 9)",
	                 "CREATE TABLE q_shop (id bigserial PRIMARY KEY, name text NOT NULL, city text)",
	                 "CREATE TABLE q_item (id bigserial PRIMARY KEY, shop_id bigint REFERENCES q_shop(id), "
	                 "name text NOT NULL, price numeric(10,2) NOT NULL, qty int NOT NULL, weight float8 NOT NULL)",
	                 "CREATE TABLE q_tag (id bigserial PRIMARY KEY, label text NOT NULL)",
	                 "CREATE TABLE q_item_tag (item_id bigint REFERENCES q_item(id), tag_id bigint REFERENCES q_tag(id), "
	                 "PRIMARY KEY (item_id, tag_id))",
	                 "CREATE TABLE q_member (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, "
	                 "hits int NOT NULL DEFAULT 0, version int NOT NULL)",
	                 "INSERT INTO q_shop (name, city) VALUES ('north', 'Oslo'), ('south', 'Rome'), ('east', NULL), "
	                 "('100%_pure', 'Bern')",
	                 /* shop 1: a1 a2 a3; shop 2: b1 b2; shop 3: none; shop 4: d_1 */
	                 "INSERT INTO q_item (shop_id, name, price, qty, weight) VALUES "
	                 "(1, 'a1', 10.00, 1, 0.5), (1, 'a2', 20.50, 2, 1.5), (1, 'a3', 5.25, 3, 2.0), "
	                 "(2, 'b1', 99.99, 4, 3.0), (2, 'b2', 1.00, 5, 4.0), (4, 'd_1', 7.00, 6, 5.0), "
	                 "(NULL, 'loose', 3.00, 7, 6.0)",
	                 "INSERT INTO q_tag (label) VALUES ('red'), ('blue')",
	                 "INSERT INTO q_item_tag VALUES (1, 1), (2, 2), (4, 1), (4, 2)",
	                 NULL);
	s = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

#define OK(call) ck_assert_msg((call) == 0, "%s: %s", #call, pgorm_session_error(s)->message)

/* Ids of the query's objects, "1,2,3". */
static const char *ids(pgorm_query *q, bool item)
{
	static char buf[512];
	pgorm_list l;
	OK(pgorm_query_all(q, &l));
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l.len; i++)
		k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%lld", i ? "," : "",
		                      (long long)(item ? ((Item *)l.items[i])->id : ((Shop *)l.items[i])->id));
	pgorm_query_destroy(q);
	return buf;
}

static pgorm_query *query(const pgorm_model *m)
{
	pgorm_query *q = NULL;
	OK(pgorm_query_create(&q, s, m));
	return q;
}

/* The last statement logged (BEGIN excluded). */
static const char *last_sql(void)
{
	ck_assert_uint_gt(log_.n, 0);
	return log_.sql[log_.n - 1];
}

START_TEST(test_boolean_structure)
{
	/* qty < 2 OR (qty > 5 AND NOT (name = 'loose')) */
	pgorm_query *q = query(&item_model);
	OK(pgorm_query_or(q));
	OK(pgorm_query_filter(q, "qty", "<", PGORM_INT4(2)));
	OK(pgorm_query_and(q));
	OK(pgorm_query_filter(q, "qty", ">", PGORM_INT4(5)));
	OK(pgorm_query_not(q));
	OK(pgorm_query_filter(q, "name", "=", PGORM_TEXT("loose")));
	OK(pgorm_query_end(q));
	OK(pgorm_query_end(q));
	OK(pgorm_query_end(q));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, true), "1,6");
	ck_assert_ptr_nonnull(strstr(last_sql(), "WHERE true AND (t.\"qty\" < $1 OR (t.\"qty\" > $2 AND NOT (t.\"name\" = $3)))"));

	/* IN / NOT IN: one array parameter whatever the list's length */
	int64_t want[] = { 2, 4, 99 };
	q = query(&item_model);
	OK(pgorm_query_filter(q, "id", "IN", PGORM_INT8_ARRAY(want, 3)));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, true), "2,4");
	ck_assert_ptr_nonnull(strstr(last_sql(), "t.\"id\" = ANY($1)"));
	const char *names[] = { "a1", "a2", "a3", "b1" };
	q = query(&item_model);
	OK(pgorm_query_filter(q, "name", "NOT IN", PGORM_TEXT_ARRAY(names, 4)));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, true), "5,6,7");
	ck_assert_ptr_nonnull(strstr(last_sql(), "t.\"name\" <> ALL($1)"));
	q = query(&item_model); /* empty IN: nothing; empty NOT IN: everything */
	OK(pgorm_query_filter(q, "id", "IN", PGORM_INT8_ARRAY(want, 0)));
	ck_assert_str_eq(ids(q, true), "");

	/* IS [NOT] NULL, and = NULL meaning IS NULL */
	q = query(&shop_model);
	OK(pgorm_query_filter(q, "city", "IS NULL", PGORM_NULL(TEXT)));
	ck_assert_str_eq(ids(q, false), "3");
	q = query(&shop_model);
	OK(pgorm_query_filter(q, "city", "=", PGORM_TEXT(NULL)));
	ck_assert_str_eq(ids(q, false), "3");
	ck_assert_ptr_nonnull(strstr(last_sql(), "t.\"city\" IS NULL"));
	q = query(&shop_model);
	OK(pgorm_query_filter(q, "city", "IS NOT NULL", PGORM_NULL(TEXT)));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, false), "1,2,4");

	/* LIKE / ILIKE, the escape helper, the autoescaping operators */
	q = query(&shop_model);
	OK(pgorm_query_filter(q, "name", "ILIKE", PGORM_TEXT("NOR%")));
	ck_assert_str_eq(ids(q, false), "1");
	char pat[64], esc[32];
	ck_assert_int_eq(pgorm_like_escape(esc, sizeof esc, "100%_"), 7);
	ck_assert_str_eq(esc, "100\\%\\_");
	snprintf(pat, sizeof pat, "%s%%", esc);
	q = query(&shop_model);
	OK(pgorm_query_filter(q, "name", "LIKE", PGORM_TEXT(pat)));
	ck_assert_str_eq(ids(q, false), "4");
	q = query(&shop_model); /* unescaped, '_' and '%' match anything: "100%_" matches no other shop here either */
	OK(pgorm_query_filter(q, "name", "STARTSWITH", PGORM_TEXT("100%_")));
	ck_assert_str_eq(ids(q, false), "4");
	q = query(&item_model); /* "_" is literal: d_1 only, not a1/a2/a3/b1/b2 */
	OK(pgorm_query_filter(q, "name", "CONTAINS", PGORM_TEXT("_")));
	ck_assert_str_eq(ids(q, true), "6");
	ck_assert_ptr_nonnull(strstr(last_sql(), "t.\"name\" LIKE $1"));
	q = query(&item_model);
	OK(pgorm_query_filter(q, "name", "NOT LIKE", PGORM_TEXT("a%")));
	OK(pgorm_query_filter(q, "name", "ENDSWITH", PGORM_TEXT("1")));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, true), "4,6");
	ck_assert_int_eq(pgorm_like_escape(esc, 4, "a%b"), -1); /* does not fit */
	ck_assert_int_eq(pgorm_like_escape(NULL, 4, "a"), -1);

	/* BETWEEN, bounds included; numeric compared with a decimal string */
	q = query(&item_model);
	OK(pgorm_query_between(q, "price", PGORM_NUMERIC("5.25"), PGORM_NUMERIC("10")));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, true), "1,3,6");
	ck_assert_ptr_nonnull(strstr(last_sql(), "t.\"price\" BETWEEN $1 AND $2"));

	/* an empty OR group is false, an empty AND true; count and bulk DELETE use the groups */
	q = query(&item_model);
	OK(pgorm_query_or(q));
	OK(pgorm_query_end(q));
	ck_assert_str_eq(ids(q, true), "");
	int64_t n = -1;
	q = query(&item_model);
	OK(pgorm_query_or(q));
	OK(pgorm_query_filter(q, "qty", "=", PGORM_INT4(1)));
	OK(pgorm_query_filter(q, "qty", "=", PGORM_INT8(7)));
	OK(pgorm_query_end(q));
	OK(pgorm_query_count(q, &n));
	pgorm_query_destroy(q);
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(test_any_has)
{
	/* shops with an item priced over 50: Shop.items.any(Item.price > 50) */
	pgorm_query *q = query(&shop_model);
	OK(pgorm_query_any(q, "items"));
	OK(pgorm_query_filter(q, "price", ">", PGORM_NUMERIC("50")));
	OK(pgorm_query_end(q));
	ck_assert_str_eq(ids(q, false), "2");
	ck_assert_ptr_nonnull(strstr(last_sql(), "EXISTS (SELECT 1 FROM \"q_item\" r1 WHERE r1.\"shop_id\" = t.\"id\" AND "
	                                         "r1.\"price\" > $1)"));
	ck_assert_uint_eq(pgtest_log_count(&log_, "JOIN"), 0);

	/* shops without items: NOT any() */
	q = query(&shop_model);
	OK(pgorm_query_not(q));
	OK(pgorm_query_any(q, "items"));
	OK(pgorm_query_end(q));
	OK(pgorm_query_end(q));
	ck_assert_str_eq(ids(q, false), "3");

	/* items whose shop is in Oslo or Bern: Item.shop.has(or_(city == 'Oslo', city == 'Bern')) */
	q = query(&item_model);
	OK(pgorm_query_has(q, "shop"));
	OK(pgorm_query_or(q));
	OK(pgorm_query_filter(q, "city", "=", PGORM_TEXT("Oslo")));
	OK(pgorm_query_filter(q, "city", "=", PGORM_TEXT("Bern")));
	OK(pgorm_query_end(q));
	OK(pgorm_query_end(q));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, true), "1,2,3,6");

	/* nested: shops having an item tagged blue (any → many-to-many any), OR named east */
	q = query(&shop_model);
	OK(pgorm_query_or(q));
	OK(pgorm_query_any(q, "items"));
	OK(pgorm_query_any(q, "tags"));
	OK(pgorm_query_filter(q, "label", "=", PGORM_TEXT("blue")));
	OK(pgorm_query_end(q));
	OK(pgorm_query_end(q));
	OK(pgorm_query_filter(q, "name", "=", PGORM_TEXT("east")));
	OK(pgorm_query_end(q));
	OK(pgorm_query_order_by(q, "id", false));
	ck_assert_str_eq(ids(q, false), "1,2,3");
	ck_assert_ptr_nonnull(strstr(last_sql(), "EXISTS (SELECT 1 FROM \"q_item_tag\" s2 JOIN \"q_tag\" r2 ON r2.\"id\" = "
	                                         "s2.\"tag_id\" WHERE s2.\"item_id\" = r1.\"id\" AND r2.\"label\" = $1)"));

	/* has() in a bulk UPDATE and in count */
	int64_t n = -1;
	q = query(&item_model);
	OK(pgorm_query_has(q, "shop"));
	OK(pgorm_query_filter(q, "name", "=", PGORM_TEXT("south")));
	OK(pgorm_query_end(q));
	OK(pgorm_query_count(q, &n));
	ck_assert_int_eq(n, 2);
	uint64_t aff = 0;
	OK(pgorm_query_update(q, "qty", PGORM_INT4(40), &aff));
	ck_assert_uint_eq(aff, 2);
	pgorm_query_destroy(q);

	/* ORDER BY a many-to-one column: items by their shop's name, then id (no shop: last) */
	q = query(&item_model);
	OK(pgorm_query_order_by(q, "shop.name", false));
	OK(pgorm_query_order_by(q, "id", true));
	ck_assert_str_eq(ids(q, true), "6,3,2,1,5,4,7");
	ck_assert_ptr_nonnull(strstr(last_sql(), "ORDER BY (SELECT o.\"name\" FROM \"q_shop\" o WHERE o.\"id\" = t.\"shop_id\"), t.\"id\" DESC"));
	/* with a joined loader and a LIMIT (the order goes into the subquery too) */
	q = query(&item_model);
	OK(pgorm_query_order_by(q, "shop.city", true));
	OK(pgorm_query_option(q, "shop", PGORM_LOAD_JOINED));
	OK(pgorm_query_filter(q, "shop_id", "IS NOT NULL", PGORM_NULL(INT8)));
	OK(pgorm_query_limit(q, 2));
	ck_assert_str_eq(ids(q, true), "4,5");
}
END_TEST

START_TEST(test_aggregates)
{
	pgorm_query *q = query(&item_model);
	OK(pgorm_query_group_by(q, "shop_id"));
	OK(pgorm_query_agg(q, PGORM_AGG_COUNT, NULL));
	OK(pgorm_query_agg(q, PGORM_AGG_SUM, "price"));
	OK(pgorm_query_agg(q, PGORM_AGG_SUM, "qty"));
	OK(pgorm_query_agg(q, PGORM_AGG_MIN, "name"));
	OK(pgorm_query_agg(q, PGORM_AGG_MAX, "weight"));
	OK(pgorm_query_agg(q, PGORM_AGG_AVG, "qty"));
	OK(pgorm_query_filter(q, "shop_id", "IS NOT NULL", PGORM_NULL(INT8)));
	OK(pgorm_query_having(q, PGORM_AGG_COUNT, NULL, ">=", PGORM_INT4(2)));
	OK(pgorm_query_order_by_agg(q, PGORM_AGG_SUM, "price", true));
	pgorm_result *r = NULL;
	OK(pgorm_query_aggregate(q, &r));
	pgorm_query_destroy(q);
	ck_assert_ptr_nonnull(strstr(last_sql(), "SELECT t.\"shop_id\", count(*) AS \"count\", sum(t.\"price\") AS \"sum_price\""));
	ck_assert_ptr_nonnull(strstr(last_sql(), "GROUP BY t.\"shop_id\" HAVING true AND count(*) >= $1 ORDER BY sum(t.\"price\") DESC"));
	ck_assert_uint_eq(pgorm_result_rows(r), 2);
	ck_assert_uint_eq(pgorm_result_cols(r), 7);
	ck_assert_str_eq(pgorm_result_col_name(r, 2), "sum_price");
	ck_assert_int_eq(pgorm_result_col_type(r, 1), PGORM_TYPE_INT8);
	ck_assert_int_eq(pgorm_result_col_type(r, 2), PGORM_TYPE_NUMERIC);
	ck_assert_int_eq(pgorm_result_col_type(r, 3), PGORM_TYPE_INT8);    /* sum(int4) */
	ck_assert_int_eq(pgorm_result_col_type(r, 4), PGORM_TYPE_TEXT);
	ck_assert_int_eq(pgorm_result_col_type(r, 5), PGORM_TYPE_FLOAT8);
	ck_assert_int_eq(pgorm_result_col_type(r, 6), PGORM_TYPE_NUMERIC); /* avg(int4) */
	int64_t v;
	pgorm_value val;
	OK(pgorm_result_int64(r, 0, 0, &v)); /* shop 2: 101.00 beats shop 1: 35.75 */
	ck_assert_int_eq(v, 2);
	OK(pgorm_result_int64(r, 0, 1, &v));
	ck_assert_int_eq(v, 2);
	OK(pgorm_result_get(r, 0, 2, PGORM_TYPE_NUMERIC, &val, NULL));
	ck_assert_str_eq(val.u.str.ptr, "100.99");
	OK(pgorm_result_int64(r, 1, 3, &v));
	ck_assert_int_eq(v, 6);
	ck_assert_str_eq(pgorm_result_text(r, 1, 4), "a1");
	OK(pgorm_result_get(r, 1, 5, PGORM_TYPE_FLOAT8, &val, NULL));
	ck_assert(val.u.f8 == 2.0);
	OK(pgorm_result_get(r, 1, 6, PGORM_TYPE_NUMERIC, &val, NULL));
	ck_assert_int_eq(strncmp(val.u.str.ptr, "2.0000", 6), 0);
	pgorm_result_free(r);

	/* no GROUP BY: one row; over no rows sum is NULL and count 0 */
	q = query(&item_model);
	OK(pgorm_query_filter(q, "qty", ">", PGORM_INT4(100)));
	OK(pgorm_query_agg(q, PGORM_AGG_COUNT, "id"));
	OK(pgorm_query_agg(q, PGORM_AGG_SUM, "weight"));
	OK(pgorm_query_aggregate(q, &r));
	pgorm_query_destroy(q);
	ck_assert_uint_eq(pgorm_result_rows(r), 1);
	ck_assert_str_eq(pgorm_result_col_name(r, 0), "count_id");
	OK(pgorm_result_int64(r, 0, 0, &v));
	ck_assert_int_eq(v, 0);
	ck_assert(pgorm_result_is_null(r, 0, 1));
	pgorm_result_free(r);

	/* filters through relationships and HAVING on sum */
	q = query(&item_model);
	OK(pgorm_query_has(q, "shop"));
	OK(pgorm_query_filter(q, "city", "IS NOT NULL", PGORM_NULL(TEXT)));
	OK(pgorm_query_end(q));
	OK(pgorm_query_group_by(q, "shop_id"));
	OK(pgorm_query_having(q, PGORM_AGG_SUM, "qty", ">", PGORM_INT8(5)));
	OK(pgorm_query_order_by(q, "shop_id", false));
	OK(pgorm_query_aggregate(q, &r));
	pgorm_query_destroy(q);
	ck_assert_uint_eq(pgorm_result_rows(r), 3);
	ck_assert_uint_eq(pgorm_result_cols(r), 1);
	OK(pgorm_result_int64(r, 2, 0, &v));
	ck_assert_int_eq(v, 4);
	pgorm_result_free(r);
}
END_TEST

START_TEST(test_update_expressions)
{
	pgorm_query *q = query(&item_model);
	OK(pgorm_query_filter(q, "shop_id", "=", PGORM_INT8(1)));
	OK(pgorm_query_order_by(q, "id", false));
	pgorm_list l;
	OK(pgorm_query_all(q, &l));
	pgorm_query_destroy(q);
	ck_assert_uint_eq(l.len, 3);
	Item *a1 = l.items[0];
	ck_assert_str_eq(a1->price, "10.00");
	/* SET price = price * 1.1, qty = qty + 1, name = name || '!' */
	q = query(&item_model);
	OK(pgorm_query_filter(q, "shop_id", "=", PGORM_INT8(1)));
	OK(pgorm_query_set_expr(q, "price", "*", PGORM_NUMERIC("1.1")));
	OK(pgorm_query_set_expr(q, "qty", "+", PGORM_INT4(1)));
	OK(pgorm_query_set_expr(q, "name", "||", PGORM_TEXT("!")));
	OK(pgorm_query_set(q, "weight", PGORM_FLOAT8(9.5)));
	uint64_t aff = 0;
	size_t before = log_.n;
	OK(pgorm_query_update_set(q, &aff));
	ck_assert_uint_eq(aff, 3);
	ck_assert_uint_eq(log_.n, before + 1);
	ck_assert_ptr_nonnull(strstr(last_sql(), "UPDATE \"q_item\" t SET \"price\" = t.\"price\" * $2, \"qty\" = t.\"qty\" + $3, "
	                                         "\"name\" = t.\"name\" || $4, \"weight\" = $5 WHERE true AND t.\"shop_id\" = $1 RETURNING t.\"id\""));
	/* the query with its SET list runs only as an UPDATE */
	ck_assert_int_eq(pgorm_query_all(q, &l), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "pgorm_query_update_set"));
	pgorm_query_destroy(q);
	/* the identity map is in step: the objects were expired and reload the server's values */
	ck_assert_str_eq(a1->price, "10.00"); /* not yet reloaded */
	void *got;
	pgorm_value pk = PGORM_INT8(1);
	OK(pgorm_session_get(s, &item_model, &pk, &got));
	ck_assert_ptr_eq(got, a1);
	ck_assert_str_eq(a1->price, "11.00");
	ck_assert_int_eq(a1->qty, 2);
	ck_assert_str_eq(a1->name, "a1!");
	ck_assert(a1->weight == 9.5);
	OK(pgorm_session_commit(s));
	ck_assert_int_eq(pgtest_int(conn, "SELECT qty FROM q_item WHERE id = 3"), 4);
	ck_assert_str_eq(pgtest_text(conn, "SELECT price::text FROM q_item WHERE id = 2"), "22.55");
	/* pgorm_query_update still reruns: its SET is not kept */
	q = query(&item_model);
	OK(pgorm_query_filter(q, "id", "=", PGORM_INT8(2)));
	OK(pgorm_query_update(q, "qty", PGORM_INT4(0), &aff));
	ck_assert_uint_eq(aff, 1);
	OK(pgorm_query_all(q, &l));
	ck_assert_uint_eq(l.len, 1);
	ck_assert_int_eq(((Item *)l.items[0])->qty, 0);
	pgorm_query_destroy(q);
}
END_TEST

static Member *member(const char *email, const char *name)
{
	Member *m = pgorm_object_new(s, &member_model);
	ck_assert_ptr_nonnull(m);
	m->email = pgorm_strdup(s, email);
	m->name = pgorm_strdup(s, name);
	return m;
}

START_TEST(test_upsert)
{
	pgtest_exec(conn, "INSERT INTO q_member (email, name, hits, version) VALUES ('a@x', 'Ann', 5, 1)");
	/* the existing row is loaded: the upsert's returned row overwrites it (populate-existing) */
	pgorm_query *q = query(&member_model);
	Member *ann = NULL;
	OK(pgorm_query_filter(q, "email", "=", PGORM_TEXT("a@x")));
	OK(pgorm_query_one(q, (void **)&ann));
	pgorm_query_destroy(q);
	ck_assert_str_eq(ann->name, "Ann");
	/* a pending object is flushed first */
	Member *pend = member("p@x", "Pat");
	OK(pgorm_session_add(s, pend));

	void *in[] = { member("a@x", "Anna"), member("b@x", "Bob") };
	const char *target[] = { "email" };
	pgorm_upsert how = PGORM_UPSERT_INIT;
	how.conflict_columns = target;
	how.nconflict = 1;
	pgorm_list out;
	pgtest_log_clear(&log_);
	OK(pgorm_session_upsert(s, &how, in, 2, &out));
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO"), 2); /* the flush of the pending one, the upsert */
	ck_assert_uint_eq(pgtest_log_count(&log_, "ON CONFLICT"), 1);
	ck_assert_ptr_nonnull(strstr(last_sql(), "INSERT INTO \"q_member\" AS t (\"email\", \"name\", \"version\") VALUES ($1, $2, $3), "
	                                         "($4, $5, $6) ON CONFLICT (\"email\") DO UPDATE SET \"name\" = EXCLUDED.\"name\", "
	                                         "\"version\" = t.\"version\" + 1 RETURNING"));
	ck_assert_uint_eq(out.len, 2);
	ck_assert_ptr_eq(out.items[0], ann);            /* merged into the identity map */
	ck_assert_str_eq(ann->name, "Anna");
	ck_assert_int_eq(ann->hits, 5);                 /* not in the statement: kept */
	ck_assert_int_eq(ann->version, 2);
	Member *bob = out.items[1];
	ck_assert_int_eq(pgorm_object_state(bob), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(bob->hits, 0);                 /* the server default */
	ck_assert_int_eq(bob->version, 1);
	ck_assert_int_eq(pgorm_object_state(in[0]), PGORM_STATE_TRANSIENT);
	void *got;
	pgorm_value pk = PGORM_INT8(bob->id);
	OK(pgorm_session_get(s, &member_model, &pk, &got)); /* from the identity map */
	ck_assert_ptr_eq(got, bob);
	bob->name = pgorm_strdup(s, "Robert");          /* an ordinary persistent object afterwards */
	OK(pgorm_session_commit(s));
	ck_assert_str_eq(pgtest_text(conn, "SELECT string_agg(email || ':' || name || ':' || version, ',' ORDER BY email) FROM q_member"),
	                 "a@x:Anna:2,b@x:Robert:2,p@x:Pat:1");

	/* DO NOTHING: the conflicting row is skipped and not returned */
	void *in2[] = { member("a@x", "ignored"), member("c@x", "Cy") };
	pgorm_upsert skip = PGORM_UPSERT_INIT;
	skip.do_nothing = true;
	OK(pgorm_session_upsert(s, &skip, in2, 2, &out));
	ck_assert_uint_eq(out.len, 1);
	ck_assert_str_eq(((Member *)out.items[0])->email, "c@x");
	ck_assert_ptr_nonnull(strstr(last_sql(), "ON CONFLICT DO NOTHING RETURNING"));

	/* a constraint name, explicit update columns, batches: 5 objects by 2 = 3 statements, one round trip */
	pgorm_stats st0, st1;
	pgorm_session_stats(s, &st0);
	void *in3[5];
	const char *emails[] = { "a@x", "d@x", "e@x", "c@x", "f@x" };
	for (int i = 0; i < 5; i++) {
		Member *m = member(emails[i], "batch");
		m->hits = 100 + i;
		in3[i] = m;
	}
	const char *upd[] = { "hits" };
	pgorm_upsert by = PGORM_UPSERT_INIT;
	by.constraint = "q_member_email_key";
	by.update_columns = upd;
	by.nupdate = 1;
	by.batch = 2;
	pgtest_log_clear(&log_);
	OK(pgorm_session_upsert(s, &by, in3, 5, &out));
	pgorm_session_stats(s, &st1);
	ck_assert_uint_eq(out.len, 5);
	ck_assert_uint_eq(pgtest_log_count(&log_, "ON CONFLICT ON CONSTRAINT \"q_member_email_key\" DO UPDATE SET \"hits\" = EXCLUDED.\"hits\""), 3);
	ck_assert_uint_eq(st1.round_trips - st0.round_trips, 1);
	ck_assert_str_eq(((Member *)out.items[0])->name, "Anna"); /* name not updated */
	ck_assert_int_eq(((Member *)out.items[0])->hits, 100);
	OK(pgorm_session_commit(s));
	ck_assert_str_eq(pgtest_text(conn, "SELECT string_agg(email || ':' || name || ':' || hits, ',' ORDER BY email) FROM q_member"),
	                 "a@x:Anna:100,b@x:Robert:0,c@x:Cy:103,d@x:batch:101,e@x:batch:102,f@x:batch:104,p@x:Pat:0");

	/* the same key twice in one statement is the server's error; the session rolls back */
	void *dup[] = { member("g@x", "1"), member("g@x", "2") };
	ck_assert_int_eq(pgorm_session_upsert(s, &how, dup, 2, &out), PGORM_ESERVER);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "21000");
	OK(pgorm_session_rollback(s));
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM q_member WHERE email = 'g@x'"), 0);
}
END_TEST

static Sub *sub(const char *email, const char *plan, int32_t seats)
{
	Sub *u = pgorm_object_new(s, &sub_model);
	ck_assert_ptr_nonnull(u);
	u->email = pgorm_strdup(s, email);
	u->active = true;
	u->plan = pgorm_strdup(s, plan);
	u->seats = seats;
	return u;
}

static const char *subs(void)
{
	return pgtest_text(conn, "SELECT string_agg(email || ':' || active || ':' || plan || ':' || seats, ',' ORDER BY id) "
	                         "FROM q_sub");
}

/* SQLAlchemy's on_conflict_do_update(index_elements, index_where, set_, where): a partial
 * unique index as the arbiter, and a condition on the update; its values bind parameters. */
START_TEST(test_upsert_where)
{
	/* the active a@x row is loaded: the upsert's returned row is merged into it */
	pgorm_query *q = query(&sub_model);
	Sub *cur = NULL;
	OK(pgorm_query_filter(q, "email", "=", PGORM_TEXT("a@x")));
	OK(pgorm_query_filter(q, "active", "=", PGORM_BOOL(true)));
	OK(pgorm_query_one(q, (void **)&cur));
	pgorm_query_destroy(q);
	ck_assert_str_eq(cur->plan, "basic");

	const char *target[] = { "email" };
	pgorm_value frozen[] = { PGORM_TEXT("frozen") };
	pgorm_upsert how = PGORM_UPSERT_INIT;
	how.conflict_columns = target;
	how.nconflict = 1;
	how.index_where = "active";
	how.where = "t.seats < EXCLUDED.seats AND t.plan <> $1";
	how.nwhere_params = 1;
	how.where_params = frozen;
	void *in[] = { sub("a@x", "team", 5), sub("c@x", "basic", 1) };
	pgorm_list out;
	pgtest_log_clear(&log_);
	OK(pgorm_session_upsert(s, &how, in, 2, &out));
	ck_assert_ptr_nonnull(strstr(last_sql(), "INSERT INTO \"q_sub\" AS t (\"email\", \"active\", \"plan\", \"seats\") "
	                                         "VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) ON CONFLICT (\"email\") WHERE (active) "
	                                         "DO UPDATE SET \"active\" = EXCLUDED.\"active\", \"plan\" = EXCLUDED.\"plan\", "
	                                         "\"seats\" = EXCLUDED.\"seats\" WHERE (t.seats < EXCLUDED.seats AND t.plan <> $9) "
	                                         "RETURNING"));
	ck_assert_uint_eq(out.len, 2);
	ck_assert_ptr_eq(out.items[0], cur); /* merged into the identity map */
	ck_assert_str_eq(cur->plan, "team");
	ck_assert_int_eq(cur->seats, 5);
	ck_assert_int_eq(pgorm_object_state(out.items[1]), PGORM_STATE_PERSISTENT);
	ck_assert_str_eq(((Sub *)out.items[1])->email, "c@x");
	OK(pgorm_session_commit(s));
	ck_assert_str_eq(subs(), "a@x:false:old:1,a@x:true:team:5,b@x:true:pro:9,c@x:true:basic:1");

	/* the condition false for the row: neither updated nor returned */
	void *in2[] = { sub("b@x", "cheap", 1) };
	OK(pgorm_session_upsert(s, &how, in2, 1, &out));
	ck_assert_uint_eq(out.len, 0);
	OK(pgorm_session_commit(s));
	ck_assert_str_eq(subs(), "a@x:false:old:1,a@x:true:team:5,b@x:true:pro:9,c@x:true:basic:1");

	/* batches: each statement numbers its own parameters; the same statement run often enough
	 * for a generic plan still finds the index (no parameter in its predicate) */
	how.batch = 1;
	for (int round = 0; round < 4; round++) {
		void *in3[] = { sub("a@x", "team", 6 + 2 * round), sub("d@x", "basic", 2 + 2 * round) };
		pgtest_log_clear(&log_);
		OK(pgorm_session_upsert(s, &how, in3, 2, &out));
		ck_assert_uint_eq(out.len, 2);
		ck_assert_uint_eq(pgtest_log_count(&log_, "WHERE (t.seats < EXCLUDED.seats AND t.plan <> $5) RETURNING"), 2);
	}
	OK(pgorm_session_commit(s));
	ck_assert_str_eq(subs(), "a@x:false:old:1,a@x:true:team:12,b@x:true:pro:9,c@x:true:basic:1,d@x:true:basic:8");

	/* an inactive row is outside the index: inserted beside the others */
	Sub *old = sub("b@x", "old", 3);
	PGORM_SET(old, active, false);
	void *in4[] = { old };
	OK(pgorm_session_upsert(s, &how, in4, 1, &out));
	ck_assert_uint_eq(out.len, 1);
	OK(pgorm_session_commit(s));
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM q_sub WHERE email = 'b@x'"), 2);

	/* without the index predicate no unique index matches: the server's 42P10 */
	pgorm_upsert plain = how;
	plain.index_where = NULL;
	void *in5[] = { sub("a@x", "x", 99) };
	ck_assert_int_eq(pgorm_session_upsert(s, &plain, in5, 1, &out), PGORM_ESERVER);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "42P10");
	OK(pgorm_session_rollback(s));

	/* DO NOTHING with the partial index as the arbiter */
	pgorm_upsert skip = PGORM_UPSERT_INIT;
	skip.conflict_columns = target;
	skip.nconflict = 1;
	skip.index_where = "active";
	skip.do_nothing = true;
	void *in6[] = { sub("a@x", "x", 99), sub("e@x", "basic", 1) };
	OK(pgorm_session_upsert(s, &skip, in6, 2, &out));
	ck_assert_uint_eq(out.len, 1);
	ck_assert_ptr_nonnull(strstr(last_sql(), "ON CONFLICT (\"email\") WHERE (active) DO NOTHING RETURNING"));
	OK(pgorm_session_commit(s));

	/* bad input: refused before anything is flushed or sent */
	Sub *pending = sub("p@x", "basic", 1);
	OK(pgorm_session_add(s, pending));
	pgorm_value bad_value[] = { PGORM_TEXTN(NULL, 3) };
	struct { const char *index_where, *where; size_t n; const pgorm_value *params; bool nothing; const char *msg; } bad[] = {
		{ "active", "t.plan <> $2", 1, frozen, false, "parameter number out of range" },
		{ "active", "t.plan <> 'x", 0, NULL, false, "unterminated" },
		{ "active", "t.seats < 1) OR (true", 0, NULL, false, "unbalanced ')'" },
		{ "active", "t.plan <> $1", 1, NULL, false, "where_params is NULL" },
		{ "active", NULL, 1, frozen, false, "where_params without where" },
		{ "active", "t.plan <> $1", 1, bad_value, false, "NULL pointer with length 3" },
		{ "active", "t.plan <> $1", 1, frozen, true, "not DO NOTHING" },
		{ "", NULL, 0, NULL, false, "index_where is empty" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pgorm_upsert b = how;
		b.index_where = bad[i].index_where;
		b.where = bad[i].where;
		b.nwhere_params = bad[i].n;
		b.where_params = bad[i].params;
		b.do_nothing = bad[i].nothing;
		void *in7[] = { sub("a@x", "x", 100) };
		pgtest_log_clear(&log_);
		ck_assert_int_eq(pgorm_session_upsert(s, &b, in7, 1, &out), PGORM_EINVAL);
		ck_assert_msg(strstr(pgorm_session_error(s)->message, bad[i].msg), "case %zu: %s", i,
		              pgorm_session_error(s)->message);
		ck_assert_uint_eq(log_.n, 0);
	}
	pgorm_upsert nocols = how;
	nocols.conflict_columns = NULL;
	nocols.nconflict = 0;
	nocols.constraint = "q_sub_pkey";
	void *in8[] = { sub("a@x", "x", 100) };
	ck_assert_int_eq(pgorm_session_upsert(s, &nocols, in8, 1, &out), PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "index_where needs conflict_columns"));
	ck_assert_int_eq(pgorm_object_state(pending), PGORM_STATE_PENDING);
	ck_assert_uint_eq(log_.n, 0);
	OK(pgorm_session_rollback(s));
}
END_TEST

START_TEST(test_keyset)
{
	/* 7 items, pages of 3 by id, then by (qty DESC, id DESC) */
	const char *key[] = { "id" };
	char got[256] = "";
	pgorm_value after;
	bool first = true;
	for (int page = 0; page < 4; page++) {
		pgorm_query *q = query(&item_model);
		OK(pgorm_query_keyset(q, 1, key, first ? NULL : &after, false, 3));
		pgorm_list l;
		OK(pgorm_query_all(q, &l));
		if (page == 1)
			ck_assert_ptr_nonnull(strstr(last_sql(), "WHERE true AND (t.\"id\") > ($1) ORDER BY t.\"id\" LIMIT 3"));
		pgorm_query_destroy(q);
		for (size_t i = 0; i < l.len; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%lld,", (long long)((Item *)l.items[i])->id);
		strcat(got, "|");
		if (l.len == 0)
			break;
		after = PGORM_INT8(((Item *)l.items[l.len - 1])->id);
		first = false;
	}
	ck_assert_str_eq(got, "1,2,3,|4,5,6,|7,||");

	pgtest_exec(conn, "UPDATE q_item SET qty = 2 WHERE id IN (1, 3, 5)");
	OK(pgorm_session_expire_all(s)); /* the rows changed behind the session's back */
	const char *key2[] = { "qty", "id" };
	pgorm_value after2[2];
	got[0] = '\0';
	first = true;
	for (int page = 0; page < 5; page++) {
		pgorm_query *q = query(&item_model);
		OK(pgorm_query_filter(q, "shop_id", "IS NOT NULL", PGORM_NULL(INT8)));
		OK(pgorm_query_keyset(q, 2, key2, first ? NULL : after2, true, 2));
		pgorm_list l;
		OK(pgorm_query_all(q, &l));
		if (page == 1)
			ck_assert_msg(strstr(last_sql(), "AND (t.\"qty\", t.\"id\") < ($1, $2) ORDER BY t.\"qty\" DESC, t.\"id\" DESC LIMIT 2"),
			              "%s", last_sql());
		pgorm_query_destroy(q);
		for (size_t i = 0; i < l.len; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%lld,", (long long)((Item *)l.items[i])->id);
		strcat(got, "|");
		if (l.len == 0)
			break;
		Item *last = l.items[l.len - 1];
		after2[0] = PGORM_INT4(last->qty);
		after2[1] = PGORM_INT8(last->id);
		first = false;
	}
	/* qty: 1→2, 2→2, 3→2, 4→4, 5→2, 6→6 */
	ck_assert_str_eq(got, "6,4,|5,3,|2,1,||");
	/* next to LIMIT/OFFSET */
	pgorm_query *q = query(&item_model);
	OK(pgorm_query_order_by(q, "id", false));
	OK(pgorm_query_limit(q, 2));
	OK(pgorm_query_offset(q, 5));
	ck_assert_str_eq(ids(q, true), "6,7");
}
END_TEST

/* A bad call: the given code, a message containing frag, and no statement sent when the
 * query then runs. */
#define BAD(call, code, frag)                                                                      \
	do {                                                                                           \
		ck_assert_int_eq((call), (code));                                                          \
		ck_assert_msg(strstr(pgorm_session_error(s)->message, (frag)) != NULL, "\"%s\" not in \"%s\"", \
		              (frag), pgorm_session_error(s)->message);                                  \
	} while (0)

static void runs_nothing(pgorm_query *q, int code)
{
	size_t before = log_.n;
	pgorm_list l;
	int64_t n;
	ck_assert_int_eq(pgorm_query_all(q, &l), code);
	ck_assert_int_eq(pgorm_query_count(q, &n), code);
	ck_assert_int_eq(pgorm_query_delete(q, NULL), code);
	ck_assert_uint_eq(log_.n, before);
	pgorm_query_destroy(q);
}

START_TEST(test_bad_input)
{
	pgorm_query *q;
	size_t before = log_.n;
	/* wrong value types, naming model.column */
	struct { const char *col, *op; pgorm_value v; int code; const char *frag; } bad[] = {
		{ "qty", "=", PGORM_TEXT("1"), PGORM_ETYPE, "q_item.qty is int4, the value is text" },
		{ "price", ">", PGORM_BOOL(true), PGORM_ETYPE, "q_item.price" },
		{ "name", "ILIKE", PGORM_INT8(1), PGORM_ETYPE, "q_item.name" },
		{ "qty", "LIKE", PGORM_TEXT("1%"), PGORM_ETYPE, "q_item.qty" },
		{ "name", "IN", PGORM_INT8_ARRAY(NULL, 0), PGORM_ETYPE, "text[]" },
		{ "qty", "NOT IN", PGORM_TEXT("x"), PGORM_ETYPE, "int8[]" },
		{ "qty", "<", PGORM_NULL(INT4), PGORM_EINVAL, "NULL" },
		{ "nope", "=", PGORM_INT4(1), PGORM_EINVAL, "q_item has no column \"nope\"" },
		{ "shop", "=", PGORM_INT4(1), PGORM_EINVAL, "\"shop\"" },
		{ NULL, "=", PGORM_INT4(1), PGORM_EINVAL, "column is NULL" },
		{ "qty", NULL, PGORM_INT4(1), PGORM_EINVAL, "operator" },
		{ "qty", "= 1 OR true --", PGORM_INT4(1), PGORM_EINVAL, "unknown operator" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		q = query(&item_model);
		BAD(pgorm_query_filter(q, bad[i].col, bad[i].op, bad[i].v), bad[i].code, bad[i].frag);
		runs_nothing(q, bad[i].code);
	}
	/* inside any(): the target's columns */
	q = query(&shop_model);
	OK(pgorm_query_any(q, "items"));
	BAD(pgorm_query_filter(q, "city", "=", PGORM_TEXT("x")), PGORM_EINVAL, "q_item has no column \"city\"");
	runs_nothing(q, PGORM_EINVAL);
	q = query(&shop_model);
	OK(pgorm_query_any(q, "items"));
	BAD(pgorm_query_filter(q, "qty", ">", PGORM_NUMERIC("1")), PGORM_ETYPE, "q_item.qty");
	runs_nothing(q, PGORM_ETYPE);
	/* any/has on what is not a relationship, or the wrong kind */
	q = query(&shop_model);
	BAD(pgorm_query_any(q, "name"), PGORM_EINVAL, "q_shop has no relationship \"name\" (it is a column)");
	runs_nothing(q, PGORM_EINVAL);
	q = query(&shop_model);
	BAD(pgorm_query_has(q, "items"), PGORM_EINVAL, "q_shop.items is a collection: use pgorm_query_any");
	runs_nothing(q, PGORM_EINVAL);
	q = query(&item_model);
	BAD(pgorm_query_any(q, "shop"), PGORM_EINVAL, "q_item.shop is a to-one relationship: use pgorm_query_has");
	runs_nothing(q, PGORM_EINVAL);
	q = query(&item_model);
	BAD(pgorm_query_any(q, NULL), PGORM_EINVAL, "relationship name is NULL");
	runs_nothing(q, PGORM_EINVAL);
	/* groups: left open, closed twice */
	q = query(&item_model);
	OK(pgorm_query_or(q));
	OK(pgorm_query_filter(q, "qty", "=", PGORM_INT4(1)));
	runs_nothing(q, PGORM_EINVAL);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "not closed"));
	q = query(&item_model);
	BAD(pgorm_query_end(q), PGORM_EINVAL, "no open group");
	runs_nothing(q, PGORM_EINVAL);
	/* BETWEEN */
	q = query(&item_model);
	BAD(pgorm_query_between(q, "qty", PGORM_INT4(1), PGORM_TEXT("9")), PGORM_ETYPE, "q_item.qty is int4, the upper bound is text");
	runs_nothing(q, PGORM_ETYPE);
	q = query(&item_model);
	BAD(pgorm_query_between(q, "qty", PGORM_NULL(INT4), PGORM_INT4(9)), PGORM_EINVAL, "NULL bound");
	runs_nothing(q, PGORM_EINVAL);
	/* order by a related column: unknown, not many-to-one */
	q = query(&item_model);
	BAD(pgorm_query_order_by(q, "shop.nope", false), PGORM_EINVAL, "q_shop has no column \"nope\"");
	runs_nothing(q, PGORM_EINVAL);
	q = query(&shop_model);
	BAD(pgorm_query_order_by(q, "items.name", false), PGORM_EINVAL, "not many-to-one");
	runs_nothing(q, PGORM_EINVAL);
	/* aggregates */
	q = query(&item_model);
	BAD(pgorm_query_agg(q, PGORM_AGG_SUM, "name"), PGORM_ETYPE, "sum(q_item.name): the column is text");
	runs_nothing(q, PGORM_ETYPE);
	q = query(&item_model);
	BAD(pgorm_query_agg(q, PGORM_AGG_AVG, NULL), PGORM_EINVAL, "avg needs a column");
	runs_nothing(q, PGORM_EINVAL);
	q = query(&item_model);
	BAD(pgorm_query_having(q, PGORM_AGG_COUNT, NULL, ">", PGORM_TEXT("1")), PGORM_ETYPE, "count(*) compared with a text value");
	runs_nothing(q, PGORM_ETYPE);
	q = query(&item_model);
	OK(pgorm_query_agg(q, PGORM_AGG_MAX, "qty"));
	runs_nothing(q, PGORM_EINVAL); /* a query with aggregates runs only through pgorm_query_aggregate */
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "pgorm_query_aggregate"));
	pgorm_result *r = (pgorm_result *)&r;
	q = query(&item_model);
	BAD(pgorm_query_aggregate(q, &r), PGORM_EINVAL, "no aggregate");
	ck_assert_ptr_null(r);
	BAD(pgorm_query_aggregate(q, NULL), PGORM_EINVAL, "out is NULL");
	pgorm_query_destroy(q);
	/* SET expressions */
	struct { const char *col, *op; pgorm_value v; int code; const char *frag; } sets[] = {
		{ "price", "*", PGORM_TEXT("1.1"), PGORM_ETYPE, "q_item.price (numeric) * a text value" },
		{ "name", "+", PGORM_INT4(1), PGORM_ETYPE, "q_item.name" },
		{ "qty", "||", PGORM_TEXT("1"), PGORM_ETYPE, "q_item.qty" },
		{ "qty", "+", PGORM_NULL(INT4), PGORM_EINVAL, "NULL" },
		{ "qty", "^", PGORM_INT4(2), PGORM_EINVAL, "unknown operator" },
		{ "qty", NULL, PGORM_INT4(2), PGORM_EINVAL, "operator is NULL" },
		{ "nope", "+", PGORM_INT4(2), PGORM_EINVAL, "nope" },
	};
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
		uint64_t aff = 9;
		q = query(&item_model);
		BAD(pgorm_query_set_expr(q, sets[i].col, sets[i].op, sets[i].v), sets[i].code, sets[i].frag);
		ck_assert_int_eq(pgorm_query_update_set(q, &aff), sets[i].code);
		ck_assert_uint_eq(aff, 0);
		pgorm_query_destroy(q);
	}
	q = query(&item_model);
	BAD(pgorm_query_set(q, "name", PGORM_NULL(TEXT)), PGORM_EINVAL, "q_item.name is NOT NULL");
	pgorm_query_destroy(q);
	q = query(&item_model);
	BAD(pgorm_query_update_set(q, NULL), PGORM_EINVAL, "nothing to SET");
	pgorm_query_destroy(q);
	/* keyset */
	const char *nullable[] = { "shop_id" }, *k1[] = { "id" };
	q = query(&item_model);
	BAD(pgorm_query_keyset(q, 1, nullable, NULL, false, 10), PGORM_EINVAL, "q_item.shop_id is nullable");
	runs_nothing(q, PGORM_EINVAL);
	q = query(&item_model);
	BAD(pgorm_query_keyset(q, 1, k1, (pgorm_value[]){ PGORM_TEXT("1") }, false, 10), PGORM_ETYPE, "q_item.id is int8");
	runs_nothing(q, PGORM_ETYPE);
	q = query(&item_model);
	OK(pgorm_query_order_by(q, "id", false));
	BAD(pgorm_query_keyset(q, 1, k1, NULL, false, 10), PGORM_EINVAL, "already has an ORDER BY");
	pgorm_query_destroy(q);
	q = query(&item_model);
	BAD(pgorm_query_keyset(q, 0, NULL, NULL, false, 10), PGORM_EINVAL, "no key columns");
	pgorm_query_destroy(q);
	/* NULL query handles */
	ck_assert_int_eq(pgorm_query_or(NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_end(NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_any(NULL, "items"), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_between(NULL, "id", PGORM_INT8(1), PGORM_INT8(2)), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_agg(NULL, PGORM_AGG_COUNT, NULL), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_aggregate(NULL, &r), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_set_expr(NULL, "qty", "+", PGORM_INT4(1)), PGORM_EINVAL);
	ck_assert_int_eq(pgorm_query_keyset(NULL, 1, k1, NULL, false, 1), PGORM_EINVAL);
	/* upsert */
	pgorm_upsert how = PGORM_UPSERT_INIT;
	const char *target[] = { "email" }, *badcol[] = { "mail" };
	Member *m = member("z@x", "Zed");
	void *one[] = { m };
	ck_assert_int_eq(pgorm_session_upsert(NULL, &how, one, 1, NULL), PGORM_EINVAL);
	BAD(pgorm_session_upsert(s, NULL, one, 1, NULL), PGORM_EINVAL, "NULL argument");
	BAD(pgorm_session_upsert(s, &how, NULL, 1, NULL), PGORM_EINVAL, "NULL argument");
	BAD(pgorm_session_upsert(s, &how, one, 1, NULL), PGORM_EINVAL, "DO UPDATE needs conflict columns or a constraint");
	how.conflict_columns = badcol;
	how.nconflict = 1;
	BAD(pgorm_session_upsert(s, &how, one, 1, NULL), PGORM_EINVAL, "q_member has no column \"mail\"");
	how.conflict_columns = target;
	how.constraint = "q_member_email_key";
	BAD(pgorm_session_upsert(s, &how, one, 1, NULL), PGORM_EINVAL, "name one");
	how.constraint = NULL;
	void *mixed[] = { m, pgorm_object_new(s, &tag_model) };
	BAD(pgorm_session_upsert(s, &how, mixed, 2, NULL), PGORM_EINVAL, "objects of q_member and q_tag");
	void *nul[] = { m, NULL };
	BAD(pgorm_session_upsert(s, &how, nul, 2, NULL), PGORM_EINVAL, "object is NULL");
	Member *added = member("y@x", "Yan");
	OK(pgorm_session_add(s, added));
	void *pend[] = { added };
	BAD(pgorm_session_upsert(s, &how, pend, 1, NULL), PGORM_EINVAL, "not transient");
	void *empty[] = { pgorm_object_new(s, &member_model) };
	BAD(pgorm_session_upsert(s, &how, empty, 1, NULL), PGORM_EINVAL, "no q_member column assigned");
	ck_assert_uint_eq(log_.n, before); /* nothing was ever sent */
	OK(pgorm_session_upsert(s, &how, one, 0, NULL)); /* nothing to do */
	ck_assert_uint_eq(log_.n, before);
	/* an object linked to one in the session is the flush's (save-update cascade), not upserted */
	void *shop = NULL;
	pgorm_value pk = PGORM_INT8(1);
	OK(pgorm_session_get(s, &shop_model, &pk, &shop));
	Item *it = pgorm_object_new(s, &item_model);
	it->name = "linked";
	it->price = "1";
	PGORM_SET(it, qty, 1);
	PGORM_SET(it, weight, 1.0);
	OK(pgorm_rel_append(s, pgorm_registry_rel(reg, &shop_model, "items"), shop, it));
	const char *byid[] = { "id" };
	pgorm_upsert ih = PGORM_UPSERT_INIT;
	ih.conflict_columns = byid;
	ih.nconflict = 1;
	void *its[] = { it };
	ck_assert_int_eq(pgorm_session_upsert(s, &ih, its, 1, NULL), PGORM_EINVAL);
	ck_assert_msg(strstr(pgorm_session_error(s)->message, "transient") || strstr(pgorm_session_error(s)->message, "cascade"),
	              "%s", pgorm_session_error(s)->message);
	ck_assert_uint_eq(pgtest_log_count(&log_, "ON CONFLICT"), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("queries");
	TCase *tc = pgtest_tcase(su, "queries", 60, setup, teardown);
	tcase_add_test(tc, test_boolean_structure);
	tcase_add_test(tc, test_any_has);
	tcase_add_test(tc, test_aggregates);
	tcase_add_test(tc, test_update_expressions);
	tcase_add_test(tc, test_upsert);
	tcase_add_test(tc, test_upsert_where);
	tcase_add_test(tc, test_keyset);
	tcase_add_test(tc, test_bad_input);
	return pgtest_run(su);
}
