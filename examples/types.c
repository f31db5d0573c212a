/* examples/types.c — an enum column and array columns (issue 15).
 *
 *   CREATE TYPE ticket_status AS ENUM ('open', 'closed');      -- made by create_all
 *   CREATE TABLE tickets (id bigserial PRIMARY KEY, status ticket_status NOT NULL,
 *                         tags text[], votes integer[]);
 *
 * The enum is mapped twice: as its label (char *) and as a C enum (int) with a label table.
 * Filter values go to the server with ticket_status's OID, which the connection looks up by
 * name the first time it needs it (the "to_regtype" statement below), so there is no
 * "operator does not exist: ticket_status = text"; IN takes a text[] of labels, cast to
 * ticket_status[]. Arrays are one pgorm_array each (items, length, NULL flags) and can be
 * filtered with @>, && and = ANY.
 *
 * Usage: types [CONNINFO]   (default: PGORM_TEST_DSN, then libpq's PG* variables).
 * Works in the schema ex_types, dropped and recreated at each run.
 */
#include "example.h"

enum ticket_status { OPEN, CLOSED };
static const char *const status_labels[] = { "open", "closed", NULL };

typedef struct Ticket {
	pgorm_object hdr;
	int64_t id;
	char *status;      /* the label */
	int state;         /* the same enum type as a C enum */
	pgorm_array tags;  /* text[] */
	pgorm_array votes; /* integer[] */
} Ticket;

static const pgorm_column ticket_columns[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Ticket, id),
	PGORM_COLUMN_ENUM("status", PGORM_NOT_NULL, Ticket, status, "ticket_status", status_labels),
	PGORM_COLUMN_CENUM("state", PGORM_NULLABLE, Ticket, state, "ticket_status", status_labels),
	PGORM_COLUMN(TEXT_ARRAY, "tags", PGORM_NULLABLE, Ticket, tags),
	PGORM_COLUMN(INT4_ARRAY, "votes", PGORM_NULLABLE, Ticket, votes),
	PGORM_COLUMN_END
};
static const pgorm_model ticket_model = PGORM_MODEL("tickets", Ticket, ticket_columns, NULL);

static pgorm_session *s;

static void show_matches(const char *title, const char *column, const char *op, pgorm_value v, bool array)
{
	pgorm_query *q = NULL;
	pgorm_list l;
	ex_step("%s", title);
	EX_TRY(s, "query", pgorm_query_create(&q, s, &ticket_model));
	EX_TRY(s, "filter", array ? pgorm_query_filter_array(q, column, op, v) : pgorm_query_filter(q, column, op, v));
	EX_TRY(s, "query", pgorm_query_all(q, &l));
	pgorm_query_destroy(q);
	for (size_t i = 0; i < l.len; i++) {
		Ticket *t = l.items[i];
		printf("  ticket %" PRId64 ": status %s, state %s, %zu tag(s), %zu vote(s)", t->id, t->status,
		       status_labels[t->state], t->tags.len, t->votes.len);
		for (size_t k = 0; k < t->votes.len; k++) {
			fputs(k ? ", " : " [", stdout);
			if (t->votes.nulls && t->votes.nulls[k])
				fputs("NULL", stdout);
			else
				printf("%" PRId32, ((const int32_t *)t->votes.items)[k]);
		}
		if (t->votes.len)
			fputs("]", stdout);
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	pgorm_conn *c = ex_connect(argc, argv, "types", "ex_types");
	const pgorm_model *models[] = { &ticket_model };
	pgorm_registry *reg = ex_registry(c, models, 1);
	ex_show(c, "the enum type create_all made",
	        "SELECT enumlabel::text AS label FROM pg_enum WHERE enumtypid = 'ticket_status'::regtype "
	        "ORDER BY enumsortorder");
	s = ex_session(reg, c);

	ex_step("add two tickets (arrays point at the program's own memory until the commit)");
	static const char *const tags1[] = { "bug", "ui" }, *const tags2[] = { "docs" };
	static const int32_t votes1[] = { 3, 0, 5 };
	static const bool votes1_nulls[] = { false, true, false };
	Ticket *a = pgorm_object_new(s, &ticket_model), *b = pgorm_object_new(s, &ticket_model);
	a->status = pgorm_strdup(s, "open");
	PGORM_SET(a, state, OPEN);
	a->tags = (pgorm_array){ (void *)tags1, 2, NULL };
	a->votes = (pgorm_array){ (void *)votes1, 3, (bool *)votes1_nulls };
	b->status = pgorm_strdup(s, "closed");
	b->state = CLOSED;
	b->tags = (pgorm_array){ (void *)tags2, 1, NULL };
	EX_TRY(s, "add", pgorm_session_add(s, a));
	EX_TRY(s, "add", pgorm_session_add(s, b));
	EX_TRY(s, "commit", pgorm_session_commit(s));
	ex_show(c, "tickets", "SELECT id, status::text AS status, state::text AS state, tags::text AS tags, "
	                      "votes::text AS votes FROM tickets ORDER BY id");

	show_matches("status = 'open' (a text value for the enum column)", "status", "=", PGORM_TEXT("open"), false);
	show_matches("state = 'closed'", "state", "=", PGORM_ENUM("closed"), false);
	static const char *const either[] = { "open", "closed" };
	show_matches("status IN ('open', 'closed')", "status", "IN", PGORM_TEXT_ARRAY(either, 2), false);
	static const char *const want[] = { "bug" };
	show_matches("tags @> {bug}", "tags", "@>", PGORM_TEXT_ARRAY(want, 1), true);
	show_matches("5 = ANY(votes)", "votes", "= ANY", PGORM_INT4(5), true);

	ex_step("a label the enum does not have: refused before any SQL");
	pgorm_query *q = NULL;
	EX_TRY(s, "query", pgorm_query_create(&q, s, &ticket_model));
	int rc = pgorm_query_filter(q, "status", "=", PGORM_TEXT("lost"));
	printf("  pgorm_query_filter: %s: %s\n", pgorm_err_name(rc), pgorm_query_error(q)->message);
	pgorm_query_destroy(q);

	pgorm_session_destroy(s);
	pgorm_registry_destroy(reg);
	pgorm_conn_close(c);
	return 0;
}
