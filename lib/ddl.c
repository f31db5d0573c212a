/* lib/ddl.c — CREATE / DROP the registry's tables, and check the models against pg_catalog.
 *
 * Decisions (the header in pgorm/model.h states the contract):
 * - Types: BOOL boolean, INT2 smallint, INT4 integer, INT8 bigint, FLOAT4 real, FLOAT8 double
 *   precision, TEXT text, BYTEA bytea, NUMERIC numeric, DATE date, TIMESTAMP timestamp,
 *   TIMESTAMPTZ timestamptz, UUID uuid, JSON json, JSONB jsonb.
 * - PGORM_SERVER_DEFAULT: integer columns become smallserial/serial/bigserial (a sequence
 *   owned by the column, so pg_get_serial_sequence() finds it, which the flush relies on),
 *   except a PGORM_VERSION column, which gets DEFAULT 1; TIMESTAMPTZ gets DEFAULT now(),
 *   TIMESTAMP LOCALTIMESTAMP, DATE CURRENT_DATE, UUID gen_random_uuid(). Other types get no
 *   default: there is nothing sensible to infer (create them yourself, pgorm_registry_check
 *   then reports a missing default).
 * - Columns are NOT NULL unless PGORM_NULLABLE; the primary key is a table constraint
 *   (composite keys too); PGORM_UNIQUE is a column UNIQUE constraint; each FK is a table
 *   constraint with its ON DELETE / ON UPDATE action, named by PostgreSQL (<table>_<col>_fkey).
 * - Every FK column gets "CREATE INDEX IF NOT EXISTS <table>_<col>_idx", except when it is the
 *   leading primary-key column or a single-column UNIQUE one (already indexed).
 * - Many-to-many association tables (once per table, in the owner's schema): the two columns
 *   typed like the two primary keys, PRIMARY KEY (local, remote), both FKs ON DELETE CASCADE,
 *   an index on the remote column. They are created after, and dropped before, the models.
 * - create_all runs in one transaction (a savepoint when the caller has one open): on error
 *   nothing is created and pgorm_conn_error(c) keeps the failing statement's SQLSTATE. With
 *   if_not_exists, tables that already exist are skipped entirely (their indexes too).
 *   FKs to a table created later (a cycle between tables) are added by ALTER TABLE at the end.
 * - drop_all is one DROP TABLE IF EXISTS statement listing the association tables and then
 *   the models in reverse FK order, without CASCADE: a foreign table that still refers to one
 *   of them makes it fail (2BP01) and nothing is dropped; cycles inside the registry are fine.
 * - DDL text contains identifiers only (quoted), never values; it runs through the simple
 *   protocol so that the statement cache is not filled with one-shot DDL. The catalog queries
 *   of check are parameterized.
 */
#include "exec.h"
#include "internal.h"
#include "registry.h"
#include "sql.h"

#include <stdint.h>
#include <string.h>

#define SAVEPOINT_NAME "pgorm_ddl"

typedef struct dtable {
	const pgorm__model_info *mi;   /* NULL for an association table */
	const pgorm_rel *rel;          /* association table: the relationship that declared it */
	const char *schema, *name;
	char *qtable;                  /* "schema"."table", owned */
	const pgorm_column *cols;
	size_t ncols;
	pgorm_column assoc_cols[2];
	size_t target[PGORM__MAX_COLS];  /* FK target: index in the table list, SIZE_MAX none */
	size_t ref[PGORM__MAX_COLS];     /* FK target column index in the target */
	size_t part_of[PGORM__MAX_COLS]; /* composite FK: the first column of its key, else SIZE_MAX */
} dtable;

typedef struct dlist {
	size_t n, nmodels;             /* models first (topo order), then association tables */
	dtable *t;
} dlist;

static void dlist_free(dlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		pgorm__free(l->t[i].qtable);
	pgorm__free(l->t);
	l->t = NULL;
	l->n = 0;
}

static bool same_schema(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The table-list index of the model mapping `table` (the registry resolves FKs by name). */
static size_t model_pos(const pgorm_registry *reg, const char *table)
{
	for (size_t i = 0; i < reg->nmodels; i++)
		if (strcmp(reg->models[i].model->table, table) == 0)
			return reg->models[i].topo;
	return SIZE_MAX;
}

static int dlist_build(const pgorm_registry *reg, dlist *l, pgorm_error *err)
{
	size_t nassoc = 0;
	for (size_t i = 0; i < reg->nmodels; i++)
		for (size_t j = 0; j < reg->models[i].nrels; j++)
			nassoc += reg->models[i].rels[j]->kind == PGORM_REL_MANY_TO_MANY;
	l->n = 0;
	l->nmodels = reg->nmodels;
	l->t = pgorm__calloc(reg->nmodels + nassoc + 1, sizeof *l->t);
	if (l->t == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the DDL");
	for (size_t k = 0; k < reg->nmodels; k++) {
		const pgorm__model_info *mi = &reg->models[reg->topo_order[k]];
		dtable *t = &l->t[l->n++];
		t->mi = mi;
		t->schema = mi->model->schema;
		t->name = mi->model->table;
		t->cols = mi->cols;
		t->ncols = mi->ncols;
		for (size_t c = 0; c < mi->ncols; c++) {
			t->target[c] = SIZE_MAX;
			const pgorm_column *col = &mi->cols[c];
			if (col->fk_table == NULL)
				continue;
			size_t pos = model_pos(reg, col->fk_table);
			const pgorm__model_info *tm = &reg->models[reg->topo_order[pos]];
			t->target[c] = pos;
			t->ref[c] = col->fk_column ? (size_t)pgorm__model_col(tm, col->fk_column) : tm->pk[0];
		}
		/* Columns referencing a composite primary key form one FOREIGN KEY, written at the
		 * first of them; the others are not constraints of their own. */
		for (size_t c = 0; c < mi->ncols; c++) {
			t->part_of[c] = SIZE_MAX;
			if (t->target[c] == SIZE_MAX)
				continue;
			const pgorm__model_info *tm = &reg->models[reg->topo_order[t->target[c]]];
			if (tm->npk < 2 || (tm->cols[t->ref[c]].flags & PGORM_UNIQUE) || !(tm->cols[t->ref[c]].flags & PGORM_PK))
				continue;
			size_t first = c;
			for (size_t k = 0; k < c; k++)
				if (t->target[k] == t->target[c] && t->part_of[k] != SIZE_MAX) {
					first = t->part_of[k];
					break;
				}
			t->part_of[c] = first;
		}
		for (size_t c = 0; c < mi->ncols; c++)
			if (t->part_of[c] != SIZE_MAX && t->part_of[c] != c)
				t->target[c] = SIZE_MAX;
	}
	for (size_t i = 0; i < reg->nmodels; i++) {
		for (size_t j = 0; j < reg->models[i].nrels; j++) {
			const pgorm_rel *r = reg->models[i].rels[j];
			if (r->kind != PGORM_REL_MANY_TO_MANY)
				continue;
			bool dup = false;
			for (size_t k = l->nmodels; k < l->n && !dup; k++)
				dup = strcmp(l->t[k].name, r->sec_table) == 0 && same_schema(l->t[k].schema, r->sec_schema);
			if (dup)
				continue;
			dtable *t = &l->t[l->n++];
			t->rel = r;
			t->schema = r->sec_schema;
			t->name = r->sec_table;
			const pgorm__model_info *ends[2] = { r->owner, r->target };
			const char *names[2] = { r->sec_local, r->sec_remote };
			for (size_t e = 0; e < 2; e++) {
				const pgorm_column *pk = &ends[e]->cols[ends[e]->pk[0]];
				t->assoc_cols[e] = (pgorm_column){ .name = names[e], .type = pk->type, .flags = PGORM_PK,
				                                   .fk_table = ends[e]->model->table, .fk_column = pk->name,
				                                   .on_delete = PGORM_FK_CASCADE };
				t->target[e] = ends[e]->topo;
				t->ref[e] = ends[e]->pk[0];
			}
			t->cols = t->assoc_cols;
			t->ncols = 2;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		pgorm__sb b;
		pgorm__sb_init(&b);
		pgorm__sb_qualified(&b, l->t[i].schema, l->t[i].name);
		if ((l->t[i].qtable = pgorm__sb_take(&b)) == NULL) {
			dlist_free(l);
			return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the DDL");
		}
	}
	return 0;
}

/* The column's SQL type: the type table's (pgorm_type_sql) with varchar(n) / char(n) /
 * numeric(p,s) modifiers, an enum's type in the table's schema, or the custom type's name.
 * false when the type has none. */
static bool add_col_type(pgorm__sb *b, const dtable *t, const pgorm_column *col)
{
	if (col->type == PGORM_TYPE_ENUM || col->type == PGORM_TYPE_CENUM) {
		pgorm__sb_qualified(b, t->schema, col->sql_type);
		return true;
	}
	if (col->type == PGORM_TYPE_CUSTOM) {
		pgorm__sb_add(b, col->custom->name); /* a type name written by the developer ("geometry(Point,4326)") */
		return true;
	}
	const char *sql = pgorm_type_sql(col->type);
	if (sql == NULL)
		return false;
	pgorm__sb_add(b, sql);
	if ((col->type == PGORM_TYPE_VARCHAR || col->type == PGORM_TYPE_CHAR) && col->length > 0)
		pgorm__sb_addf(b, "(%u)", col->length);
	else if (col->type == PGORM_TYPE_NUMERIC && col->length > 0)
		pgorm__sb_addf(b, "(%u,%u)", col->length, col->scale);
	return true;
}

/* What format_type() shows for the column's type and modifiers (the check compares it). */
static void expected_format(pgorm__sb *b, const pgorm_column *col)
{
	switch (col->type) {
	case PGORM_TYPE_VARCHAR: pgorm__sb_add(b, "character varying"); break;
	case PGORM_TYPE_CHAR: pgorm__sb_add(b, "character"); break;
	default: pgorm__sb_add(b, "numeric"); break;
	}
	if (col->type == PGORM_TYPE_NUMERIC)
		pgorm__sb_addf(b, "(%u,%u)", col->length, col->scale);
	else
		pgorm__sb_addf(b, "(%u)", col->length ? col->length : 1);
}

static bool is_int(pgorm_type t)
{
	return t == PGORM_TYPE_INT2 || t == PGORM_TYPE_INT4 || t == PGORM_TYPE_INT8;
}

/* A server-default integer column that is not a version counter: gets a sequence. */
static bool is_serial(const pgorm_column *c)
{
	return (c->flags & PGORM_SERVER_DEFAULT) && !(c->flags & PGORM_VERSION) && is_int(c->type);
}

static const char *default_expr(const pgorm_column *c)
{
	if (!(c->flags & PGORM_SERVER_DEFAULT) || is_serial(c))
		return NULL;
	if (c->flags & PGORM_VERSION)
		return "1";
	switch (c->type) {
	case PGORM_TYPE_TIMESTAMPTZ: return "now()";
	case PGORM_TYPE_TIMESTAMP: return "LOCALTIMESTAMP";
	case PGORM_TYPE_DATE: return "CURRENT_DATE";
	case PGORM_TYPE_UUID: return "gen_random_uuid()";
	default: return NULL;
	}
}

static const char *action_sql(pgorm_fk_action a)
{
	switch (a) {
	case PGORM_FK_NO_ACTION: return "NO ACTION";
	case PGORM_FK_CASCADE: return "CASCADE";
	case PGORM_FK_SET_NULL: return "SET NULL";
	case PGORM_FK_RESTRICT: return "RESTRICT";
	case PGORM_FK_SET_DEFAULT: return "SET DEFAULT";
	default: return NULL;
	}
}

/* pg_constraint.confdeltype / confupdtype letters. */
static char action_letter(pgorm_fk_action a)
{
	static const char letters[] = { 'a', 'c', 'n', 'r', 'd' };
	return (unsigned)a < sizeof letters ? letters[a] : '?';
}

static const char *letter_sql(char l)
{
	switch (l) {
	case 'a': return "NO ACTION";
	case 'c': return "CASCADE";
	case 'n': return "SET NULL";
	case 'r': return "RESTRICT";
	case 'd': return "SET DEFAULT";
	default: return "?";
	}
}

/* "schema.table" or "table", unquoted, for messages. */
static void add_display(pgorm__sb *b, const dtable *t)
{
	if (t->schema)
		pgorm__sb_addf(b, "%s.", t->schema);
	pgorm__sb_add(b, t->name);
}

static int validate_table(pgorm_conn *c, const dtable *t)
{
	for (size_t i = 0; i < t->ncols; i++) {
		const pgorm_column *col = &t->cols[i];
		if (pgorm_type_sql(col->type) == NULL && col->type != PGORM_TYPE_ENUM && col->type != PGORM_TYPE_CENUM &&
		    col->type != PGORM_TYPE_CUSTOM)
			return pgorm__error_set(&c->err, PGORM_EMODEL, "model %s, column %s: no SQL type for %s",
			                        t->name, col->name, pgorm_type_name(col->type));
		if (col->fk_table && (action_sql(col->on_delete) == NULL || action_sql(col->on_update) == NULL))
			return pgorm__error_set(&c->err, PGORM_EMODEL, "model %s, column %s: unknown ON DELETE/ON UPDATE action",
			                        t->name, col->name);
	}
	return 0;
}

static void add_fk(pgorm__sb *b, const dlist *l, const dtable *t, size_t i)
{
	const pgorm_column *col = &t->cols[i];
	const dtable *tt = &l->t[t->target[i]];
	bool composite = t->mi != NULL && t->part_of[i] == i;
	pgorm__sb_add(b, "FOREIGN KEY (");
	for (size_t k = 0, n = 0; k < t->ncols; k++)
		if (k == i || (composite && t->part_of[k] == i)) {
			pgorm__sb_add(b, n++ ? ", " : "");
			pgorm__sb_ident(b, t->cols[k].name);
		}
	pgorm__sb_add(b, ") REFERENCES ");
	pgorm__sb_add(b, tt->qtable);
	pgorm__sb_add(b, " (");
	for (size_t k = 0, n = 0; k < t->ncols; k++)
		if (k == i || (composite && t->part_of[k] == i)) {
			pgorm__sb_add(b, n++ ? ", " : "");
			pgorm__sb_ident(b, tt->cols[t->ref[k]].name);
		}
	pgorm__sb_add(b, ")");
	if (col->on_delete != PGORM_FK_NO_ACTION)
		pgorm__sb_addf(b, " ON DELETE %s", action_sql(col->on_delete));
	if (col->on_update != PGORM_FK_NO_ACTION)
		pgorm__sb_addf(b, " ON UPDATE %s", action_sql(col->on_update));
}

/* "(a, b)" */
static void add_name_list(pgorm__sb *b, const char *const *names)
{
	pgorm__sb_add(b, "(");
	for (size_t k = 0; names[k]; k++) {
		pgorm__sb_add(b, k ? ", " : "");
		pgorm__sb_ident(b, names[k]);
	}
	pgorm__sb_add(b, ")");
}

/* CREATE TABLE for t; FKs to tables not yet available (avail[] false) are left out. */
static void build_create(pgorm__sb *b, const dlist *l, size_t ti, const bool *avail, bool if_not_exists)
{
	const dtable *t = &l->t[ti];
	pgorm__sb_add(b, if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ");
	pgorm__sb_add(b, t->qtable);
	pgorm__sb_add(b, " (");
	for (size_t i = 0; i < t->ncols; i++) {
		const pgorm_column *col = &t->cols[i];
		pgorm__sb_add(b, i ? ", " : "");
		pgorm__sb_ident(b, col->name);
		if (is_serial(col))
			pgorm__sb_add(b, col->type == PGORM_TYPE_INT2 ? " smallserial"
			                 : col->type == PGORM_TYPE_INT4 ? " serial" : " bigserial");
		else {
			pgorm__sb_add(b, " ");
			add_col_type(b, t, col);
		}
		if (!(col->flags & PGORM_NULLABLE))
			pgorm__sb_add(b, " NOT NULL");
		const char *def = default_expr(col);
		if (def)
			pgorm__sb_addf(b, " DEFAULT %s", def);
		if ((col->flags & PGORM_UNIQUE) && !((col->flags & PGORM_PK) && t->mi && t->mi->npk == 1))
			pgorm__sb_add(b, " UNIQUE");
	}
	pgorm__sb_add(b, ", PRIMARY KEY (");
	bool first = true;
	for (size_t i = 0; i < t->ncols; i++) {
		if (!(t->cols[i].flags & PGORM_PK))
			continue;
		pgorm__sb_add(b, first ? "" : ", ");
		pgorm__sb_ident(b, t->cols[i].name);
		first = false;
	}
	pgorm__sb_add(b, ")");
	for (size_t i = 0; i < t->ncols; i++) {
		if (t->target[i] == SIZE_MAX || !(t->target[i] == ti || avail[t->target[i]]))
			continue;
		pgorm__sb_add(b, ", ");
		add_fk(b, l, t, i);
	}
	for (const pgorm_index *u = t->mi ? t->mi->model->uniques : NULL; u && u->name; u++) {
		pgorm__sb_add(b, ", CONSTRAINT ");
		pgorm__sb_ident(b, u->name);
		pgorm__sb_add(b, " UNIQUE ");
		add_name_list(b, u->columns);
	}
	for (const pgorm_check *k = t->mi ? t->mi->model->checks : NULL; k && k->name; k++) {
		pgorm__sb_add(b, ", CONSTRAINT ");
		pgorm__sb_ident(b, k->name);
		pgorm__sb_addf(b, " CHECK (%s)", k->expr); /* SQL written by the developer, as a view's */
	}
	pgorm__sb_add(b, ")");
}

/* CREATE [UNIQUE] INDEX IF NOT EXISTS name ON table (columns) [WHERE predicate] */
static void build_extra_index(pgorm__sb *b, const dtable *t, const pgorm_index *x)
{
	pgorm__sb_add(b, x->unique ? "CREATE UNIQUE INDEX IF NOT EXISTS " : "CREATE INDEX IF NOT EXISTS ");
	pgorm__sb_ident(b, x->name);
	pgorm__sb_add(b, " ON ");
	pgorm__sb_add(b, t->qtable);
	pgorm__sb_add(b, " ");
	add_name_list(b, x->columns);
	if (x->where)
		pgorm__sb_addf(b, " WHERE %s", x->where);
}

/* The column needs its own index: not the leading PK column, not a single UNIQUE column. */
static bool fk_needs_index(const dtable *t, size_t i)
{
	if (t->cols[i].flags & PGORM_UNIQUE)
		return false;
	for (size_t k = 0; k < t->ncols; k++)
		if (t->cols[k].flags & PGORM_PK)
			return k != i;
	return true;
}

static void build_index(pgorm__sb *b, const dtable *t, size_t i)
{
	char name[160];
	size_t tl = strlen(t->name), cl = strlen(t->cols[i].name);
	/* keep within NAMEDATALEN - 1 ourselves, so PostgreSQL does not NOTICE a truncation */
	if (tl > 29) tl = 29;
	if (cl > 29) cl = 29;
	memcpy(name, t->name, tl);
	name[tl] = '_';
	memcpy(name + tl + 1, t->cols[i].name, cl);
	memcpy(name + tl + 1 + cl, "_idx", 5);
	pgorm__sb_add(b, "CREATE INDEX IF NOT EXISTS ");
	pgorm__sb_ident(b, name);
	pgorm__sb_add(b, " ON ");
	pgorm__sb_add(b, t->qtable);
	pgorm__sb_add(b, " (");
	pgorm__sb_ident(b, t->cols[i].name);
	pgorm__sb_add(b, ")");
}

static int run(pgorm_conn *c, pgorm__sb *b)
{
	const char *sql = pgorm__sb_str(b);
	if (sql == NULL)
		return pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory building DDL");
	return pgorm__conn_simple(c, sql);
}

/* Which tables exist (to_regclass of each qualified name), in one parameterized query. */
static int fetch_oids(pgorm_conn *c, const dlist *l, int64_t *oids)
{
	const char **names = pgorm__calloc(l->n + 1, sizeof *names);
	if (names == NULL)
		return pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory");
	for (size_t i = 0; i < l->n; i++)
		names[i] = l->t[i].qtable;
	pgorm_value p = PGORM_TEXT_ARRAY(names, l->n);
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c,
	                         "SELECT to_regclass(u.x)::oid::int8 FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) "
	                         "ORDER BY u.n",
	                         1, &p, &r);
	pgorm__free(names);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < l->n && rc == 0; i++)
		rc = pgorm_result_int64(r, i, 0, &oids[i]); /* NULL reads as 0 */
	pgorm_result_free(r);
	if (rc != 0)
		return pgorm__error_set(&c->err, rc, "DDL: unexpected catalog result");
	return 0;
}

/* CREATE TYPE … AS ENUM for the enum columns of t whose type does not exist yet. The labels
 * are quoted by the server (quote_literal over a text[] parameter), never spliced here. */
static int create_enums(pgorm_conn *c, const dtable *t, pgorm__sb *b)
{
	for (size_t i = 0; i < t->ncols; i++) {
		const pgorm_column *col = &t->cols[i];
		if (col->type != PGORM_TYPE_ENUM && col->type != PGORM_TYPE_CENUM)
			continue;
		size_t n = 0;
		while (col->labels && col->labels[n])
			n++;
		pgorm__sb_reset(b);
		pgorm__sb_qualified(b, t->schema, col->sql_type);
		const char *qname = pgorm__sb_str(b);
		if (qname == NULL)
			return pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory building DDL");
		pgorm_value p[2] = { PGORM_TEXT(qname), PGORM_TEXT_ARRAY(col->labels, n) };
		pgorm_result *r = NULL;
		int rc = pgorm_conn_exec(c,
		                         "SELECT to_regtype($1) IS NULL, format('CREATE TYPE %s AS ENUM (%s)', $1, "
		                         "(SELECT string_agg(quote_literal(u.x), ', ' ORDER BY u.n) "
		                         "FROM unnest($2::text[]) WITH ORDINALITY AS u(x, n)))",
		                         2, p, &r);
		if (rc != 0)
			return rc;
		bool missing = false;
		pgorm_value v;
		if (pgorm_result_get(r, 0, 0, PGORM_TYPE_BOOL, &v, NULL) == 0)
			missing = v.u.b;
		char *sql = NULL;
		if (missing && n > 0) {
			const char *txt = pgorm_result_text(r, 0, 1);
			sql = txt ? pgorm__strdup(txt) : NULL;
			if (sql == NULL)
				rc = pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory building DDL");
		}
		pgorm_result_free(r);
		if (rc != 0)
			return rc;
		if (missing && n == 0)
			return pgorm__error_set(&c->err, PGORM_EMODEL,
			                        "model %s, column %s: the enum type %s does not exist and the column gives no "
			                        "labels to create it", t->name, col->name, col->sql_type);
		if (sql != NULL) {
			rc = pgorm__conn_simple(c, sql);
			pgorm__free(sql);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int pgorm_registry_create_all(const pgorm_registry *reg, pgorm_conn *c, bool if_not_exists)
{
	if (c == NULL)
		return PGORM_EINVAL;
	if (reg == NULL)
		return pgorm__error_set(&c->err, PGORM_EINVAL, "pgorm_registry_create_all: registry is NULL");
	dlist l;
	int rc = dlist_build(reg, &l, &c->err);
	if (rc != 0)
		return rc;
	int64_t *oids = pgorm__calloc(l.n + 1, sizeof *oids);
	bool *avail = pgorm__calloc(l.n + 1, sizeof *avail);
	bool *made = pgorm__calloc(l.n + 1, sizeof *made);
	pgorm__sb b;
	pgorm__sb_init(&b);
	if (oids == NULL || avail == NULL || made == NULL)
		rc = pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory building the DDL");
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = validate_table(c, &l.t[i]);
	if (rc == 0 && if_not_exists)
		rc = fetch_oids(c, &l, oids);
	for (size_t i = 0; i < l.n && rc == 0; i++)
		avail[i] = oids[i] != 0;
	bool sp = false;
	if (rc == 0 && (rc = pgorm__conn_unit_open(c, SAVEPOINT_NAME, "DDL", &sp)) == 0) {
		for (size_t i = 0; i < l.nmodels && rc == 0; i++)
			if (!avail[i])
				rc = create_enums(c, &l.t[i], &b);
		for (size_t i = 0; i < l.n && rc == 0; i++) {
			if (avail[i])
				continue; /* exists already (if_not_exists) */
			pgorm__sb_reset(&b);
			build_create(&b, &l, i, avail, if_not_exists);
			rc = run(c, &b);
			avail[i] = made[i] = true;
			for (size_t k = 0; k < l.t[i].ncols && rc == 0; k++) {
				if (l.t[i].target[k] == SIZE_MAX || !fk_needs_index(&l.t[i], k))
					continue;
				pgorm__sb_reset(&b);
				build_index(&b, &l.t[i], k);
				rc = run(c, &b);
			}
			for (const pgorm_index *x = l.t[i].mi ? l.t[i].mi->model->indexes : NULL; x && x->name && rc == 0; x++) {
				pgorm__sb_reset(&b);
				build_extra_index(&b, &l.t[i], x);
				rc = run(c, &b);
			}
		}
		/* FKs left out of CREATE TABLE: their target came later (a cycle between tables) */
		for (size_t i = 0; i < l.n && rc == 0; i++) {
			for (size_t k = 0; made[i] && k < l.t[i].ncols && rc == 0; k++) {
				size_t tg = l.t[i].target[k];
				if (tg == SIZE_MAX || tg <= i)
					continue;
				pgorm__sb_reset(&b);
				pgorm__sb_add(&b, "ALTER TABLE ");
				pgorm__sb_add(&b, l.t[i].qtable);
				pgorm__sb_add(&b, " ADD ");
				add_fk(&b, &l, &l.t[i], k);
				rc = run(c, &b);
			}
		}
		rc = pgorm__conn_unit_close(c, SAVEPOINT_NAME, sp, rc);
	}
	pgorm__sb_free(&b);
	pgorm__free(oids);
	pgorm__free(avail);
	pgorm__free(made);
	dlist_free(&l);
	return rc;
}

int pgorm_registry_drop_all(const pgorm_registry *reg, pgorm_conn *c)
{
	if (c == NULL)
		return PGORM_EINVAL;
	if (reg == NULL)
		return pgorm__error_set(&c->err, PGORM_EINVAL, "pgorm_registry_drop_all: registry is NULL");
	dlist l;
	int rc = dlist_build(reg, &l, &c->err);
	if (rc != 0)
		return rc;
	if (l.n == 0) {
		dlist_free(&l);
		return 0;
	}
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, "DROP TABLE IF EXISTS ");
	size_t k = 0;
	for (size_t i = l.nmodels; i < l.n; i++, k++) {
		pgorm__sb_add(&b, k ? ", " : "");
		pgorm__sb_add(&b, l.t[i].qtable);
	}
	for (size_t i = l.nmodels; i-- > 0; k++) {
		pgorm__sb_add(&b, k ? ", " : "");
		pgorm__sb_add(&b, l.t[i].qtable);
	}
	rc = run(c, &b);
	pgorm__sb_free(&b);
	dlist_free(&l);
	return rc;
}

/* ---- schema check ---- */

typedef struct dbcol {
	const char *name, *type;       /* borrowed from the result */
	const char *typname;           /* pg_type.typname */
	bool is_enum;
	pgorm_value labels;            /* enum labels (text[]), NULL when not an enum */
	int64_t oid;
	bool notnull, hasdef, serial, unique, pk;
} dbcol;

static int get_bool(pgorm_result *r, size_t row, size_t col, bool *out)
{
	pgorm_value v;
	int rc = pgorm_result_get(r, row, col, PGORM_TYPE_BOOL, &v, NULL);
	*out = rc == 0 && !v.is_null && v.u.b;
	return rc;
}

static const char *const COLS_SQL =
	"SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.atttypid::int8, a.attnotnull, "
	"(a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''), "
	"pg_get_serial_sequence($1, a.attname::text) IS NOT NULL, "
	"EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique "
	"AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL), "
	"EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary "
	"AND a.attnum = ANY (i.indkey)), "
	"ty.typname::text, ty.typtype = 'e', "
	"(SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) "
	"FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
	"ORDER BY a.attnum";

static const char *const FKS_SQL =
	"SELECT a.attname::text, k.confrelid::int8, fa.attname::text, k.confdeltype::text, k.confupdtype::text, "
	"cardinality(k.conkey)::int8 "
	"FROM pg_constraint k "
	"JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
	"JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = k.confkey[1] "
	"WHERE k.conrelid = to_regclass($1) AND k.contype = 'f' "
	"ORDER BY k.conname";

typedef struct checker {
	const pgorm_registry *reg;
	const dlist *l;
	const int64_t *oids;
	pgorm__sb out;
	int count;
} checker;

/* Start a report line: "table" or "table.column: ". */
static void line(checker *k, const dtable *t, const char *col)
{
	k->count++;
	add_display(&k->out, t);
	if (col)
		pgorm__sb_addf(&k->out, ".%s", col);
	pgorm__sb_add(&k->out, ": ");
}

static void end_line(checker *k) { pgorm__sb_add(&k->out, "\n"); }

static const dbcol *find_dbcol(const dbcol *cols, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return &cols[i];
	return NULL;
}

/* A non-viewonly one-to-many relationship that sets this FK column to NULL when a child is
 * removed or its parent deleted (no delete cascade, passive_deletes not "all"). */
static const pgorm_rel *nulling_rel(const pgorm_registry *reg, const pgorm__model_info *child, size_t col)
{
	for (size_t i = 0; i < reg->nmodels; i++) {
		const pgorm__model_info *mi = &reg->models[i];
		for (size_t j = 0; j < mi->nrels; j++) {
			const pgorm_rel *r = mi->rels[j];
			if (r->kind == PGORM_REL_ONE_TO_MANY && !r->hidden && r->target == child && r->fk_col == col &&
			    !(r->flags & PGORM_REL_VIEWONLY) && !(r->cascade & PGORM_CASCADE_DELETE_ORPHAN) &&
			    !(r->cascade & PGORM_CASCADE_DELETE) && r->passive != PGORM_PASSIVE_ALL)
				return r;
		}
	}
	return NULL;
}

static bool db_type_matches(const pgorm_column *col, const dbcol *d)
{
	switch (col->type) {
	case PGORM_TYPE_ENUM: case PGORM_TYPE_CENUM:
		return d->is_enum && d->typname && strcmp(d->typname, col->sql_type) == 0;
	case PGORM_TYPE_CUSTOM:
		return strcmp(col->custom->name, d->type) == 0 || (d->typname && strcmp(col->custom->name, d->typname) == 0);
	case PGORM_TYPE_VARCHAR: return d->oid == PGORM_OID_VARCHAR;
	case PGORM_TYPE_CHAR: return d->oid == PGORM_OID_BPCHAR;
	default:
		return pgorm__type_from_oid((unsigned)d->oid) == col->type && d->oid != PGORM_OID_OID &&
		       d->oid != PGORM_OID_NAME;
	}
}

static size_t names_len(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

/* "a, b" of a label list, or of a text[] value. */
static void add_labels(pgorm__sb *b, const char *const *labels, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pgorm__sb_addf(b, "%s%s", i ? ", " : "", labels[i] ? labels[i] : "NULL");
}

static void check_type(checker *k, const dtable *t, const pgorm_column *col, const dbcol *d)
{
	if (!db_type_matches(col, d)) {
		line(k, t, col->name);
		pgorm__sb_add(&k->out, "type mismatch: model ");
		if (col->type == PGORM_TYPE_ENUM || col->type == PGORM_TYPE_CENUM)
			pgorm__sb_addf(&k->out, "enum %s", col->sql_type);
		else if (col->type == PGORM_TYPE_CUSTOM)
			pgorm__sb_add(&k->out, col->custom->name);
		else
			pgorm__sb_add(&k->out, pgorm_type_name(col->type));
		pgorm__sb_addf(&k->out, ", database %s", d->type);
		end_line(k);
		return;
	}
	/* modifiers the model states: varchar(n), char(n), numeric(p,s) */
	if (col->length > 0 && (col->type == PGORM_TYPE_VARCHAR || col->type == PGORM_TYPE_CHAR ||
	                        col->type == PGORM_TYPE_NUMERIC)) {
		pgorm__sb want;
		pgorm__sb_init(&want);
		expected_format(&want, col);
		const char *w = pgorm__sb_str(&want);
		if (w != NULL && strcmp(w, d->type) != 0) {
			line(k, t, col->name);
			pgorm__sb_addf(&k->out, "type mismatch: model %s, database %s", w, d->type);
			end_line(k);
		}
		pgorm__sb_free(&want);
	}
	/* enum labels: the model's must all exist; a C enum must also know every database label */
	if ((col->type == PGORM_TYPE_ENUM || col->type == PGORM_TYPE_CENUM) && col->labels != NULL && !d->labels.is_null) {
		size_t n = names_len(col->labels);
		bool same = n == d->labels.u.strs.n;
		for (size_t i = 0; same && i < n; i++)
			same = strcmp(col->labels[i], d->labels.u.strs.items[i]) == 0;
		if (!same) {
			line(k, t, col->name);
			pgorm__sb_addf(&k->out, "enum %s labels differ: model (", col->sql_type);
			add_labels(&k->out, col->labels, n);
			pgorm__sb_add(&k->out, "), database (");
			add_labels(&k->out, d->labels.u.strs.items, d->labels.u.strs.n);
			pgorm__sb_add(&k->out, ")");
			end_line(k);
		}
	}
}

static void check_columns(checker *k, const dtable *t, const dbcol *db, size_t ndb)
{
	for (size_t i = 0; i < t->ncols; i++) {
		const pgorm_column *col = &t->cols[i];
		const dbcol *d = find_dbcol(db, ndb, col->name);
		if (d == NULL) {
			line(k, t, col->name);
			pgorm__sb_add(&k->out, "missing column");
			end_line(k);
			continue;
		}
		check_type(k, t, col, d);
		bool nullable = col->flags & PGORM_NULLABLE;
		if (!nullable && !d->notnull) {
			line(k, t, col->name);
			pgorm__sb_add(&k->out, "nullability mismatch: model NOT NULL, database nullable");
			end_line(k);
		} else if (nullable && d->notnull) {
			const pgorm_rel *r = t->mi && t->target[i] != SIZE_MAX ? nulling_rel(k->reg, t->mi, i) : NULL;
			line(k, t, col->name);
			if (r)
				pgorm__sb_addf(&k->out, "NOT NULL in the database, but relationship %s.%s sets it to NULL "
				               "when a child is removed or its parent deleted (model nullable)",
				               r->owner->model->table, r->name);
			else
				pgorm__sb_add(&k->out, "nullability mismatch: model nullable, database NOT NULL");
			end_line(k);
		}
		if ((col->flags & PGORM_UNIQUE) && !d->unique) {
			line(k, t, col->name);
			pgorm__sb_add(&k->out, "model UNIQUE, database has no unique constraint on the column");
			end_line(k);
		}
		if (t->mi && t->mi->pk_generated && (col->flags & PGORM_PK) && !d->serial) {
			line(k, t, col->name);
			pgorm__sb_add(&k->out, "model server-generated key, database column has no sequence or identity "
			                       "(pg_get_serial_sequence is NULL)");
			end_line(k);
		} else if ((col->flags & PGORM_SERVER_DEFAULT) && !(col->flags & PGORM_PK) && !d->hasdef) {
			line(k, t, col->name);
			pgorm__sb_add(&k->out, "model server default, database column has no default");
			end_line(k);
		}
	}
	/* primary key */
	bool pk_ok = true;
	size_t npk_db = 0, npk_model = 0;
	for (size_t i = 0; i < ndb; i++)
		npk_db += db[i].pk;
	for (size_t i = 0; i < t->ncols; i++) {
		if (!(t->cols[i].flags & PGORM_PK))
			continue;
		npk_model++;
		const dbcol *d = find_dbcol(db, ndb, t->cols[i].name);
		pk_ok = pk_ok && d && d->pk;
	}
	if (!pk_ok || npk_db != npk_model) {
		line(k, t, NULL);
		pgorm__sb_add(&k->out, "primary key mismatch: model (");
		bool first = true;
		for (size_t i = 0; i < t->ncols; i++)
			if (t->cols[i].flags & PGORM_PK) {
				pgorm__sb_addf(&k->out, "%s%s", first ? "" : ", ", t->cols[i].name);
				first = false;
			}
		pgorm__sb_add(&k->out, "), database (");
		first = true;
		for (size_t i = 0; i < ndb; i++)
			if (db[i].pk) {
				pgorm__sb_addf(&k->out, "%s%s", first ? "" : ", ", db[i].name);
				first = false;
			}
		pgorm__sb_add(&k->out, ")");
		end_line(k);
	}
	/* database columns the model does not know and INSERTs cannot leave out */
	for (size_t i = 0; i < ndb; i++) {
		bool known = false;
		for (size_t j = 0; j < t->ncols && !known; j++)
			known = strcmp(t->cols[j].name, db[i].name) == 0;
		if (!known && db[i].notnull && !db[i].hasdef) {
			line(k, t, db[i].name);
			pgorm__sb_add(&k->out, "NOT NULL column without default is not in the model (INSERTs will fail)");
			end_line(k);
		}
	}
}

/* The passive_deletes relationships that trust the database's ON DELETE for this FK. */
static void check_passive(checker *k, const dtable *t, size_t col, char deltype)
{
	for (size_t i = 0; i < k->reg->nmodels; i++) {
		const pgorm__model_info *mi = &k->reg->models[i];
		for (size_t j = 0; j < mi->nrels; j++) {
			const pgorm_rel *r = mi->rels[j];
			if (r->kind != PGORM_REL_ONE_TO_MANY || r->hidden || r->target != t->mi || r->fk_col != col ||
			    r->passive != PGORM_PASSIVE_ON)
				continue;
			bool del = r->cascade & PGORM_CASCADE_DELETE;
			if (deltype == 'c' || (!del && deltype == 'n'))
				continue;
			line(k, t, t->cols[col].name);
			pgorm__sb_addf(&k->out, "relationship %s.%s has passive_deletes and relies on ON DELETE %s, "
			               "but the database foreign key has ON DELETE %s",
			               mi->model->table, r->name, del ? "CASCADE" : "CASCADE or SET NULL", letter_sql(deltype));
			end_line(k);
		}
	}
}

static int check_fks(checker *k, pgorm_conn *c, const dtable *t, int64_t oid)
{
	pgorm_result *r = NULL;
	size_t n = 0;
	if (oid != 0) {
		pgorm_value p = PGORM_TEXT(t->qtable);
		int rc = pgorm_conn_exec(c, FKS_SQL, 1, &p, &r);
		if (rc != 0)
			return rc;
		n = pgorm_result_rows(r);
	}
	for (size_t i = 0; i < t->ncols; i++) {
		if (t->target[i] == SIZE_MAX)
			continue;
		const pgorm_column *col = &t->cols[i];
		const dtable *tt = &k->l->t[t->target[i]];
		const char *ref = tt->cols[t->ref[i]].name;
		int64_t toid = k->oids[t->target[i]];
		/* a composite key is one constraint that starts with its first column */
		int64_t width = 1;
		for (size_t k2 = i + 1; t->mi && t->part_of[i] == i && k2 < t->ncols; k2++)
			width += t->part_of[k2] == i;
		long found = -1;
		for (size_t row = 0; row < n && found < 0 && toid != 0; row++) {
			int64_t conf = 0, card = 0;
			pgorm_result_int64(r, row, 1, &conf);
			pgorm_result_int64(r, row, 5, &card);
			const char *a = pgorm_result_text(r, row, 0), *fa = pgorm_result_text(r, row, 2);
			if (a && fa && strcmp(a, col->name) == 0 && conf == toid && strcmp(fa, ref) == 0 && card == width)
				found = (long)row;
		}
		if (found < 0) {
			line(k, t, col->name);
			pgorm__sb_add(&k->out, "missing foreign key to ");
			add_display(&k->out, tt);
			pgorm__sb_addf(&k->out, "(%s)", ref);
			end_line(k);
			continue;
		}
		const char *del = pgorm_result_text(r, (size_t)found, 3), *upd = pgorm_result_text(r, (size_t)found, 4);
		char dl = del ? del[0] : '?', ul = upd ? upd[0] : '?';
		if (dl != action_letter(col->on_delete)) {
			line(k, t, col->name);
			pgorm__sb_addf(&k->out, "foreign key ON DELETE mismatch: model %s, database %s",
			               action_sql(col->on_delete) ? action_sql(col->on_delete) : "?", letter_sql(dl));
			end_line(k);
		}
		if (ul != action_letter(col->on_update)) {
			line(k, t, col->name);
			pgorm__sb_addf(&k->out, "foreign key ON UPDATE mismatch: model %s, database %s",
			               action_sql(col->on_update) ? action_sql(col->on_update) : "?", letter_sql(ul));
			end_line(k);
		}
		if (t->mi)
			check_passive(k, t, i, dl);
	}
	pgorm_result_free(r);
	return 0;
}

static const char *const EXTRAS_SQL =
	/* kind 'c' check, 'u' unique constraint, 'i' index: name, columns, unique, predicate, definition */
	"SELECT k.contype::text, k.conname::text, "
	"(SELECT array_agg(a.attname::text ORDER BY u.n) FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n) "
	"JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum), true, NULL::text, "
	"pg_get_constraintdef(k.oid) "
	"FROM pg_constraint k WHERE k.conrelid = to_regclass($1) AND k.contype IN ('c', 'u') "
	"UNION ALL "
	"SELECT 'i', c.relname::text, "
	"(SELECT array_agg(a.attname::text ORDER BY u.n) FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, n) "
	"JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum), i.indisunique, "
	"pg_get_expr(i.indpred, i.indrelid), pg_get_indexdef(i.indexrelid) "
	"FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1)";

static bool same_names(const char *const *model, const pgorm_value *db)
{
	size_t n = 0;
	while (model[n])
		n++;
	if (db->is_null || db->u.strs.n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (db->u.strs.items[i] == NULL || strcmp(model[i], db->u.strs.items[i]) != 0)
			return false;
	return true;
}

/* The model's CHECK constraints (by name), composite UNIQUE constraints (by columns) and extra
 * indexes (by name: columns, uniqueness, partial or not). */
static int check_extras(checker *k, pgorm_conn *c, const dtable *t)
{
	const pgorm_model *m = t->mi->model;
	if (!m->checks && !m->uniques && !m->indexes)
		return 0;
	pgorm_value p = PGORM_TEXT(t->qtable);
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, EXTRAS_SQL, 1, &p, &r);
	if (rc != 0)
		return rc;
	size_t n = pgorm_result_rows(r);
	for (const pgorm_check *x = m->checks; x && x->name; x++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++) {
			const char *kind = pgorm_result_text(r, i, 0), *name = pgorm_result_text(r, i, 1);
			found = kind && name && kind[0] == 'c' && strcmp(name, x->name) == 0;
		}
		if (!found) {
			line(k, t, NULL);
			pgorm__sb_addf(&k->out, "missing CHECK constraint %s (%s)", x->name, x->expr);
			end_line(k);
		}
	}
	for (const pgorm_index *x = m->uniques; x && x->name; x++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++) {
			const char *kind = pgorm_result_text(r, i, 0);
			pgorm_value cols;
			found = kind && kind[0] == 'u' && pgorm_result_get(r, i, 2, PGORM_TYPE_TEXT_ARRAY, &cols, NULL) == 0 &&
			        same_names(x->columns, &cols);
		}
		if (!found) {
			line(k, t, NULL);
			pgorm__sb_addf(&k->out, "missing UNIQUE constraint %s (", x->name);
			add_labels(&k->out, x->columns, names_len(x->columns));
			pgorm__sb_add(&k->out, ")");
			end_line(k);
		}
	}
	for (const pgorm_index *x = m->indexes; x && x->name; x++) {
		long row = -1;
		for (size_t i = 0; i < n && row < 0; i++) {
			const char *kind = pgorm_result_text(r, i, 0), *name = pgorm_result_text(r, i, 1);
			if (kind && name && kind[0] == 'i' && strcmp(name, x->name) == 0)
				row = (long)i;
		}
		if (row < 0) {
			line(k, t, NULL);
			pgorm__sb_addf(&k->out, "missing index %s", x->name);
			end_line(k);
			continue;
		}
		pgorm_value cols;
		bool uniq = false;
		get_bool(r, (size_t)row, 3, &uniq);
		const char *pred = pgorm_result_text(r, (size_t)row, 4), *def = pgorm_result_text(r, (size_t)row, 5);
		bool cols_ok = pgorm_result_get(r, (size_t)row, 2, PGORM_TYPE_TEXT_ARRAY, &cols, NULL) == 0 &&
		               same_names(x->columns, &cols);
		if (!cols_ok || uniq != x->unique || (pred != NULL) != (x->where != NULL)) {
			line(k, t, NULL);
			pgorm__sb_addf(&k->out, "index %s differs: model %s(", x->name, x->unique ? "UNIQUE " : "");
			add_labels(&k->out, x->columns, names_len(x->columns));
			pgorm__sb_add(&k->out, ")");
			if (x->where)
				pgorm__sb_addf(&k->out, " WHERE %s", x->where);
			pgorm__sb_addf(&k->out, ", database %s", def ? def : "?");
			end_line(k);
		}
	}
	pgorm_result_free(r);
	return 0;
}

static int check_table(checker *k, pgorm_conn *c, const dtable *t, int64_t oid)
{
	if (oid == 0) {
		line(k, t, NULL);
		pgorm__sb_add(&k->out, "missing table");
		end_line(k);
		return 0; /* its columns and FKs are not reported one by one */
	}
	pgorm_value p = PGORM_TEXT(t->qtable);
	pgorm_result *r = NULL;
	int rc = pgorm_conn_exec(c, COLS_SQL, 1, &p, &r);
	if (rc != 0)
		return rc;
	size_t n = pgorm_result_rows(r);
	dbcol *db = pgorm__calloc(n + 1, sizeof *db);
	if (db == NULL) {
		pgorm_result_free(r);
		return pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory checking the schema");
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		db[i].name = pgorm_result_text(r, i, 0);
		db[i].type = pgorm_result_text(r, i, 1);
		if (db[i].name == NULL || db[i].type == NULL)
			rc = PGORM_ETYPE;
		if (rc == 0)
			rc = pgorm_result_int64(r, i, 2, &db[i].oid);
		if (rc == 0) rc = get_bool(r, i, 3, &db[i].notnull);
		if (rc == 0) rc = get_bool(r, i, 4, &db[i].hasdef);
		if (rc == 0) rc = get_bool(r, i, 5, &db[i].serial);
		if (rc == 0) rc = get_bool(r, i, 6, &db[i].unique);
		if (rc == 0) rc = get_bool(r, i, 7, &db[i].pk);
		db[i].typname = pgorm_result_text(r, i, 8);
		if (rc == 0) rc = get_bool(r, i, 9, &db[i].is_enum);
		if (rc == 0) rc = pgorm_result_get(r, i, 10, PGORM_TYPE_TEXT_ARRAY, &db[i].labels, NULL);
	}
	if (rc != 0)
		rc = pgorm__error_set(&c->err, rc, "schema check: unexpected catalog result");
	else
		check_columns(k, t, db, n);
	pgorm__free(db);
	pgorm_result_free(r);
	if (rc == 0)
		rc = check_fks(k, c, t, oid);
	if (rc == 0 && t->mi)
		rc = check_extras(k, c, t);
	return rc;
}

int pgorm_registry_check(const pgorm_registry *reg, pgorm_conn *c, char **report)
{
	if (report != NULL)
		*report = NULL;
	if (c == NULL)
		return PGORM_EINVAL;
	if (reg == NULL || report == NULL)
		return pgorm__error_set(&c->err, PGORM_EINVAL, "pgorm_registry_check: NULL argument");
	dlist l;
	int rc = dlist_build(reg, &l, &c->err);
	if (rc != 0)
		return rc;
	int64_t *oids = pgorm__calloc(l.n + 1, sizeof *oids);
	checker k = { .reg = reg, .l = &l, .oids = oids };
	pgorm__sb_init(&k.out);
	rc = oids == NULL ? pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory checking the schema") : 0;
	if (rc == 0)
		rc = fetch_oids(c, &l, oids);
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = check_table(&k, c, &l.t[i], oids[i]);
	if (rc == 0 && k.count > 0) {
		*report = pgorm__sb_take(&k.out);
		if (*report == NULL)
			rc = pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory building the schema report");
	}
	pgorm__sb_free(&k.out);
	pgorm__free(oids);
	dlist_free(&l);
	return rc == 0 ? k.count : rc;
}
