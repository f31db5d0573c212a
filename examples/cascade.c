/* examples/cascade.c — what happens to children when they leave their parent's collection or
 * when the parent is deleted, under three cascade settings of Parent.children:
 *
 *   default        (cascade 0 = save-update, merge)  removed child / parent deleted:
 *                                                     the children's parent_id is set NULL
 *   delete         (PGORM_CASCADE_ALL)               parent deleted: its children are deleted
 *                                                     first; a removed child is only nulled
 *   delete-orphan  (PGORM_CASCADE_ALL |               also a child removed from the collection
 *                   PGORM_CASCADE_DELETE_ORPHAN)      is deleted
 *
 *   SQLAlchemy:  children = relationship("Child", back_populates="parent")
 *                children = relationship("Child", back_populates="parent", cascade="all")
 *                children = relationship("Child", back_populates="parent",
 *                                        cascade="all, delete-orphan")
 *
 * Each setting gets its own pair of tables ({default,delete,orphan}_parents / _children); the
 * structs are shared. Prints the SQL issued and the rows left after each step.
 *
 * Usage: cascade [CONNINFO]   (default: PGORM_TEST_DSN, then libpq's PG* variables).
 * Works in the schema ex_cascade, dropped and recreated at each run.
 */
#include "example.h"

typedef struct Parent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} Parent;

typedef struct Child {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	Parent *parent;
} Child;

/* One parent/child model pair on tables <prefix>_parents / <prefix>_children; the only
 * difference between the pairs is the cascade of Parent.children. */
#define MODELS(prefix, cascade)                                                                   \
	extern const pgorm_model prefix##_parent, prefix##_child;                                 \
	static const pgorm_column prefix##_parent_columns[] = {                                   \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Parent, id),            \
		PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Parent, name),                         \
		PGORM_COLUMN_END                                                                  \
	};                                                                                        \
	static const pgorm_relationship prefix##_parent_relationships[] = {                       \
		PGORM_ONE_TO_MANY("children", Parent, children, &prefix##_child, "parent_id",    \
		                  "parent", cascade),                                             \
		PGORM_RELATIONSHIP_END                                                            \
	};                                                                                        \
	const pgorm_model prefix##_parent = PGORM_MODEL(#prefix "_parents", Parent,               \
		prefix##_parent_columns, prefix##_parent_relationships);                          \
	static const pgorm_column prefix##_child_columns[] = {                                    \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Child, id),             \
		PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Child, parent_id,              \
		                #prefix "_parents", "id", PGORM_FK_NO_ACTION),                    \
		PGORM_COLUMN(TEXT, "name", PGORM_NOT_NULL, Child, name),                          \
		PGORM_COLUMN_END                                                                  \
	};                                                                                        \
	static const pgorm_relationship prefix##_child_relationships[] = {                        \
		PGORM_MANY_TO_ONE("parent", Child, parent, &prefix##_parent, "parent_id", "children"), \
		PGORM_RELATIONSHIP_END                                                            \
	};                                                                                        \
	const pgorm_model prefix##_child = PGORM_MODEL(#prefix "_children", Child,                \
		prefix##_child_columns, prefix##_child_relationships);

MODELS(default, 0)
MODELS(delete, PGORM_CASCADE_ALL)
MODELS(orphan, PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN)

static pgorm_conn *c;
static pgorm_registry *reg;
static pgorm_session *s;

static void show_rows(const char *prefix)
{
	char title[64], sql[160];
	snprintf(title, sizeof title, "%s_parents", prefix);
	snprintf(sql, sizeof sql, "SELECT id, name FROM %s_parents ORDER BY id", prefix);
	ex_show(c, title, sql);
	snprintf(title, sizeof title, "%s_children", prefix);
	snprintf(sql, sizeof sql, "SELECT id, parent_id, name FROM %s_children ORDER BY id", prefix);
	ex_show(c, title, sql);
}

/* The same story under one cascade setting: p with children a, b, c is saved; a is removed
 * from p.children; then p is deleted (its collection unloaded: pgorm loads it when the cascade
 * needs it). */
static void story(const char *prefix, const char *what, const pgorm_model *pm, const pgorm_model *cm)
{
	const pgorm_rel *children = pgorm_registry_rel(reg, pm, "children");
	printf("\n==== %s: %s\n", prefix, what);

	ex_step("save p with children a, b, c");
	ex_quiet = true;   /* the INSERTs are the same in all three stories: see one_to_many */
	Parent *p = pgorm_object_new(s, pm);
	p->name = pgorm_strdup(s, "p");
	const char *names[] = { "a", "b", "c" };
	for (size_t i = 0; i < 3; i++) {
		Child *ch = pgorm_object_new(s, cm);
		ch->name = pgorm_strdup(s, names[i]);
		EX_TRY(s, "append", pgorm_rel_append(s, children, p, ch));
	}
	EX_TRY(s, "add", pgorm_session_add(s, p));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_quiet = false;
	show_rows(prefix);

	ex_step("remove a from p.children, commit");
	EX_TRY(s, "load", pgorm_rel_load(s, children, p, NULL));
	EX_TRY(s, "remove", pgorm_rel_remove(s, children, p, p->children.items[0]));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	show_rows(prefix);

	ex_step("delete p (p.children not loaded), commit");
	EX_TRY(s, "delete", pgorm_session_delete(s, p));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	show_rows(prefix);
}

int main(int argc, char **argv)
{
	c = ex_connect(argc, argv, "cascade", "ex_cascade");
	const pgorm_model *models[] = { &default_parent, &default_child, &delete_parent, &delete_child,
	                                &orphan_parent, &orphan_child };
	reg = ex_registry(c, models, 6);
	s = ex_session(reg, c);

	printf("cascade: Parent.children under three cascade settings\n");
	story("default", "cascade 0 (save-update, merge): children are orphaned, parent_id NULL",
	      &default_parent, &default_child);
	story("delete", "PGORM_CASCADE_ALL: deleting the parent deletes its children first",
	      &delete_parent, &delete_child);
	story("orphan", "PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN: a removed child is deleted too",
	      &orphan_parent, &orphan_child);

	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_conn_close(c);
	return 0;
}
