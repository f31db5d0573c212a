/* examples/testing/todo.c — the to-do service of todo.h. */
#include "todo.h"

static const pgorm_column list_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, TodoList, id),
	PGORM_COLUMN(TEXT, "name", PGORM_UNIQUE, TodoList, name), PGORM_COLUMN_END };
static const pgorm_column item_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, TodoItem, id),
	PGORM_COLUMN_FK(INT8, "list_id", 0, TodoItem, list_id, "todo_lists", "id", PGORM_FK_CASCADE),
	PGORM_COLUMN(TEXT, "title", 0, TodoItem, title), PGORM_COLUMN(BOOL, "done", 0, TodoItem, done),
	PGORM_COLUMN_END };
static const pgorm_relationship list_rels[] = {
	{ PGORM_O2M("items", TodoList, items, &todo_item_model, "list_id", "list"), .cascade = PGORM_CASCADE_ALL },
	PGORM_RELATIONSHIP_END };
static const pgorm_relationship item_rels[] = {
	{ PGORM_M2O("list", TodoItem, list, &todo_list_model, "list_id", "items") }, PGORM_RELATIONSHIP_END };
const pgorm_model todo_list_model = PGORM_MODEL("todo_lists", TodoList, list_cols, list_rels);
const pgorm_model todo_item_model = PGORM_MODEL("todo_items", TodoItem, item_cols, item_rels);
const pgorm_model *const todo_models[] = { &todo_list_model, &todo_item_model, NULL };

static int find_list(pgorm_session *s, const char *name, TodoList **out)
{
	pgorm_query *q = NULL;
	int rc = pgorm_query_create(&q, s, &todo_list_model);
	if (rc == 0)
		rc = pgorm_query_filter(q, "name", "=", PGORM_TEXT(name));
	if (rc == 0)
		rc = pgorm_query_first(q, (void **)out);
	pgorm_query_destroy(q);
	return rc;
}

int todo_add(pgorm_session *s, const char *list, const char *title, int64_t *id)
{
	TodoList *l = NULL;
	int rc = find_list(s, list, &l);
	if (rc == 0 && l == NULL) {
		if ((l = pgorm_object_new(s, &todo_list_model)) == NULL)
			return PGORM_ENOMEM;
		l->name = pgorm_strdup(s, list);
		rc = pgorm_session_add(s, l);
	}
	TodoItem *it = rc == 0 ? pgorm_object_new(s, &todo_item_model) : NULL;
	if (rc == 0 && it == NULL)
		rc = PGORM_ENOMEM;
	if (rc == 0) {
		it->title = pgorm_strdup(s, title);
		rc = PGORM_SET(it, done, false);
	}
	if (rc == 0)
		rc = pgorm_rel_set_by_name(s, "list", it, l);
	if (rc == 0)
		rc = pgorm_session_add(s, it);
	if (rc == 0)
		rc = pgorm_session_flush(s);
	if (rc == 0)
		*id = it->id;
	if (rc == 0)
		rc = pgorm_session_commit(s);
	if (rc != 0)
		pgorm_session_rollback(s);
	return rc;
}

int todo_complete(pgorm_session *s, int64_t id)
{
	TodoItem *it = NULL;
	pgorm_value key = PGORM_INT8(id);
	int rc = pgorm_session_get(s, &todo_item_model, &key, (void **)&it);
	if (rc == 0)
		rc = PGORM_SET(it, done, true);
	if (rc == 0)
		rc = pgorm_session_commit(s);
	if (rc != 0)
		pgorm_session_rollback(s);
	return rc;
}

int todo_open_count(pgorm_session *s, const char *list, int64_t *n)
{
	TodoList *l = NULL;
	*n = 0;
	int rc = find_list(s, list, &l);
	if (rc == 0 && l != NULL)
		rc = pgorm_rel_load(s, pgorm_registry_rel(pgorm_session_registry(s), &todo_list_model, "items"), l, NULL);
	for (size_t i = 0; rc == 0 && l != NULL && i < l->items.len; i++)
		*n += !((TodoItem *)l->items.items[i])->done;
	return rc;
}
