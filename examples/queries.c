/* examples/queries.c — the query layer beyond plain filters: an upsert (INSERT … ON CONFLICT)
 * merged into the identity map, OR / IN / LIKE, a filter through a relationship (has), an
 * expression in a bulk UPDATE, an aggregate with GROUP BY / HAVING, and keyset pagination.
 *
 *   SQLAlchemy:  stmt = insert(Product).values(rows).on_conflict_do_update(
 *                    index_elements=[Product.sku], set_={"name": stmt.excluded.name,
 *                                                     "price": stmt.excluded.price})
 *                session.scalars(stmt.returning(Product),
 *                                execution_options={"populate_existing": True})
 *
 * Usage: queries [CONNINFO]   (default: PGORM_TEST_DSN, then libpq's PG* variables).
 * Works in the schema ex_queries, dropped and recreated at each run.
 */
#include "example.h"

typedef struct Supplier {
	pgorm_object hdr;
	int64_t id;
	char *name;
	char *country;
	pgorm_collection products;
} Supplier;

typedef struct Product {
	pgorm_object hdr;
	int64_t id;
	char *sku;                  /* UNIQUE: the upsert's conflict target */
	char *name;
	char *price;                /* numeric, as a decimal string */
	int32_t stock;
	int64_t supplier_id;
	Supplier *supplier;
} Product;

extern const pgorm_model supplier_model, product_model;

static const pgorm_column supplier_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Supplier, id),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Supplier, name),
	PGORM_COLUMN(TEXT, "country", PGORM_NOT_NULL, Supplier, country),
	PGORM_COLUMN_END
};
static const pgorm_relationship supplier_relationships[] = {
	{ PGORM_O2M("products", Supplier, products, &product_model, "supplier_id", "supplier") },
	PGORM_RELATIONSHIP_END
};
const pgorm_model supplier_model = PGORM_MODEL("suppliers", Supplier, supplier_columns, supplier_relationships);

static const pgorm_column product_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Product, id),
	PGORM_COLUMN(TEXT, "sku", PGORM_UNIQUE, Product, sku),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Product, name),
	PGORM_COLUMN(NUMERIC, "price", PGORM_NOT_NULL, Product, price),
	PGORM_COLUMN(INT4, "stock", PGORM_NOT_NULL, Product, stock),
	PGORM_COLUMN_FK(INT8, "supplier_id", PGORM_NOT_NULL, Product, supplier_id, "suppliers", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
static const pgorm_relationship product_relationships[] = {
	{ PGORM_M2O("supplier", Product, supplier, &supplier_model, "supplier_id", "products") },
	PGORM_RELATIONSHIP_END
};
const pgorm_model product_model = PGORM_MODEL("products", Product, product_columns, product_relationships);

static pgorm_session *s;

static Product *product(const char *sku, const char *name, const char *price, int32_t stock, int64_t supplier)
{
	Product *p = pgorm_object_new(s, &product_model);
	p->sku = pgorm_strdup(s, sku);
	p->name = pgorm_strdup(s, name);
	p->price = pgorm_strdup(s, price);
	PGORM_SET(p, stock, stock);
	p->supplier_id = supplier;
	return p;
}

static void show(const char *title, pgorm_query *q)
{
	pgorm_list l;
	EX_TRY(s, title, pgorm_query_all(q, &l));
	pgorm_query_destroy(q);
	printf("  %s:", title);
	for (size_t i = 0; i < l.len; i++) {
		const Product *p = l.items[i];
		printf("%s %s", i ? "," : "", p->sku);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	pgorm_conn *c = ex_connect(argc, argv, "queries", "ex_queries");
	const pgorm_model *models[] = { &supplier_model, &product_model };
	pgorm_registry *reg = ex_registry(c, models, 2);
	s = ex_session(reg, c);
	pgorm_query *q;

	printf("queries: upsert, boolean filters, has(), UPDATE expressions, aggregates, keyset pages\n");

	ex_step("two suppliers and two products, the ordinary way");
	const char *sup[][2] = { { "Acme", "DE" }, { "Globex", "US" } };
	for (int i = 0; i < 2; i++) {
		Supplier *x = pgorm_object_new(s, &supplier_model);
		x->name = pgorm_strdup(s, sup[i][0]);
		x->country = pgorm_strdup(s, sup[i][1]);
		EX_TRY(s, "add", pgorm_session_add(s, x));
	}
	EX_TRY(s, "flush", pgorm_session_flush(s));
	Product *bolt = product("B-1", "bolt", "0.10", 500, 1);
	EX_TRY(s, "add", pgorm_session_add(s, bolt));
	EX_TRY(s, "add", pgorm_session_add(s, product("N-1", "nut", "0.05", 800, 1)));
	EX_TRY(s, "commit", pgorm_session_commit(s));

	ex_step("upsert a price list by sku: B-1 exists (updated), W-1 and S-1 are new (inserted)");
	void *list[] = { product("B-1", "bolt M6", "0.12", 500, 1), product("W-1", "washer", "0.02", 1000, 2),
		         product("S-1", "screw", "0.08", 300, 2) };
	const char *by_sku[] = { "sku" }, *update[] = { "name", "price" };
	pgorm_upsert how = PGORM_UPSERT_INIT;
	how.conflict_columns = by_sku;
	how.nconflict = 1;
	how.update_columns = update;   /* stock is left alone on conflict */
	how.nupdate = 2;
	pgorm_list out;
	EX_TRY(s, "upsert", pgorm_session_upsert(s, &how, list, 3, &out));
	printf("  %zu rows written; the first is the session's bolt object: %s, now \"%s\" at %s\n", out.len,
	       out.items[0] == (void *)bolt ? "yes" : "no", bolt->name, bolt->price);

	ex_step("upsert with DO NOTHING: the existing N-1 is skipped, not returned");
	void *again[] = { product("N-1", "nut (ignored)", "9.99", 1, 1) };
	pgorm_upsert skip = PGORM_UPSERT_INIT;
	skip.do_nothing = true;
	EX_TRY(s, "upsert", pgorm_session_upsert(s, &skip, again, 1, &out));
	printf("  %zu rows written\n", out.len);
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "products", "SELECT sku, name, price::text, stock, supplier_id FROM products ORDER BY id");

	ex_step("OR group, IN list, LIKE: sku IN ('B-1','S-1') OR name LIKE 'wash%%'");
	EX_TRY(s, "query", pgorm_query_create(&q, s, &product_model));
	const char *skus[] = { "B-1", "S-1" };
	pgorm_query_or(q);
	pgorm_query_filter(q, "sku", "IN", PGORM_TEXT_ARRAY(skus, 2));
	pgorm_query_filter(q, "name", "STARTSWITH", PGORM_TEXT("wash"));
	pgorm_query_end(q);
	pgorm_query_order_by(q, "id", false);
	show("found", q);

	ex_step("through a relationship: products whose supplier has country 'US' (has())");
	EX_TRY(s, "query", pgorm_query_create(&q, s, &product_model));
	pgorm_query_has(q, "supplier");
	pgorm_query_filter(q, "country", "=", PGORM_TEXT("US"));
	pgorm_query_end(q);
	pgorm_query_order_by(q, "supplier.name", false);
	pgorm_query_order_by(q, "sku", false);
	show("found", q);

	ex_step("bulk UPDATE with expressions: Globex raises prices by 10%% and sells 100 of each");
	EX_TRY(s, "query", pgorm_query_create(&q, s, &product_model));
	pgorm_query_filter(q, "supplier_id", "=", PGORM_INT8(2));
	pgorm_query_set_expr(q, "price", "*", PGORM_NUMERIC("1.10"));
	pgorm_query_set_expr(q, "stock", "-", PGORM_INT4(100));
	uint64_t affected = 0;
	EX_TRY(s, "update", pgorm_query_update_set(q, &affected));
	pgorm_query_destroy(q);
	printf("  %" PRIu64 " rows updated\n", affected);
	EX_TRY(s, "commit", pgorm_session_commit(s));

	ex_step("aggregate: per supplier, count, total stock, max price, suppliers with >= 2 products");
	EX_TRY(s, "query", pgorm_query_create(&q, s, &product_model));
	pgorm_query_group_by(q, "supplier_id");
	pgorm_query_agg(q, PGORM_AGG_COUNT, NULL);
	pgorm_query_agg(q, PGORM_AGG_SUM, "stock");
	pgorm_query_agg(q, PGORM_AGG_MAX, "price");
	pgorm_query_having(q, PGORM_AGG_COUNT, NULL, ">=", PGORM_INT8(2));
	pgorm_query_order_by(q, "supplier_id", false);
	pgorm_result *r = NULL;
	EX_TRY(s, "aggregate", pgorm_query_aggregate(q, &r));
	pgorm_query_destroy(q);
	for (size_t i = 0; i < pgorm_result_rows(r); i++) {
		int64_t sid, n, stock;
		pgorm_value maxp;
		pgorm_result_int64(r, i, 0, &sid);
		pgorm_result_int64(r, i, 1, &n);
		pgorm_result_int64(r, i, 2, &stock);
		pgorm_result_get(r, i, 3, PGORM_TYPE_NUMERIC, &maxp, NULL);
		printf("  supplier %" PRId64 ": %s %" PRId64 ", %s %" PRId64 ", %s %s\n", sid, pgorm_result_col_name(r, 1), n,
		       pgorm_result_col_name(r, 2), stock, pgorm_result_col_name(r, 3), maxp.u.str.ptr);
	}
	pgorm_result_free(r);

	ex_step("keyset pagination by (sku), two per page");
	const char *key[] = { "sku" };
	pgorm_value after;
	for (int page = 1;; page++) {
		EX_TRY(s, "query", pgorm_query_create(&q, s, &product_model));
		pgorm_query_keyset(q, 1, key, page > 1 ? &after : NULL, false, 2);
		pgorm_list l;
		EX_TRY(s, "page", pgorm_query_all(q, &l));
		pgorm_query_destroy(q);
		printf("  page %d:", page);
		for (size_t i = 0; i < l.len; i++)
			printf(" %s", ((Product *)l.items[i])->sku);
		printf("\n");
		if (l.len < 2)
			break;
		after = PGORM_TEXT(((Product *)l.items[l.len - 1])->sku);
	}
	EX_TRY(s, "commit", pgorm_session_commit(s));

	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_conn_close(c);
	return 0;
}
