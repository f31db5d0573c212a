/* examples/backref.c — backref="parent" declared once, on table_parents.children. The
 * registry generates the partner relationship TableChild.parent; the child struct has no field
 * for it, so it lives in the object header and is reached through pgorm_rel_get / pgorm_rel_set
 * (and still stays in sync with the collection, both ways).
 *
 *   SQLAlchemy:  class TableParent(Base):
 *                    __tablename__ = "table_parents"
 *                    children = relationship("TableChild", backref="parent")
 *                class TableChild(Base):
 *                    __tablename__ = "table_children"
 *                    parent_id = mapped_column(ForeignKey("table_parents.id"))
 *
 * It also shows the registry rejecting the classic mistake: backref="parent" when the child
 * model already declares a "parent" attribute.
 *
 * Usage: backref [CONNINFO]   (default: PGORM_TEST_DSN, then libpq's PG* variables).
 * Works in the schema ex_backref, dropped and recreated at each run.
 */
#include "example.h"

typedef struct TableParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} TableParent;

typedef struct TableChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	/* no `parent` field: the backref lives in hdr */
} TableChild;

extern const pgorm_model parent_model, child_model;

static const pgorm_column parent_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, TableParent, id),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, TableParent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship parent_relationships[] = {
	/* name, struct, field, target, FK column, backref (the generated partner), cascade */
	PGORM_ONE_TO_MANY_BACKREF("children", TableParent, children, &child_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model parent_model =
	PGORM_MODEL("table_parents", TableParent, parent_columns, parent_relationships);

static const pgorm_column child_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, TableChild, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, TableChild, parent_id, "table_parents", "id",
	                PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, TableChild, name),
	PGORM_COLUMN_END
};
const pgorm_model child_model = PGORM_MODEL("table_children", TableChild, child_columns, NULL);

/* The mistake: the same backref on a child model that already has "parent". */
typedef struct BadChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	TableParent *parent;
} BadChild;
extern const pgorm_model bad_parent_model, bad_child_model;
static const pgorm_relationship bad_parent_relationships[] = {
	PGORM_ONE_TO_MANY_BACKREF("children", TableParent, children, &bad_child_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model bad_parent_model =
	PGORM_MODEL("bad_parents", TableParent, parent_columns, bad_parent_relationships);
static const pgorm_column bad_child_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, BadChild, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, BadChild, parent_id, "bad_parents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END
};
static const pgorm_relationship bad_child_relationships[] = {
	PGORM_MANY_TO_ONE("parent", BadChild, parent, &bad_parent_model, "parent_id", NULL),
	PGORM_RELATIONSHIP_END
};
const pgorm_model bad_child_model = PGORM_MODEL("bad_children", BadChild, bad_child_columns, bad_child_relationships);

static pgorm_session *s;
static const pgorm_rel *children, *parent;

static const char *parent_name(TableChild *ch)
{
	void *p = NULL;
	EX_TRY(s, "get", pgorm_rel_get(s, parent, ch, &p));
	return p ? ((TableParent *)p)->name : "NULL";
}

static void show(TableParent *const *ps, size_t np, TableChild *const *cs, size_t nc)
{
	for (size_t i = 0; i < np; i++) {
		printf("  %s.children = [", ps[i]->name);
		for (size_t j = 0; j < ps[i]->children.len; j++)
			printf("%s%s", j ? ", " : "", ((TableChild *)ps[i]->children.items[j])->name);
		printf("]\n");
	}
	for (size_t i = 0; i < nc; i++)
		printf("  pgorm_rel_get(parent, %s) = %s\n", cs[i]->name, parent_name(cs[i]));
}

int main(int argc, char **argv)
{
	pgorm_conn *c = ex_connect(argc, argv, "backref", "ex_backref");
	const pgorm_model *models[] = { &parent_model, &child_model };
	pgorm_registry *reg = ex_registry(c, models, 2);
	s = ex_session(reg, c);
	children = pgorm_registry_rel(reg, &parent_model, "children");
	parent = pgorm_registry_rel(reg, &child_model, "parent");

	printf("backref: TableParent.children declared with backref \"parent\"\n");
	printf("  generated: %s.%s (%s), partner of %s.%s\n", "table_children", pgorm_rel_name(parent),
	       pgorm_rel_kind_of(parent) == PGORM_REL_MANY_TO_ONE ? "many-to-one" : "?", "table_parents",
	       pgorm_rel_name(pgorm_rel_partner(parent)));

	TableParent *p1 = pgorm_object_new(s, &parent_model), *p2 = pgorm_object_new(s, &parent_model);
	p1->name = pgorm_strdup(s, "p1");
	p2->name = pgorm_strdup(s, "p2");
	TableChild *a = pgorm_object_new(s, &child_model), *b = pgorm_object_new(s, &child_model);
	a->name = pgorm_strdup(s, "a");
	b->name = pgorm_strdup(s, "b");
	TableParent *ps[] = { p1, p2 };
	TableChild *cs[] = { a, b };

	ex_step("pgorm_rel_append(children, p1, a): the header-stored a.parent follows");
	EX_TRY(s, "append", pgorm_rel_append(s, children, p1, a));
	show(ps, 2, cs, 2);

	ex_step("pgorm_rel_set(parent, b, p2): b appears in p2.children");
	EX_TRY(s, "set", pgorm_rel_set(s, parent, b, p2));
	show(ps, 2, cs, 2);

	ex_step("add p1 and p2, commit");
	EX_TRY(s, "add", pgorm_session_add(s, p1));
	EX_TRY(s, "add", pgorm_session_add(s, p2));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "table_parents", "SELECT id, name FROM table_parents ORDER BY id");
	ex_show(c, "table_children", "SELECT id, parent_id, name FROM table_children ORDER BY id");

	ex_step("pgorm_rel_set(parent, a, p2) on loaded collections: a moves, one UPDATE at commit");
	EX_TRY(s, "load", pgorm_rel_load(s, children, p1, NULL));
	EX_TRY(s, "load", pgorm_rel_load(s, children, p2, NULL));
	EX_TRY(s, "set", pgorm_rel_set(s, parent, a, p2));
	show(ps, 2, cs, 2);
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "table_children", "SELECT id, parent_id, name FROM table_children ORDER BY id");

	ex_step("a fresh session: a child loaded alone reaches its parent through the backref");
	pgorm_session_destroy(s);
	s = ex_session(reg, c);
	void *obj = NULL;
	pgorm_value pk = PGORM_INT8(1);
	EX_TRY(s, "get", pgorm_session_get(s, &child_model, &pk, &obj));
	a = obj;
	EX_TRY(s, "load", pgorm_rel_load(s, parent, a, &obj));
	printf("  pgorm_rel_load(parent, %s) = %s\n", a->name, obj ? ((TableParent *)obj)->name : "NULL");
	EX_TRY(s, "rollback", pgorm_session_rollback(s));

	ex_step("the registry refuses backref \"parent\" when the child already declares \"parent\"");
	const pgorm_model *bad[] = { &bad_parent_model, &bad_child_model };
	pgorm_registry *bad_reg = NULL;
	pgorm_error err;
	int rc = pgorm_registry_create(&bad_reg, bad, 2, &err);
	printf("  pgorm_registry_create: %s: %s\n", pgorm_err_name(rc), err.message);

	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_conn_close(c);
	return rc == PGORM_EMODEL ? 0 : 1;
}
