/* examples/one_to_many.c — the basic one-to-many pair: parent_table / child_table, the
 * relationship declared on the parent only (Parent.children, through the foreign key
 * child_table.parent_id). The child struct has the FK column and no relationship field.
 *
 *   SQLAlchemy:  class Parent(Base):
 *                    __tablename__ = "parent_table"
 *                    id = mapped_column(Integer, primary_key=True)
 *                    children = relationship("Child")
 *                class Child(Base):
 *                    __tablename__ = "child_table"
 *                    id = mapped_column(Integer, primary_key=True)
 *                    parent_id = mapped_column(ForeignKey("parent_table.id"))
 *
 * Usage: one_to_many [CONNINFO]   (default: PGORM_TEST_DSN, then libpq's PG* variables).
 * Works in the schema ex_one_to_many, dropped and recreated at each run.
 */
#include "example.h"

typedef struct Parent {
	pgorm_object hdr;           /* first member: the session's bookkeeping */
	int64_t id;
	char *name;
	pgorm_collection children;  /* Child objects */
} Parent;

typedef struct Child {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;          /* the FK column; NULL is a bit in the header */
	char *name;
} Child;                        /* no relationship field on this side */

extern const pgorm_model parent_model, child_model;

static const pgorm_column parent_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Parent, name),
	PGORM_COLUMN_END
};
static const pgorm_relationship parent_relationships[] = {
	/* name, struct, field, target, FK column on the child, back_populates, cascade (0: the
	 * default save-update + merge) */
	PGORM_ONE_TO_MANY("children", Parent, children, &child_model, "parent_id", NULL, 0),
	PGORM_RELATIONSHIP_END
};
const pgorm_model parent_model = PGORM_MODEL("parent_table", Parent, parent_columns, parent_relationships);

static const pgorm_column child_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Child, parent_id, "parent_table", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Child, name),
	PGORM_COLUMN_END
};
const pgorm_model child_model = PGORM_MODEL("child_table", Child, child_columns, NULL);

static void show_children(const char *who, const Parent *p)
{
	printf("  %s.children = [", who);
	for (size_t i = 0; i < p->children.len; i++) {
		const Child *c = p->children.items[i];
		printf("%s%s", i ? ", " : "", c->name);
	}
	printf("]\n");
}

int main(int argc, char **argv)
{
	pgorm_conn *c = ex_connect(argc, argv, "one_to_many", "ex_one_to_many");
	const pgorm_model *models[] = { &parent_model, &child_model };
	pgorm_registry *reg = ex_registry(c, models, 2);
	pgorm_session *s = ex_session(reg, c);
	const pgorm_rel *children = pgorm_registry_rel(reg, &parent_model, "children");

	printf("one_to_many: Parent.children -> child_table.parent_id, declared on the parent only\n");

	ex_step("build p1 with children a and b, then add p1 alone (save-update cascade pulls a and b in)");
	Parent *p1 = pgorm_object_new(s, &parent_model);
	p1->name = pgorm_strdup(s, "p1");
	const char *names[] = { "a", "b" };
	for (size_t i = 0; i < 2; i++) {
		Child *ch = pgorm_object_new(s, &child_model);
		ch->name = pgorm_strdup(s, names[i]);
		EX_TRY(s, "append", pgorm_rel_append(s, children, p1, ch));
	}
	show_children("p1", p1);
	EX_TRY(s, "add", pgorm_session_add(s, p1));
	printf("  a is %s, b is %s (no SQL yet)\n",
	       pgorm_object_state(p1->children.items[0]) == PGORM_STATE_PENDING ? "pending" : "not pending",
	       pgorm_object_state(p1->children.items[1]) == PGORM_STATE_PENDING ? "pending" : "not pending");

	ex_step("commit: the parent is inserted first, its new id goes into the children's parent_id");
	EX_TRY(s, "commit", pgorm_session_commit(s));
	Child *a = p1->children.items[0];
	printf("  p1.id = %" PRId64 ", a.parent_id = %" PRId64 "\n", p1->id, a->parent_id);
	ex_show(c, "parent_table", "SELECT id, name FROM parent_table ORDER BY id");
	ex_show(c, "child_table", "SELECT id, parent_id, name FROM child_table ORDER BY id");

	ex_step("a fresh session: load p1 and its children (one query each, explicit)");
	pgorm_session_destroy(s);
	s = ex_session(reg, c);
	void *obj = NULL;
	pgorm_value pk = PGORM_INT8(1);
	EX_TRY(s, "get", pgorm_session_get(s, &parent_model, &pk, &obj));
	p1 = obj;
	EX_TRY(s, "load", pgorm_rel_load(s, children, p1, NULL));
	show_children("p1", p1);

	ex_step("remove a from p1.children, append a new child c: a keeps its row, parent_id NULL");
	a = p1->children.items[0];
	EX_TRY(s, "remove", pgorm_rel_remove(s, children, p1, a));
	Child *cc = pgorm_object_new(s, &child_model);
	cc->name = pgorm_strdup(s, "c");
	EX_TRY(s, "append", pgorm_rel_append(s, children, p1, cc));
	show_children("p1", p1);
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "child_table", "SELECT id, parent_id, name FROM child_table ORDER BY id");

	ex_step("delete p1 (default cascade): its children are loaded and their parent_id set NULL first");
	EX_TRY(s, "delete", pgorm_session_delete(s, p1));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "parent_table", "SELECT id, name FROM parent_table ORDER BY id");
	ex_show(c, "child_table", "SELECT id, parent_id, name FROM child_table ORDER BY id");

	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_conn_close(c);
	return 0;
}
