/* test/tools/gen_check.c — drives the models pgorm-gen wrote from test/tools/gen_schema.sql
 * (test/tools/test_gen.sh compiles it with the generated shop.c):
 *
 *   gen_check CONNINFO SCHEMA check   pgorm_registry_check: prints the report, exit 1 on any difference
 *   gen_check CONNINFO SCHEMA crud    insert a graph of every shape, load it back with selectin,
 *                                     update, delete; exit 1 on the first wrong result
 */
#include "shop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pgorm_session *sess;

#define TRY(expr) do { int rc_ = (expr); if (rc_ != 0) { fprintf(stderr, "gen_check:%d: %s: %s (%s)\n", __LINE__, #expr, \
	pgorm_err_name(rc_), sess ? pgorm_session_error(sess)->message : ""); exit(1); } } while (0)
#define EXPECT(cond) do { if (!(cond)) { fprintf(stderr, "gen_check:%d: expected %s\n", __LINE__, #cond); exit(1); } } while (0)

static int64_t scalar(pgorm_conn *c, const char *sql)
{
	pgorm_result *r = NULL;
	int64_t v = -1;
	if (pgorm_conn_exec(c, sql, 0, NULL, &r) != 0 || pgorm_result_int64(r, 0, 0, &v) != 0) {
		fprintf(stderr, "gen_check: %s: %s\n", sql, pgorm_conn_error(c)->message);
		exit(1);
	}
	pgorm_result_free(r);
	return v;
}

static const pgorm_rel *rel(const pgorm_registry *reg, const pgorm_model *m, const char *name)
{
	const pgorm_rel *r = pgorm_registry_rel(reg, m, name);
	if (r == NULL) {
		fprintf(stderr, "gen_check: no relationship %s.%s\n", m->table, name);
		exit(1);
	}
	return r;
}

static void crud(const pgorm_registry *reg, pgorm_conn *c)
{
	TRY(pgorm_session_create(&sess, reg, NULL, c, NULL, NULL));
	Customers *ann = pgorm_object_new(sess, &customers_model);
	ann->name = "ann";
	ann->email = "ann@example.org";
	ann->code = "A001";
	TRY(PGORM_SET(ann, small, 0));
	ann->medium = 7;
	ann->big = 1LL << 40;
	ann->ratio = 0.5f;
	ann->score = 2.25;
	ann->photo = (pgorm_bytes){ (uint8_t *)"\x00\x01\x02", 3 };
	ann->balance = "12.50";
	ann->born = 100;
	ann->seen = 1000000;
	ann->doc = "{\"a\": 1}";
	ann->docb = "{\"b\": 2}";
	Orders *o1 = pgorm_object_new(sess, &orders_model), *o2 = pgorm_object_new(sess, &orders_model);
	o1->note = "first";
	o2->note = "second";
	o2->status = "paid"; /* an enum label */
	TRY(pgorm_rel_append(sess, rel(reg, &customers_model, "orders"), ann, o1));
	TRY(pgorm_rel_append(sess, rel(reg, &customers_model, "orders"), ann, o2));
	Tags *red = pgorm_object_new(sess, &tags_model), *blue = pgorm_object_new(sess, &tags_model);
	red->label = "red";
	blue->label = "blue";
	TRY(pgorm_rel_append(sess, rel(reg, &orders_model, "tags"), o1, red));
	TRY(pgorm_rel_append(sess, rel(reg, &orders_model, "tags"), o1, blue));
	TRY(pgorm_rel_append(sess, rel(reg, &orders_model, "tags"), o2, red));
	TRY(pgorm_rel_append(sess, rel(reg, &tags_model, "tag_links_related"), red, blue)); /* self-referencing many-to-many */
	Accounts *acc = pgorm_object_new(sess, &accounts_model), *other = pgorm_object_new(sess, &accounts_model);
	acc->default_ = "main";
	TRY(pgorm_rel_set(sess, rel(reg, &customers_model, "accounts"), ann, acc)); /* one-to-one */
	Transfers *t = pgorm_object_new(sess, &transfers_model);
	t->amount = "5";
	TRY(pgorm_rel_set(sess, rel(reg, &transfers_model, "from"), t, acc));
	TRY(pgorm_rel_set(sess, rel(reg, &transfers_model, "to"), t, other));
	Categories *root = pgorm_object_new(sess, &categories_model), *leaf = pgorm_object_new(sess, &categories_model);
	root->name = "root";
	leaf->name = "leaf";
	TRY(pgorm_rel_append(sess, rel(reg, &categories_model, "categories_by_parent"), root, leaf)); /* self-reference */
	Shipments *sh = pgorm_object_new(sess, &shipments_model);
	sh->no = 1;
	TRY(pgorm_rel_set(sess, rel(reg, &shipments_model, "order"), sh, o1));
	Parcels *p = pgorm_object_new(sess, &parcels_model);
	p->weight = 1.5;
	TRY(pgorm_rel_set(sess, rel(reg, &parcels_model, "order"), p, sh)); /* composite foreign key */
	void *roots[] = { ann, t, root, sh, p };
	for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
		TRY(pgorm_session_add(sess, roots[i]));
	TRY(pgorm_session_commit(sess));
	EXPECT(scalar(c, "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.name = 'ann'") == 2);
	EXPECT(scalar(c, "SELECT count(*) FROM orders WHERE status = 'paid'") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM orders WHERE status IS NULL") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM order_tags") == 3);
	EXPECT(scalar(c, "SELECT count(*) FROM tag_links") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM accounts a JOIN customers c ON c.id = a.customer_id") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM transfers WHERE from_id <> to_id") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM categories WHERE parent_id IS NOT NULL") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM parcels p JOIN shipments s ON (s.order_id, s.no) = (p.order_id, p.shipment_no)") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM customers WHERE small = 0 AND medium = 7 AND big = 1099511627776 AND "
	                 "ratio = 0.5 AND score = 2.25 AND photo = '\\x000102' AND balance = 12.5 AND born = '2000-04-10' "
	                 "AND seen = '2000-01-01 00:00:01' AND doc::text = '{\"a\": 1}' AND docb = '{\"b\": 2}' "
	                 "AND active AND token IS NOT NULL AND code = 'A001'") == 1);
	pgorm_session_destroy(sess);

	/* a fresh session: the whole graph with selectin, a fixed number of statements (the first
	 * result with the enum column makes the connection look up the enum's OID: one more) */
	TRY(pgorm_session_create(&sess, reg, NULL, c, NULL, NULL));
	pgorm_query *q = NULL;
	TRY(pgorm_query_create(&q, sess, &customers_model));
	const char *paths[] = { "orders", "orders.tags", "accounts", "accounts.transfers_by_from" };
	for (size_t i = 0; i < 4; i++)
		TRY(pgorm_query_option(q, paths[i], PGORM_LOAD_SELECTIN));
	pgorm_list found;
	TRY(pgorm_query_all(q, &found));
	pgorm_query_destroy(q);
	pgorm_stats st;
	pgorm_session_stats(sess, &st);
	EXPECT(found.len == 1);
	EXPECT(st.selects == 6); /* 5 loads + the lookup of the enum type's OID (once per connection) */
	ann = found.items[0];
	EXPECT(strcmp(ann->name, "ann") == 0 && ann->orders.len == 2 && ann->accounts != NULL);
	EXPECT(ann->accounts->transfers_by_from.len == 1);
	EXPECT(ann->big == 1LL << 40 && ann->photo.len == 3 && strcmp(ann->balance, "12.50") == 0);
	size_t ntags = 0;
	for (size_t i = 0; i < ann->orders.len; i++)
		ntags += ((Orders *)ann->orders.items[i])->tags.len;
	EXPECT(ntags == 3);
	/* update, and delete through the relationship (an order without shipments) */
	ann->name = "ann b.";
	Orders *second = NULL;
	for (size_t i = 0; i < ann->orders.len; i++)
		if (strcmp(((Orders *)ann->orders.items[i])->note, "second") == 0)
			second = ann->orders.items[i];
	EXPECT(second != NULL);
	TRY(pgorm_session_delete(sess, second));
	TRY(pgorm_session_commit(sess));
	EXPECT(scalar(c, "SELECT count(*) FROM customers WHERE name = 'ann b.'") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM orders") == 1);
	EXPECT(scalar(c, "SELECT count(*) FROM order_tags") == 2);
	pgorm_session_destroy(sess);
	sess = NULL;
	printf("crud: insert, selectin load (%d statements), update, delete: ok\n", (int)st.selects);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: gen_check CONNINFO SCHEMA check|crud\n");
		return 2;
	}
	char conninfo[1024];
	snprintf(conninfo, sizeof conninfo, "%s options='-csearch_path=%s'", argv[1], argv[2]);
	pgorm_registry *reg = NULL;
	pgorm_error err;
	if (pgorm_registry_create(&reg, shop_models, SHOP_MODELS_COUNT, &err) != 0) {
		fprintf(stderr, "gen_check: registry: %s\n", err.message);
		return 1;
	}
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = conninfo;
	pgorm_conn *c = NULL;
	if (pgorm_conn_connect(&c, &cfg, &err) != 0) {
		fprintf(stderr, "gen_check: connect: %s\n", err.message);
		return 1;
	}
	int status = 0;
	if (strcmp(argv[3], "check") == 0) {
		char *report = NULL;
		int n = pgorm_registry_check(reg, c, &report);
		if (n < 0) {
			fprintf(stderr, "gen_check: check: %s\n", pgorm_conn_error(c)->message);
			status = 1;
		} else {
			printf("check: %d difference%s\n%s", n, n == 1 ? "" : "s", report ? report : "");
			status = n != 0;
		}
		pgorm_free(report);
	} else {
		crud(reg, c);
	}
	pgorm_conn_close(c);
	pgorm_registry_destroy(reg);
	return status;
}
