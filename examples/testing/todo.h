/* examples/testing/todo.h — a tiny to-do service: lists and their items. The service functions
 * take a session, so the same code runs on a pool in production and on a test's session
 * (pgorm/testing.h) in examples/testing/test_todo.c. */
#ifndef TODO_H
#define TODO_H

#include <pgorm.h>

typedef struct TodoList { pgorm_object o; int64_t id; char *name; pgorm_collection items; } TodoList;
typedef struct TodoItem { pgorm_object o; int64_t id, list_id; char *title; bool done; TodoList *list; } TodoItem;
extern const pgorm_model todo_list_model, todo_item_model;
extern const pgorm_model *const todo_models[];

/** Add an item to the list called list (created when missing) and commit; its id in *id. */
int todo_add(pgorm_session *s, const char *list, const char *title, int64_t *id);
/** Mark the item done and commit. PGORM_ENOTFOUND when there is no such item. */
int todo_complete(pgorm_session *s, int64_t id);
/** The number of items of list not done yet (0 for an unknown list). */
int todo_open_count(pgorm_session *s, const char *list, int64_t *n);

#endif
