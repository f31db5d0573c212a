/* lib/migrate.c — migration SQL from the models (pgorm_registry_diff_sql, pgorm/migrate.h).
 *
 * How: inside a transaction that is always rolled back, pgorm_registry_create_all builds the
 * models in a scratch schema (pgorm_diff_<backend pid>); the catalog of that schema (what the
 * models want) is then compared with the catalog of the target schema (what is there), both read
 * with the search_path set to the schema itself, so that format_type, pg_get_expr,
 * pg_get_constraintdef and pg_get_indexdef print the same unqualified text for the same thing.
 * Whatever create_all makes (types, defaults, keys, constraints, indexes) is thus compared
 * without a second copy of the DDL rules here.
 *
 * The script: BEGIN; CREATE SCHEMA IF NOT EXISTS (when missing); SET LOCAL search_path; then
 *  1. CREATE TABLE for missing tables, parents first (FK order); a foreign key whose target
 *     comes later (a cycle) is added in step 4;
 *  2. ADD COLUMN for missing columns (NOT NULL inline only with a default: without one, the
 *     SET NOT NULL that follows is destructive on existing rows); a sequence for a
 *     server-generated key column that has none;
 *  3. DROP NOT NULL, SET DEFAULT; ADD CONSTRAINT for missing primary keys, UNIQUE and CHECK
 *     constraints (compared by definition, not name);
 *  4. ADD CONSTRAINT for missing foreign keys;
 *  5. CREATE INDEX for missing indexes (compared by definition);
 *  then COMMIT. A PGORM_SERVER_DEFAULT column of a type create_all has no default for (bool,
 * text, ...) gets a "-- by hand: " line: the models do not say which default. Destructive changes (DROP TABLE/COLUMN/CONSTRAINT/INDEX, ALTER COLUMN TYPE,
 * SET NOT NULL, a constraint redefined under the same name) are written as "-- destructive: "
 * comments, or as statements with PGORM_DIFF_DESTRUCTIVE.
 */
#include "pgorm/migrate.h"

#include "codec.h"
#include "exec.h"
#include "internal.h"
#include "registry.h"
#include "sql.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define SAVEPOINT_NAME "pgorm_diff"

/* ---- one schema's catalog ---- */

typedef struct mcol {
	const char *table, *name, *type, *def;  /* def NULL: no default */
	bool notnull, serial;
	int64_t oid, typmod;
} mcol;

typedef struct mcon {
	const char *table, *name, *def, *ref;   /* ref: the referenced table (FKs), else NULL */
	char type;                              /* p u f c x */
} mcon;

typedef struct midx {
	const char *table, *name, *def, *shape; /* shape: def without the index name */
} midx;

typedef struct mcat {
	pgorm_result *res[5];         /* tables, columns, constraints, indexes, enum types */
	const char **tables;
	size_t ntables;
	mcol *cols;
	size_t ncols;
	mcon *cons;
	size_t ncons;
	midx *idx;
	size_t nidx;
} mcat;

static void mcat_free(mcat *m)
{
	for (size_t i = 0; i < 5; i++)
		pgorm_result_free(m->res[i]);
	pgorm__free(m->tables);
	pgorm__free(m->cols);
	pgorm__free(m->cons);
	pgorm__free(m->idx);
	memset(m, 0, sizeof *m);
}

/* The schema's enum types: the name and the labels as the server quotes them. */
static const char *const ENUMS_SQL =
	"SELECT quote_ident(t.typname::text), string_agg(quote_literal(e.enumlabel::text), ', ' ORDER BY e.enumsortorder) "
	"FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid "
	"WHERE n.nspname = $1 GROUP BY t.typname ORDER BY t.typname::text COLLATE \"C\"";

static const char *const TABLES_SQL =
	"SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname::text COLLATE \"C\"";

static const char *const COLUMNS_SQL =
	"SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
	"(a.attidentity <> '' OR pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL), "
	"pg_get_expr(d.adbin, d.adrelid), a.atttypid::int8, a.atttypmod::int8 "
	"FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
	"WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
	"ORDER BY c.relname::text COLLATE \"C\", a.attnum";

static const char *const CONSTRAINTS_SQL =
	"SELECT c.relname::text, k.conname::text, k.contype::text, pg_get_constraintdef(k.oid), "
	"CASE WHEN k.contype = 'f' THEN (SELECT r.relname::text FROM pg_class r WHERE r.oid = k.confrelid "
	"AND r.relnamespace = k.connamespace) END "
	"FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND k.contype IN ('p', 'u', 'f', 'c', 'x') "
	"ORDER BY c.relname::text COLLATE \"C\", strpos('pucxf', k.contype::text), k.conname::text COLLATE \"C\"";

/* Indexes that back no constraint; the definition without "ON schema." and, as shape, also
 * without the index name. */
static const char *const INDEXES_SQL =
	"SELECT c.relname::text, ic.relname::text, d.def, "
	"regexp_replace(d.def, '^CREATE (UNIQUE )?INDEX \\S+ ON ', 'CREATE \\1INDEX ON ') "
	"FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid "
	"JOIN pg_namespace n ON n.oid = c.relnamespace "
	"CROSS JOIN LATERAL (SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(n.nspname) || '.', "
	"' ON ') AS def) d "
	"WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') "
	"AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid) "
	"ORDER BY c.relname::text COLLATE \"C\", ic.relname::text COLLATE \"C\"";

static bool rbool(pgorm_result *r, size_t row, size_t col)
{
	pgorm_value v;
	return pgorm_result_get(r, row, col, PGORM_TYPE_BOOL, &v, NULL) == 0 && !v.is_null && v.u.b;
}

static const char *rtext(pgorm_result *r, size_t row, size_t col)
{
	return pgorm_result_is_null(r, row, col) ? NULL : pgorm_result_text(r, row, col);
}

/* SET LOCAL search_path TO "schema" (simple protocol: identifiers only). */
static int set_path(pgorm_conn *c, const char *schema)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, "SET LOCAL search_path TO ");
	pgorm__sb_ident(&b, schema);
	const char *sql = pgorm__sb_str(&b);
	int rc = sql ? pgorm__conn_simple(c, sql) : pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory");
	pgorm__sb_free(&b);
	return rc;
}

static int read_catalog(pgorm_conn *c, const char *schema, mcat *m)
{
	int rc = set_path(c, schema);
	pgorm_value p = PGORM_TEXT(schema);
	const char *const sqls[5] = { TABLES_SQL, COLUMNS_SQL, CONSTRAINTS_SQL, INDEXES_SQL, ENUMS_SQL };
	for (size_t i = 0; i < 5 && rc == 0; i++)
		rc = pgorm_conn_exec(c, sqls[i], 1, &p, &m->res[i]);
	if (rc != 0)
		return rc;
	m->ntables = pgorm_result_rows(m->res[0]);
	m->ncols = pgorm_result_rows(m->res[1]);
	m->ncons = pgorm_result_rows(m->res[2]);
	m->nidx = pgorm_result_rows(m->res[3]);
	m->tables = pgorm__calloc(m->ntables + 1, sizeof *m->tables);
	m->cols = pgorm__calloc(m->ncols + 1, sizeof *m->cols);
	m->cons = pgorm__calloc(m->ncons + 1, sizeof *m->cons);
	m->idx = pgorm__calloc(m->nidx + 1, sizeof *m->idx);
	if (!m->tables || !m->cols || !m->cons || !m->idx)
		return pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory reading the catalog");
	for (size_t i = 0; i < m->ntables; i++)
		m->tables[i] = rtext(m->res[0], i, 0);
	for (size_t i = 0; i < m->ncols; i++) {
		pgorm_result *r = m->res[1];
		m->cols[i] = (mcol){ .table = rtext(r, i, 0), .name = rtext(r, i, 1), .type = rtext(r, i, 2),
		                     .notnull = rbool(r, i, 3), .serial = rbool(r, i, 4), .def = rtext(r, i, 5) };
		pgorm_result_int64(r, i, 6, &m->cols[i].oid);
		pgorm_result_int64(r, i, 7, &m->cols[i].typmod);
	}
	for (size_t i = 0; i < m->ncons; i++) {
		pgorm_result *r = m->res[2];
		const char *t = rtext(r, i, 2);
		m->cons[i] = (mcon){ .table = rtext(r, i, 0), .name = rtext(r, i, 1), .type = t ? t[0] : '?',
		                     .def = rtext(r, i, 3), .ref = rtext(r, i, 4) };
	}
	for (size_t i = 0; i < m->nidx; i++) {
		pgorm_result *r = m->res[3];
		m->idx[i] = (midx){ .table = rtext(r, i, 0), .name = rtext(r, i, 1), .def = rtext(r, i, 2),
		                    .shape = rtext(r, i, 3) };
	}
	return 0;
}

static bool eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool has_table(const mcat *m, const char *t)
{
	for (size_t i = 0; i < m->ntables; i++)
		if (eq(m->tables[i], t))
			return true;
	return false;
}

static const mcol *find_col(const mcat *m, const char *t, const char *name)
{
	for (size_t i = 0; i < m->ncols; i++)
		if (eq(m->cols[i].table, t) && eq(m->cols[i].name, name))
			return &m->cols[i];
	return NULL;
}

static const mcon *find_con_def(const mcat *m, const mcon *k)
{
	for (size_t i = 0; i < m->ncons; i++)
		if (eq(m->cons[i].table, k->table) && m->cons[i].type == k->type && eq(m->cons[i].def, k->def))
			return &m->cons[i];
	return NULL;
}

static const mcon *find_con_name(const mcat *m, const mcon *k)
{
	for (size_t i = 0; i < m->ncons; i++)
		if (eq(m->cons[i].table, k->table) && eq(m->cons[i].name, k->name))
			return &m->cons[i];
	return NULL;
}

static bool has_index_shape(const mcat *m, const midx *x)
{
	for (size_t i = 0; i < m->nidx; i++)
		if (eq(m->idx[i].table, x->table) && eq(m->idx[i].shape, x->shape))
			return true;
	return false;
}

/* ---- the script ---- */

typedef struct script {
	pgorm__sb b;
	unsigned flags;
	int changes;
} script;

/* Start a statement; destructive ones are comments unless asked for. */
static void stmt(script *s, bool destructive)
{
	s->changes++;
	if (destructive && !(s->flags & PGORM_DIFF_DESTRUCTIVE))
		pgorm__sb_add(&s->b, "-- destructive: ");
}

static void end(script *s) { pgorm__sb_add(&s->b, ";\n"); }

static void alter(script *s, bool destructive, const char *table)
{
	stmt(s, destructive);
	pgorm__sb_add(&s->b, "ALTER TABLE ");
	pgorm__sb_ident(&s->b, table);
	pgorm__sb_add(&s->b, " ");
}

static const char *serial_type(const char *type)
{
	return strcmp(type, "smallint") == 0 ? "smallserial" : strcmp(type, "integer") == 0 ? "serial" : "bigserial";
}

/* A column definition: name type [NOT NULL] [DEFAULT expr]; with_notnull false leaves NOT NULL
 * out (added by a separate statement). */
static void column_def(script *s, const mcol *c, bool with_notnull)
{
	pgorm__sb_ident(&s->b, c->name);
	pgorm__sb_addf(&s->b, " %s", c->serial ? serial_type(c->type) : c->type);
	if (c->notnull && with_notnull)
		pgorm__sb_add(&s->b, " NOT NULL");
	if (c->def && !c->serial)
		pgorm__sb_addf(&s->b, " DEFAULT %s", c->def);
}

static void add_constraint(script *s, const mcon *k, bool destructive)
{
	alter(s, destructive, k->table);
	pgorm__sb_add(&s->b, "ADD CONSTRAINT ");
	pgorm__sb_ident(&s->b, k->name);
	pgorm__sb_addf(&s->b, " %s", k->def);
	end(s);
}

/* CREATE TABLE for want's table t with its non-FK constraints and the FKs whose target is
 * ready (exists, or created before: ready[] over want->tables). */
static void create_table(script *s, const mcat *want, const char *t, const bool *ready, const mcat *have, bool *fk_done)
{
	stmt(s, false);
	pgorm__sb_add(&s->b, "CREATE TABLE ");
	pgorm__sb_ident(&s->b, t);
	pgorm__sb_add(&s->b, " (");
	size_t n = 0;
	for (size_t i = 0; i < want->ncols; i++) {
		if (!eq(want->cols[i].table, t))
			continue;
		pgorm__sb_add(&s->b, n++ ? ",\n  " : "\n  ");
		column_def(s, &want->cols[i], true);
	}
	for (size_t i = 0; i < want->ncons; i++) {
		const mcon *k = &want->cons[i];
		if (!eq(k->table, t))
			continue;
		if (k->type == 'f') {
			bool ok = k->ref && (eq(k->ref, t) || has_table(have, k->ref));
			for (size_t j = 0; j < want->ntables && !ok && k->ref; j++)
				ok = ready[j] && eq(want->tables[j], k->ref);
			if (!ok)
				continue;
			fk_done[i] = true;
		}
		pgorm__sb_add(&s->b, ",\n  CONSTRAINT ");
		pgorm__sb_ident(&s->b, k->name);
		pgorm__sb_addf(&s->b, " %s", k->def);
	}
	pgorm__sb_add(&s->b, "\n)");
	end(s);
}

/* 'name' as a string literal holding the quoted identifier (for regclass arguments). */
static void regclass_literal(pgorm__sb *b, const char *name)
{
	pgorm__sb q;
	pgorm__sb_init(&q);
	pgorm__sb_ident(&q, name);
	const char *p = pgorm__sb_str(&q);
	pgorm__sb_add(b, "'");
	for (; p && *p; p++)
		pgorm__sb_add(b, *p == '\'' ? "''" : (char[2]){ *p, 0 });
	pgorm__sb_add(b, "'");
	if (pgorm__sb_str(&q) == NULL)
		b->oom = true;
	pgorm__sb_free(&q);
}

/* A sequence for a server-generated key column that has none (as serial would make it). */
static void add_sequence(script *s, const mcol *c)
{
	char name[200];
	snprintf(name, sizeof name, "%s_%s_seq", c->table, c->name);
	stmt(s, false);
	pgorm__sb_add(&s->b, "CREATE SEQUENCE ");
	pgorm__sb_ident(&s->b, name);
	pgorm__sb_addf(&s->b, " AS %s OWNED BY ", c->type);
	pgorm__sb_ident(&s->b, c->table);
	pgorm__sb_add(&s->b, ".");
	pgorm__sb_ident(&s->b, c->name);
	end(s);
	alter(s, false, c->table);
	pgorm__sb_add(&s->b, "ALTER COLUMN ");
	pgorm__sb_ident(&s->b, c->name);
	pgorm__sb_add(&s->b, " SET DEFAULT nextval(");
	regclass_literal(&s->b, name);
	pgorm__sb_add(&s->b, "::regclass)");
	end(s);
	stmt(s, false);
	pgorm__sb_add(&s->b, "SELECT setval(");
	regclass_literal(&s->b, name);
	pgorm__sb_add(&s->b, ", coalesce(max(");
	pgorm__sb_ident(&s->b, c->name);
	pgorm__sb_add(&s->b, "), 0) + 1, false) FROM ");
	pgorm__sb_ident(&s->b, c->table);
	end(s);
}

/* Model columns flagged PGORM_SERVER_DEFAULT for which create_all knows no default (a bool,
 * a text, ...): the database needs one the models do not spell out. */
static void default_notes(script *s, const pgorm_registry *reg, const mcat *want, const mcat *have)
{
	for (size_t i = 0; i < reg->nmodels; i++) {
		const pgorm__model_info *mi = &reg->models[i];
		for (size_t k = 0; k < mi->ncols; k++) {
			const pgorm_column *col = &mi->cols[k];
			if (!(col->flags & PGORM_SERVER_DEFAULT))
				continue;
			const mcol *w = find_col(want, mi->model->table, col->name);
			const mcol *h = find_col(have, mi->model->table, col->name);
			if (w == NULL || w->def != NULL || w->serial || (h != NULL && (h->def != NULL || h->serial)))
				continue;
			s->changes++;
			pgorm__sb_add(&s->b, "-- by hand: ALTER TABLE ");
			pgorm__sb_ident(&s->b, mi->model->table);
			pgorm__sb_add(&s->b, " ALTER COLUMN ");
			pgorm__sb_ident(&s->b, col->name);
			pgorm__sb_addf(&s->b, " SET DEFAULT ...; (PGORM_SERVER_DEFAULT on a %s column: pgorm has no default "
			               "to give it)\n", pgorm_type_name(col->type));
		}
	}
}

static int build_script(script *s, const mcat *want, const mcat *have, pgorm_error *err)
{
	pgorm__sb *b = &s->b;
	bool *ready = pgorm__calloc(want->ntables + 1, sizeof *ready);
	bool *fk_done = pgorm__calloc(want->ncons + 1, sizeof *fk_done);
	if (ready == NULL || fk_done == NULL) {
		pgorm__free(ready);
		pgorm__free(fk_done);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the migration");
	}
	/* 0. missing enum types (a changed label list is left to the user: ALTER TYPE … ADD VALUE) */
	for (size_t i = 0; i < pgorm_result_rows(want->res[4]); i++) {
		const char *name = rtext(want->res[4], i, 0);
		bool have_it = false;
		for (size_t k = 0; k < pgorm_result_rows(have->res[4]) && !have_it; k++)
			have_it = eq(rtext(have->res[4], k, 0), name);
		if (have_it)
			continue;
		stmt(s, false);
		pgorm__sb_addf(b, "CREATE TYPE %s AS ENUM (%s)", name, rtext(want->res[4], i, 1));
		end(s);
	}
	/* 1. missing tables, parents first: a table is ready to create when every FK target of it
	 * exists, is itself, or is ready; what a cycle leaves is created anyway (FKs in step 4) */
	for (size_t i = 0; i < want->ntables; i++)
		ready[i] = has_table(have, want->tables[i]);
	for (;;) {
		size_t pick = SIZE_MAX, fallback = SIZE_MAX;
		for (size_t i = 0; i < want->ntables && pick == SIZE_MAX; i++) {
			if (ready[i])
				continue;
			if (fallback == SIZE_MAX)
				fallback = i;
			bool ok = true;
			for (size_t k = 0; k < want->ncons && ok; k++) {
				const mcon *c = &want->cons[k];
				if (c->type != 'f' || !eq(c->table, want->tables[i]) || c->ref == NULL || eq(c->ref, c->table))
					continue;
				bool tready = false;
				for (size_t j = 0; j < want->ntables; j++)
					tready = tready || (ready[j] && eq(want->tables[j], c->ref));
				ok = tready || has_table(have, c->ref);
			}
			if (ok)
				pick = i;
		}
		if (pick == SIZE_MAX)
			pick = fallback;
		if (pick == SIZE_MAX)
			break;
		create_table(s, want, want->tables[pick], ready, have, fk_done);
		ready[pick] = true;
	}
	/* 2. columns of existing tables */
	for (size_t i = 0; i < want->ncols; i++) {
		const mcol *c = &want->cols[i];
		if (!has_table(have, c->table))
			continue;
		const mcol *h = find_col(have, c->table, c->name);
		if (h == NULL) {
			bool inline_nn = c->def != NULL || c->serial;
			alter(s, false, c->table);
			pgorm__sb_add(b, "ADD COLUMN ");
			column_def(s, c, inline_nn);
			end(s);
			if (c->notnull && !inline_nn) {
				alter(s, true, c->table);
				pgorm__sb_add(b, "ALTER COLUMN ");
				pgorm__sb_ident(b, c->name);
				pgorm__sb_add(b, " SET NOT NULL");
				end(s);
			}
			continue;
		}
		/* a model type without modifier (text, numeric) says nothing about a live column's
		 * varchar(n), char(n) or numeric(p,s) of the same pgorm type: no change */
		bool same_type = eq(c->type, h->type) ||
		                 (c->typmod < 0 && pgorm__type_from_oid((unsigned)c->oid) != PGORM_TYPE_INVALID &&
		                  pgorm__type_from_oid((unsigned)c->oid) == pgorm__type_from_oid((unsigned)h->oid));
		if (!same_type) {
			alter(s, true, c->table);
			pgorm__sb_add(b, "ALTER COLUMN ");
			pgorm__sb_ident(b, c->name);
			pgorm__sb_addf(b, " TYPE %s USING ", c->type);
			pgorm__sb_ident(b, c->name);
			pgorm__sb_addf(b, "::%s", c->type);
			end(s);
		}
		if (c->notnull != h->notnull) {
			alter(s, c->notnull, c->table);
			pgorm__sb_add(b, "ALTER COLUMN ");
			pgorm__sb_ident(b, c->name);
			pgorm__sb_add(b, c->notnull ? " SET NOT NULL" : " DROP NOT NULL");
			end(s);
		}
		if (c->serial && !h->serial) {
			add_sequence(s, c);
		} else if (!c->serial && c->def && !eq(c->def, h->def)) {
			alter(s, false, c->table);
			pgorm__sb_add(b, "ALTER COLUMN ");
			pgorm__sb_ident(b, c->name);
			pgorm__sb_addf(b, " SET DEFAULT %s", c->def);
			end(s);
		}
	}
	/* 3. keys, UNIQUE and CHECK constraints of existing tables (4: foreign keys) */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < want->ncons; i++) {
			const mcon *k = &want->cons[i];
			if ((k->type == 'f') != (pass == 1) || fk_done[i])
				continue;
			bool existed = has_table(have, k->table);
			if (!existed && k->type != 'f')
				continue; /* in its CREATE TABLE */
			if (existed && find_con_def(have, k))
				continue;
			const mcon *clash = existed ? find_con_name(have, k) : NULL;
			if (clash) { /* same name, other definition: replace it (destructive) */
				alter(s, true, k->table);
				pgorm__sb_add(b, "DROP CONSTRAINT ");
				pgorm__sb_ident(b, clash->name);
				end(s);
			}
			add_constraint(s, k, clash != NULL);
		}
	}
	/* 5. indexes */
	for (size_t i = 0; i < want->nidx; i++) {
		if (has_index_shape(have, &want->idx[i]))
			continue;
		stmt(s, false);
		pgorm__sb_add(b, want->idx[i].def);
		end(s);
	}
	/* destructive: what the database has and the models do not */
	for (size_t i = 0; i < have->nidx; i++)
		if (has_table(want, have->idx[i].table) && !has_index_shape(want, &have->idx[i])) {
			stmt(s, true);
			pgorm__sb_add(b, "DROP INDEX ");
			pgorm__sb_ident(b, have->idx[i].name);
			end(s);
		}
	for (size_t i = 0; i < have->ncons; i++) {
		const mcon *k = &have->cons[i];
		if (has_table(want, k->table) && !find_con_def(want, k) && !find_con_name(want, k)) {
			alter(s, true, k->table);
			pgorm__sb_add(b, "DROP CONSTRAINT ");
			pgorm__sb_ident(b, k->name);
			end(s);
		}
	}
	for (size_t i = 0; i < have->ncols; i++) {
		const mcol *c = &have->cols[i];
		if (has_table(want, c->table) && find_col(want, c->table, c->name) == NULL) {
			alter(s, true, c->table);
			pgorm__sb_add(b, "DROP COLUMN ");
			pgorm__sb_ident(b, c->name);
			end(s);
		}
	}
	for (size_t i = 0; i < have->ntables; i++)
		if (!has_table(want, have->tables[i])) {
			stmt(s, true);
			pgorm__sb_add(b, "DROP TABLE ");
			pgorm__sb_ident(b, have->tables[i]);
			end(s);
		}
	pgorm__free(ready);
	pgorm__free(fk_done);
	return 0;
}

/* The whole script: header, BEGIN, the statements, COMMIT. */
static char *wrap(script *s, const char *schema, bool schema_exists)
{
	pgorm__sb out;
	pgorm__sb_init(&out);
	pgorm__sb_add(&out, "-- pgorm: bring schema ");
	pgorm__sb_ident(&out, schema);
	pgorm__sb_addf(&out, " to the models (%d change%s%s)\nBEGIN;\n", s->changes, s->changes == 1 ? "" : "s",
	               s->flags & PGORM_DIFF_DESTRUCTIVE ? ", destructive ones included"
	                                                 : "; destructive ones are comments");
	if (!schema_exists) {
		pgorm__sb_add(&out, "CREATE SCHEMA IF NOT EXISTS ");
		pgorm__sb_ident(&out, schema);
		pgorm__sb_add(&out, ";\n");
	}
	pgorm__sb_add(&out, "SET LOCAL search_path TO ");
	pgorm__sb_ident(&out, schema);
	pgorm__sb_add(&out, ";\n");
	const char *body = pgorm__sb_str(&s->b);
	pgorm__sb_add(&out, body ? body : "");
	pgorm__sb_add(&out, "COMMIT;\n");
	if (body == NULL)
		out.oom = true;
	return pgorm__sb_take(&out);
}

int pgorm_registry_diff_sql(const pgorm_registry *reg, pgorm_conn *c, const char *schema, unsigned flags, char **sql)
{
	if (sql != NULL)
		*sql = NULL;
	if (c == NULL)
		return PGORM_EINVAL;
	if (reg == NULL || schema == NULL || *schema == '\0' || sql == NULL || (flags & ~PGORM_DIFF_DESTRUCTIVE))
		return pgorm__error_set(&c->err, PGORM_EINVAL, "pgorm_registry_diff_sql: NULL or empty argument, or unknown flags");
	for (size_t i = 0; i < reg->nmodels; i++)
		if (reg->models[i].model->schema != NULL)
			return pgorm__error_set(&c->err, PGORM_EINVAL,
			                        "pgorm_registry_diff_sql: model %s names schema %s; diff compares models "
			                        "that use the search_path (PGORM_MODEL) with one schema",
			                        reg->models[i].model->table, reg->models[i].model->schema);
	bool sp;
	int rc = pgorm__conn_unit_open(c, SAVEPOINT_NAME, "pgorm_registry_diff_sql", &sp);
	if (rc != 0)
		return rc;
	mcat want = { 0 }, have = { 0 };
	script s = { .flags = flags };
	pgorm__sb_init(&s.b);
	char scratch[64];
	bool schema_exists = false;
	pgorm_result *r = NULL;
	pgorm_value p = PGORM_TEXT(schema);
	rc = pgorm_conn_exec(c, "SELECT 'pgorm_diff_' || pg_backend_pid(), EXISTS (SELECT 1 FROM pg_namespace WHERE "
	                        "nspname = $1)", 1, &p, &r);
	if (rc == 0) {
		const char *name = pgorm_result_text(r, 0, 0);
		snprintf(scratch, sizeof scratch, "%s", name ? name : "pgorm_diff");
		schema_exists = rbool(r, 0, 1);
		pgorm_result_free(r);
		pgorm__sb b;
		pgorm__sb_init(&b);
		pgorm__sb_add(&b, "CREATE SCHEMA ");
		pgorm__sb_ident(&b, scratch);
		rc = pgorm__sb_str(&b) ? pgorm__conn_simple(c, pgorm__sb_str(&b)) : pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory");
		pgorm__sb_free(&b);
	}
	if (rc == 0)
		rc = set_path(c, scratch);
	if (rc == 0)
		rc = pgorm_registry_create_all(reg, c, false);
	if (rc == 0)
		rc = read_catalog(c, scratch, &want);
	if (rc == 0)
		rc = read_catalog(c, schema, &have);
	if (rc == 0)
		rc = build_script(&s, &want, &have, &c->err);
	if (rc == 0)
		default_notes(&s, reg, &want, &have);
	if (rc == 0 && s.changes > 0 && (*sql = wrap(&s, schema, schema_exists)) == NULL)
		rc = pgorm__error_set(&c->err, PGORM_ENOMEM, "out of memory building the migration");
	/* nothing of the scratch schema stays: always roll back */
	pgorm__conn_unit_undo(c, SAVEPOINT_NAME, sp);
	mcat_free(&want);
	mcat_free(&have);
	pgorm__sb_free(&s.b);
	if (rc != 0) {
		pgorm__free(*sql);
		*sql = NULL;
		return rc;
	}
	return s.changes;
}
