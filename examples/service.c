/* examples/service.c — a small shop on six models (examples/service_models.h): customers with
 * orders, order lines pointing at products, products in a category tree, tags on orders
 * (many-to-many). Shows the shape macros, selectin loading of a whole graph in a fixed number
 * of queries, collection assignment (pgorm_rel_replace), compile-checked relationship handles
 * (PGORM_REL_OF) and the delete cascade down a graph.
 *
 * Works in the schema ex_service, dropped and recreated at each run.
 */
#include "example.h"
#include "service_models.h"

static const char *line_name(const Line *l) { return l->product ? l->product->name : "?"; }

static void show_order(const Order *o)
{
	printf("  order of %s: lines [", o->customer ? o->customer->name : "?");
	for (size_t i = 0; i < o->lines.len; i++) {
		const Line *l = o->lines.items[i];
		printf("%s%d x %s", i ? ", " : "", l->qty, line_name(l));
	}
	printf("], tags [");
	for (size_t i = 0; i < o->tags.len; i++)
		printf("%s%s", i ? ", " : "", ((const Tag *)o->tags.items[i])->name);
	printf("]\n");
}

static Line *new_line(pgorm_session *s, int no, int qty, Product *p)
{
	Line *l = pgorm_object_new(s, &line_model);
	l->no = no;
	l->qty = qty;
	EX_TRY(s, "set product", pgorm_rel_set(s, PGORM_REL_OF(pgorm_session_registry(s), &line_model, Line, product), l, p));
	return l;
}

int main(int argc, char **argv)
{
	pgorm_conn *c = ex_connect(argc, argv, "service", "ex_service");
	const pgorm_model *models[] = { &customer_model, &order_model, &line_model,
	                                &product_model, &category_model, &tag_model };
	pgorm_registry *reg = ex_registry(c, models, 6);
	pgorm_session *s = ex_session(reg, c);
	const pgorm_rel *orders = PGORM_REL_OF(reg, &customer_model, Customer, orders);
	const pgorm_rel *lines = PGORM_REL_OF(reg, &order_model, Order, lines);
	const pgorm_rel *tags = PGORM_REL_OF(reg, &order_model, Order, tags);
	const pgorm_rel *children = PGORM_REL_OF(reg, &category_model, Category, children);
	const pgorm_rel *category = PGORM_REL_OF(reg, &product_model, Product, category);

	printf("service: six models declared with the shape macros (see README for the line count)\n");

	ex_step("a category tree, three products, two tags, a customer with one order of two lines");
	Category *food = pgorm_object_new(s, &category_model), *fruit = pgorm_object_new(s, &category_model);
	food->name = "food";
	fruit->name = "fruit";
	EX_TRY(s, "append", pgorm_rel_append(s, children, food, fruit));
	const char *pnames[] = { "apple", "pear", "bread" };
	Product *prod[3];
	for (int i = 0; i < 3; i++) {
		prod[i] = pgorm_object_new(s, &product_model);
		prod[i]->name = (char *)pnames[i];
		EX_TRY(s, "category", pgorm_rel_set(s, category, prod[i], i < 2 ? fruit : food));
		EX_TRY(s, "add", pgorm_session_add(s, prod[i]));
	}
	Tag *gift = pgorm_object_new(s, &tag_model);
	gift->name = "gift";
	Customer *ann = pgorm_object_new(s, &customer_model);
	ann->name = "ann";
	Order *o = pgorm_object_new(s, &order_model);
	EX_TRY(s, "append", pgorm_rel_append(s, orders, ann, o));
	EX_TRY(s, "append", pgorm_rel_append(s, lines, o, new_line(s, 1, 3, prod[0])));
	EX_TRY(s, "append", pgorm_rel_append(s, lines, o, new_line(s, 2, 1, prod[2])));
	EX_TRY(s, "append", pgorm_rel_append(s, tags, o, gift));
	EX_TRY(s, "add", pgorm_session_add(s, ann));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "lines", "SELECT l.no, l.qty, p.name FROM lines l JOIN products p ON p.id = l.product_id ORDER BY l.no");

	ex_step("a fresh session loads the customer's whole graph with selectin: one query per relationship");
	pgorm_session_destroy(s);
	s = ex_session(reg, c);
	pgorm_query *q = NULL;
	EX_TRY(s, "query", pgorm_query_create(&q, s, &customer_model));
	const char *paths[] = { "orders", "orders.lines", "orders.lines.product", "orders.tags" };
	for (size_t i = 0; i < 4; i++)
		EX_TRY(s, "option", pgorm_query_option(q, paths[i], PGORM_LOAD_SELECTIN));
	pgorm_list found;
	EX_TRY(s, "all", pgorm_query_all(q, &found));
	pgorm_query_destroy(q);
	ann = found.items[0];
	o = ann->orders.items[0];
	show_order(o);

	ex_step("collection assignment: order.lines = [pear x 2, bread x 1] (apple dropped: delete-orphan)");
	void *want[] = { new_line(s, 1, 2, NULL), o->lines.items[1] };
	void *got = NULL;
	EX_TRY(s, "query", pgorm_query_create(&q, s, &product_model));
	EX_TRY(s, "filter", pgorm_query_filter(q, "name", "=", PGORM_TEXT("pear")));
	EX_TRY(s, "first", pgorm_query_first(q, &got));
	pgorm_query_destroy(q);
	EX_TRY(s, "set", pgorm_rel_set(s, PGORM_REL_OF(reg, &line_model, Line, product), want[0], got));
	EX_TRY(s, "replace", pgorm_rel_replace(s, lines, o, want, 2));
	Tag *rush = pgorm_object_new(s, &tag_model);
	rush->name = "rush";
	EX_TRY(s, "append", pgorm_rel_append(s, tags, o, rush));
	show_order(o);
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "lines", "SELECT l.no, l.qty, p.name FROM lines l JOIN products p ON p.id = l.product_id ORDER BY l.no");
	ex_show(c, "order_tags", "SELECT t.name FROM order_tags ot JOIN tags t ON t.id = ot.tag_id ORDER BY t.name");

	ex_step("delete the customer: all + delete-orphan takes the order, its lines and tag links along");
	EX_TRY(s, "delete", pgorm_session_delete(s, ann));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "what is left", "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM orders) "
	                           "AS orders, (SELECT count(*) FROM lines) AS lines, (SELECT count(*) FROM order_tags) "
	                           "AS order_tags, (SELECT count(*) FROM products) AS products");

	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_conn_close(c);
	return 0;
}
