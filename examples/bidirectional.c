/* examples/bidirectional.c — parents / children with back_populates on both sides
 * (Parent.children <-> Child.parent). Changing either side changes the other at once, in
 * memory, before any SQL: append to a collection sets the child's parent pointer, setting the
 * pointer puts the child in the collection (and takes it out of the old parent's).
 *
 *   SQLAlchemy:  class Parent(Base):
 *                    __tablename__ = "parents"
 *                    children = relationship("Child", back_populates="parent")
 *                class Child(Base):
 *                    __tablename__ = "children"
 *                    parent_id = mapped_column(ForeignKey("parents.id"))
 *                    parent = relationship("Parent", back_populates="children")
 *
 * Usage: bidirectional [CONNINFO]   (default: PGORM_TEST_DSN, then libpq's PG* variables).
 * Works in the schema ex_bidirectional, dropped and recreated at each run.
 */
#include "example.h"

typedef struct Parent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;  /* one-to-many, partner of Child.parent */
} Parent;

typedef struct Child {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	Parent *parent;             /* many-to-one, partner of Parent.children */
} Child;

extern const pgorm_model parent_model, child_model;

static const pgorm_column parent_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Parent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship parent_relationships[] = {
	PGORM_ONE_TO_MANY("children", Parent, children, &child_model, "parent_id", "parent", 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model parent_model = PGORM_MODEL("parents", Parent, parent_columns, parent_relationships);

static const pgorm_column child_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Child, parent_id, "parents", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Child, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship child_relationships[] = {
	PGORM_MANY_TO_ONE("parent", Child, parent, &parent_model, "parent_id", "children"),
	PGORM_RELATIONSHIP_END
};
const pgorm_model child_model = PGORM_MODEL("children", Child, child_columns, child_relationships);

static pgorm_session *s;
static const pgorm_rel *children, *parent;

static Parent *new_parent(const char *name)
{
	Parent *p = pgorm_object_new(s, &parent_model);
	p->name = pgorm_strdup(s, name);
	return p;
}

static Child *new_child(const char *name)
{
	Child *c = pgorm_object_new(s, &child_model);
	c->name = pgorm_strdup(s, name);
	return c;
}

/* Both sides, read straight from the struct fields. */
static void show(Parent *const *ps, size_t np, Child *const *cs, size_t nc)
{
	for (size_t i = 0; i < np; i++) {
		printf("  %s.children = [", ps[i]->name);
		for (size_t j = 0; j < ps[i]->children.len; j++)
			printf("%s%s", j ? ", " : "", ((Child *)ps[i]->children.items[j])->name);
		printf("]%s\n", pgorm_rel_is_loaded(children, ps[i]) ? "" : "   (not loaded)");
	}
	for (size_t i = 0; i < nc; i++)
		printf("  %s.parent = %s\n", cs[i]->name, cs[i]->parent ? cs[i]->parent->name : "NULL");
}

int main(int argc, char **argv)
{
	pgorm_conn *c = ex_connect(argc, argv, "bidirectional", "ex_bidirectional");
	const pgorm_model *models[] = { &parent_model, &child_model };
	pgorm_registry *reg = ex_registry(c, models, 2);
	s = ex_session(reg, c);
	children = pgorm_registry_rel(reg, &parent_model, "children");
	parent = pgorm_registry_rel(reg, &child_model, "parent");

	printf("bidirectional: Parent.children <-> Child.parent (back_populates on both sides)\n");
	Parent *p1 = new_parent("p1"), *p2 = new_parent("p2");
	Child *a = new_child("a"), *b = new_child("b");
	Parent *ps[] = { p1, p2 };
	Child *cs[] = { a, b };

	ex_step("pgorm_rel_append(children, p1, a): a.parent is p1 at once");
	EX_TRY(s, "append", pgorm_rel_append(s, children, p1, a));
	show(ps, 2, cs, 2);

	ex_step("pgorm_rel_set(parent, b, p1): b is in p1.children at once");
	EX_TRY(s, "set", pgorm_rel_set(s, parent, b, p1));
	show(ps, 2, cs, 2);

	ex_step("pgorm_rel_set(parent, b, p2): b leaves p1.children and joins p2.children");
	EX_TRY(s, "set", pgorm_rel_set(s, parent, b, p2));
	show(ps, 2, cs, 2);

	ex_step("pgorm_rel_append(children, p2, a): a moves too; it is in exactly one collection");
	EX_TRY(s, "append", pgorm_rel_append(s, children, p2, a));
	show(ps, 2, cs, 2);

	ex_step("pgorm_rel_remove(children, p2, b): b.parent is NULL at once");
	EX_TRY(s, "remove", pgorm_rel_remove(s, children, p2, b));
	show(ps, 2, cs, 2);

	ex_step("nothing was sent so far; add p1, p2 and b, then commit");
	EX_TRY(s, "add", pgorm_session_add(s, p1));
	EX_TRY(s, "add", pgorm_session_add(s, p2));
	EX_TRY(s, "add", pgorm_session_add(s, b));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "parents", "SELECT id, name FROM parents ORDER BY id");
	ex_show(c, "children", "SELECT id, parent_id, name FROM children ORDER BY id");

	ex_step("after commit the collections are expired (unloaded: they show nothing, len 0);\n"
	        "-- pgorm_rel_set(parent, b, p1) is queued on p1.children without SQL and merged when it loads");
	EX_TRY(s, "set", pgorm_rel_set(s, parent, b, p1));
	show(ps, 2, cs, 2);
	EX_TRY(s, "load", pgorm_rel_load(s, children, p1, NULL));
	EX_TRY(s, "load", pgorm_rel_load(s, children, p2, NULL));
	show(ps, 2, cs, 2);
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "children", "SELECT id, parent_id, name FROM children ORDER BY id");

	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_conn_close(c);
	return 0;
}
