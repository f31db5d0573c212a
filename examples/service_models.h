/* examples/service_models.h — the six models of a small shop, declared with the shape
 * macros of pgorm/model.h. examples/service_models.py declares the same models with
 * SQLAlchemy; README compares the line counts (the declarations between the BEGIN/END marks). */
#ifndef SERVICE_MODELS_H
#define SERVICE_MODELS_H

#include <pgorm.h>

typedef struct Customer Customer;
typedef struct Order Order;
typedef struct Line Line;
typedef struct Product Product;
typedef struct Category Category;
typedef struct Tag Tag;
extern const pgorm_model customer_model, order_model, line_model, product_model, category_model, tag_model;

/* BEGIN models */
struct Customer { pgorm_object o; int64_t id; char *name; pgorm_collection orders; };
struct Order { pgorm_object o; int64_t id, customer_id; int64_t placed; Customer *customer;
               pgorm_collection lines, tags; };
struct Line { pgorm_object o; int64_t id, order_id, product_id; int32_t no, qty; Order *order; Product *product; };
struct Product { pgorm_object o; int64_t id; char *name; int64_t category_id; Category *category; };
struct Category { pgorm_object o; int64_t id; char *name; int64_t parent_id; Category *parent;
                  pgorm_collection children, products; };
struct Tag { pgorm_object o; int64_t id; char *name; pgorm_collection orders; };

#define KEY(S) PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, S, id)
#define FK(S, col, field, table, flags) PGORM_COLUMN_FK(INT8, col, flags, S, field, table, "id", PGORM_FK_NO_ACTION)
static const pgorm_column customer_cols[] = { KEY(Customer), PGORM_COLUMN(TEXT, "name", 0, Customer, name), PGORM_COLUMN_END };
static const pgorm_column order_cols[] = { KEY(Order), FK(Order, "customer_id", customer_id, "customers", 0),
	PGORM_COLUMN(TIMESTAMPTZ, "placed", PGORM_SERVER_DEFAULT, Order, placed), PGORM_COLUMN_END };
static const pgorm_column line_cols[] = { KEY(Line), FK(Line, "order_id", order_id, "orders", 0),
	FK(Line, "product_id", product_id, "products", 0), PGORM_COLUMN(INT4, "no", 0, Line, no),
	PGORM_COLUMN(INT4, "qty", 0, Line, qty), PGORM_COLUMN_END };
static const pgorm_column product_cols[] = { KEY(Product), PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, Product, name),
	FK(Product, "category_id", category_id, "categories", PGORM_NULLABLE), PGORM_COLUMN_END };
static const pgorm_column category_cols[] = { KEY(Category), PGORM_COLUMN(TEXT, "name", 0, Category, name),
	FK(Category, "parent_id", parent_id, "categories", PGORM_NULLABLE), PGORM_COLUMN_END };
static const pgorm_column tag_cols[] = { KEY(Tag), PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, Tag, name), PGORM_COLUMN_END };

static const pgorm_relationship customer_rels[] = { { PGORM_O2M("orders", Customer, orders, &order_model,
	"customer_id", "customer"), .cascade = PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN }, PGORM_RELATIONSHIP_END };
static const pgorm_relationship order_rels[] = {
	{ PGORM_M2O("customer", Order, customer, &customer_model, "customer_id", "orders") },
	{ PGORM_O2M("lines", Order, lines, &line_model, "order_id", "order"),
	  .cascade = PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN, .order_by = "no" },
	{ PGORM_M2M("tags", Order, tags, &tag_model, "order_tags", "order_id", "tag_id", "orders") }, PGORM_RELATIONSHIP_END };
static const pgorm_relationship line_rels[] = { { PGORM_M2O("order", Line, order, &order_model, "order_id", "lines") },
	{ PGORM_M2O("product", Line, product, &product_model, "product_id", NULL) }, PGORM_RELATIONSHIP_END };
static const pgorm_relationship product_rels[] = { { PGORM_M2O("category", Product, category, &category_model,
	"category_id", "products") }, PGORM_RELATIONSHIP_END };
static const pgorm_relationship category_rels[] = {
	{ PGORM_M2O("parent", Category, parent, &category_model, "parent_id", "children") },
	{ PGORM_O2M("children", Category, children, &category_model, "parent_id", "parent") },
	{ PGORM_O2M("products", Category, products, &product_model, "category_id", "category") }, PGORM_RELATIONSHIP_END };
static const pgorm_relationship tag_rels[] = { { PGORM_M2M("orders", Tag, orders, &order_model, "order_tags", "tag_id",
	"order_id", "tags") }, PGORM_RELATIONSHIP_END };

const pgorm_model customer_model = PGORM_MODEL("customers", Customer, customer_cols, customer_rels);
const pgorm_model order_model = PGORM_MODEL("orders", Order, order_cols, order_rels);
const pgorm_model line_model = PGORM_MODEL("lines", Line, line_cols, line_rels);
const pgorm_model product_model = PGORM_MODEL("products", Product, product_cols, product_rels);
const pgorm_model category_model = PGORM_MODEL("categories", Category, category_cols, category_rels);
const pgorm_model tag_model = PGORM_MODEL("tags", Tag, tag_cols, tag_rels);
/* END models */

#endif
