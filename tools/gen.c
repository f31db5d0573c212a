/* tools/gen.c — pgorm-gen: models from a live schema.
 *
 * Reads pg_catalog for one schema (tables, columns, primary keys, single-column unique
 * indexes, foreign keys with their actions) and writes OUT.h (structs, extern models, the
 * NULL-terminated models array) and OUT.c (column and relationship descriptors) with the
 * macros of pgorm/model.h.
 *
 * Rules (README "pgorm-gen" states them for users):
 * - Types: the TYPES table below, one line per PostgreSQL type (pg_catalog types, by typname).
 *   A column of any other type is reported (table.column and the type) and generation fails,
 *   or with --skip-unmapped the column is left out (and listed in the generated file).
 * - A table without a primary key is reported the same way (pgorm models need one).
 * - Association tables become many-to-many relationships, not models: exactly two columns,
 *   both the primary key, each a single-column foreign key ON DELETE CASCADE (ON UPDATE NO
 *   ACTION) to the single-column primary key of a model (what pgorm_registry_create_all
 *   makes). Any other table is a model.
 * - Each foreign key gives a many-to-one on its table, named after its first column without
 *   "_id" (else the column name plus "_rel"), and a one-to-many on the target with
 *   back_populates, named after the referencing table; when that table refers to the target
 *   more than once, or is the target (self-reference), "<table>_by_<many-to-one name>". A
 *   foreign key whose columns are unique (a unique index, or the whole primary key) gives a
 *   one-to-one (PGORM_O2O) instead. Directions are explicit (O2M/M2O macros), so
 *   self-references need no inference. ON DELETE CASCADE gives cascade ALL with
 *   passive_deletes; ON DELETE SET NULL passive_deletes.
 * - Names: struct = the table name in CamelCase; globals <table>_model, <table>_columns,
 *   <table>_relationships; members = column / relationship names. Identifiers are made valid C
 *   (other characters become '_', C keywords get a trailing '_', a clash gets _2, _3, ...).
 *   Everything is emitted in name order: the same schema always gives the same files.
 */
#include "gen.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the type table: one line per mapped PostgreSQL type ---- */

typedef struct gtype {
	const char *typname;   /* pg_type.typname (pg_catalog) */
	const char *macro;     /* PGORM_TYPE_<macro> */
	const char *ctype;     /* the struct member's C type */
} gtype;

static const gtype TYPES[] = {
	{ "bool", "BOOL", "bool" },
	{ "int2", "INT2", "int16_t" },
	{ "int4", "INT4", "int32_t" },
	{ "int8", "INT8", "int64_t" },
	{ "float4", "FLOAT4", "float" },
	{ "float8", "FLOAT8", "double" },
	{ "text", "TEXT", "char *" },
	{ "varchar", "VARCHAR", "char *" },
	{ "bpchar", "CHAR", "char *" },
	{ "bytea", "BYTEA", "pgorm_bytes" },
	{ "numeric", "NUMERIC", "char *" },
	{ "date", "DATE", "int32_t" },
	{ "timestamp", "TIMESTAMP", "int64_t" },
	{ "timestamptz", "TIMESTAMPTZ", "int64_t" },
	{ "uuid", "UUID", "pgorm_uuid" },
	{ "json", "JSON", "char *" },
	{ "jsonb", "JSONB", "char *" },
	{ "interval", "INTERVAL", "pgorm_interval" },
	{ "time", "TIME", "int64_t" },
	{ "timetz", "TIMETZ", "pgorm_timetz" },
	{ "inet", "INET", "pgorm_inet" },
	{ "cidr", "CIDR", "pgorm_inet" },
	{ "_bool", "BOOL_ARRAY", "pgorm_array" },
	{ "_int2", "INT2_ARRAY", "pgorm_array" },
	{ "_int4", "INT4_ARRAY", "pgorm_array" },
	{ "_int8", "INT8_ARRAY", "pgorm_array" },
	{ "_float8", "FLOAT8_ARRAY", "pgorm_array" },
	{ "_text", "TEXT_ARRAY", "pgorm_array" },
	{ "_uuid", "UUID_ARRAY", "pgorm_array" },
};

/* An enum type of the schema: a label (char *) naming its type, labels from pg_enum. */
static const gtype ENUM_TYPE = { "", "ENUM", "char *" };

static const gtype *type_lookup(const char *typname, bool in_catalog)
{
	for (size_t i = 0; in_catalog && i < sizeof TYPES / sizeof TYPES[0]; i++)
		if (strcmp(TYPES[i].typname, typname) == 0)
			return &TYPES[i];
	return NULL;
}

/* ---- the schema as read ---- */

#define MAXK 32   /* columns per key (INDEX_MAX_KEYS) */

typedef struct gcol {
	char *name, *member, *sqltype;
	char *enumtype;               /* ENUM: the enum type's name */
	char *labels;                 /* ENUM: its labels, separated by \x01, in sort order */
	unsigned length, scale;       /* varchar(n)/char(n): n; numeric(p,s): p and s */
	const gtype *type;
	int attnum;
	bool notnull, hasdef, serial, pk, unique;
	int fk;                       /* the foreign key (index in t->fks) this column is part of, -1 */
} gcol;

typedef struct gfk {
	int ncols;
	int cols[MAXK];               /* column indexes in the table */
	int target;                   /* table index */
	int tcols[MAXK];              /* column indexes in the target */
	char del, upd;                /* pg_constraint letters */
	bool unique;                  /* its columns are unique: one-to-one */
	char *m2o;                    /* many-to-one relationship name (on this table) */
	char *o2m;                    /* one-to-many / one-to-one name (on the target) */
} gfk;

typedef struct gtable {
	char *name, *ident, *sname;   /* table, C identifier stem, struct name */
	int64_t oid;
	gcol *cols;
	int ncols;
	gfk *fks;
	int nfks;
	bool assoc, skip;
	char **members;               /* every member name taken (columns, relationships) */
	int nmembers;
} gtable;

typedef struct gschema {
	const gen_options *o;
	gtable *t;
	int n;
	int problems;                 /* reported: unmappable types, no primary key, ... */
	char **notes;                 /* what --skip-unmapped left out, for the generated file */
	int nnotes;
} gschema;

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (p == NULL) {
		fprintf(stderr, "pgorm-gen: out of memory\n");
		exit(2);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (p == NULL) {
		fprintf(stderr, "pgorm-gen: out of memory\n");
		exit(2);
	}
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	int n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fprintf(stderr, "pgorm-gen: out of memory\n");
		exit(2);
	}
	return p;
}

static void note(gschema *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(gschema *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	if (p == NULL)
		exit(2);
	fprintf(stderr, "pgorm-gen: %s%s\n", s->o->skip_unmapped ? "left out: " : "", p);
	s->problems++;
	char **n = realloc(s->notes, (size_t)(s->nnotes + 1) * sizeof *n);
	if (n == NULL)
		exit(2);
	s->notes = n;
	s->notes[s->nnotes++] = p;
}

/* ---- identifiers ---- */

static const char *const KEYWORDS[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
	"extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
	"short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
	"volatile", "while", "bool", "true", "false", "hdr", "asm", "typeof",
};

/* A valid C identifier for name: [A-Za-z0-9_], not starting with a digit, not a keyword. */
static char *c_ident(const char *name)
{
	size_t n = strlen(name);
	char *p = xcalloc(n + 3, 1), *q = p;
	if (n == 0 || isdigit((unsigned char)name[0]))
		*q++ = '_';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		*q++ = (char)(isalnum(c) && c < 0x80 ? c : '_');
	}
	for (size_t k = 0; k < sizeof KEYWORDS / sizeof KEYWORDS[0]; k++)
		if (strcmp(p, KEYWORDS[k]) == 0)
			*q++ = '_';
	return p;
}

static char *camel(const char *ident)
{
	char *p = xcalloc(strlen(ident) + 2, 1), *q = p;
	bool up = true;
	for (const char *s = ident; *s; s++) {
		if (*s == '_' && s != ident) {
			up = true;
			continue;
		}
		*q++ = up ? (char)toupper((unsigned char)*s) : *s;
		up = false;
	}
	return p;
}

static bool member_taken(const gtable *t, const char *m)
{
	for (int i = 0; i < t->nmembers; i++)
		if (strcmp(t->members[i], m) == 0)
			return true;
	return false;
}

/* Reserve a member name in t: base, else base_2, base_3, ... */
static char *take_member(gtable *t, const char *base)
{
	char *m = xstrdup(base);
	for (int k = 2; member_taken(t, m); k++) {
		free(m);
		m = xasprintf("%s_%d", base, k);
	}
	char **n = realloc(t->members, (size_t)(t->nmembers + 1) * sizeof *n);
	if (n == NULL)
		exit(2);
	t->members = n;
	t->members[t->nmembers++] = m;
	return m;
}

/* ---- reading the catalog ---- */

static int query(pgorm_conn *c, const char *sql, const char *schema, pgorm_result **r)
{
	pgorm_value p = PGORM_TEXT(schema);
	int rc = pgorm_conn_exec(c, sql, 1, &p, r);
	if (rc != 0)
		fprintf(stderr, "pgorm-gen: catalog query failed: %s\n", pgorm_conn_error(c)->message);
	return rc;
}

static bool rbool(pgorm_result *r, size_t row, size_t col)
{
	pgorm_value v;
	return pgorm_result_get(r, row, col, PGORM_TYPE_BOOL, &v, NULL) == 0 && !v.is_null && v.u.b;
}

static int64_t rint64(pgorm_result *r, size_t row, size_t col)
{
	int64_t v = 0;
	pgorm_result_int64(r, row, col, &v);
	return v;
}

static int find_table(const gschema *s, int64_t oid)
{
	for (int i = 0; i < s->n; i++)
		if (s->t[i].oid == oid)
			return i;
	return -1;
}

static int find_col(const gtable *t, int64_t attnum)
{
	for (int i = 0; i < t->ncols; i++)
		if (t->cols[i].attnum == attnum)
			return i;
	return -1;
}

static const char *const TABLES_SQL =
	"SELECT c.oid::int8, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname::text COLLATE \"C\"";

static const char *const COLUMNS_SQL =
	"SELECT a.attrelid::int8, a.attname::text, t.typname::text, t.typnamespace = 'pg_catalog'::regnamespace, "
	"format_type(a.atttypid, a.atttypmod), a.attnotnull, (a.atthasdef OR a.attidentity <> ''), "
	"(a.attidentity <> '' OR pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL), "
	"a.attnum::int8, t.typtype::text, "
	"(SELECT string_agg(e.enumlabel::text, E'\\x01' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) "
	"FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
	"JOIN pg_type t ON t.oid = a.atttypid "
	"WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
	"ORDER BY a.attrelid, a.attnum";

/* Primary keys and single-column unique indexes (no predicate, no expression). */
static const char *const INDEXES_SQL =
	"SELECT i.indrelid::int8, i.indisprimary, string_to_array(i.indkey::text, ' ')::int8[] "
	"FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND (i.indisprimary OR (i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL "
	"AND i.indexprs IS NULL)) ORDER BY i.indexrelid";

static const char *const FKS_SQL =
	"SELECT k.conrelid::int8, k.confrelid::int8, k.conkey::int8[], k.confkey::int8[], k.confdeltype::text, "
	"k.confupdtype::text, k.conname::text "
	"FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname = $1 AND k.contype = 'f' ORDER BY c.relname::text COLLATE \"C\", k.conname::text COLLATE \"C\"";

static int read_schema(pgorm_conn *c, gschema *s)
{
	const char *schema = s->o->schema;
	pgorm_result *r = NULL;
	if (query(c, TABLES_SQL, schema, &r) != 0)
		return -1;
	s->n = (int)pgorm_result_rows(r);
	s->t = xcalloc((size_t)s->n, sizeof *s->t);
	for (int i = 0; i < s->n; i++) {
		s->t[i].oid = rint64(r, (size_t)i, 0);
		s->t[i].name = xstrdup(pgorm_result_text(r, (size_t)i, 1));
	}
	pgorm_result_free(r);
	if (s->n == 0) {
		fprintf(stderr, "pgorm-gen: schema %s has no tables (or does not exist)\n", schema);
		return -1;
	}

	if (query(c, COLUMNS_SQL, schema, &r) != 0)
		return -1;
	size_t rows = pgorm_result_rows(r);
	for (size_t row = 0; row < rows; row++) {
		gtable *t = &s->t[find_table(s, rint64(r, row, 0))];
		if (t->cols == NULL)
			t->cols = xcalloc(rows, sizeof *t->cols);
		gcol *col = &t->cols[t->ncols++];
		col->name = xstrdup(pgorm_result_text(r, row, 1));
		col->type = type_lookup(pgorm_result_text(r, row, 2), rbool(r, row, 3));
		col->sqltype = xstrdup(pgorm_result_text(r, row, 4));
		col->notnull = rbool(r, row, 5);
		col->hasdef = rbool(r, row, 6);
		col->serial = rbool(r, row, 7);
		col->attnum = (int)rint64(r, row, 8);
		if (col->type == NULL && strcmp(pgorm_result_text(r, row, 9), "e") == 0) {
			col->type = &ENUM_TYPE;
			col->enumtype = xstrdup(pgorm_result_text(r, row, 2));
			col->labels = xstrdup(pgorm_result_text(r, row, 10));
		}
		/* the modifiers format_type shows: "character varying(20)", "numeric(10,2)" */
		const char *paren = strchr(col->sqltype, '(');
		if (col->type != NULL && paren != NULL && col->type != &ENUM_TYPE) {
			unsigned a = 0, b = 0;
			int got = sscanf(paren, "(%u,%u)", &a, &b);
			if (got >= 1 && (strcmp(col->type->macro, "VARCHAR") == 0 || strcmp(col->type->macro, "CHAR") == 0))
				col->length = a;
			else if (got >= 1 && strcmp(col->type->macro, "NUMERIC") == 0)
				col->length = a, col->scale = got == 2 ? b : 0;
		}
		col->fk = -1;
	}
	pgorm_result_free(r);

	if (query(c, INDEXES_SQL, schema, &r) != 0)
		return -1;
	rows = pgorm_result_rows(r);
	for (size_t row = 0; row < rows; row++) {
		int ti = find_table(s, rint64(r, row, 0));
		pgorm_value keys;
		if (ti < 0 || pgorm_result_get(r, row, 2, PGORM_TYPE_INT8_ARRAY, &keys, NULL) != 0)
			continue;
		gtable *t = &s->t[ti];
		bool primary = rbool(r, row, 1);
		for (size_t k = 0; k < keys.u.i64s.n; k++) {
			int ci = find_col(t, keys.u.i64s.items[k]);
			if (ci < 0)
				continue;
			if (primary)
				t->cols[ci].pk = true;
			else
				t->cols[ci].unique = true;
		}
	}
	pgorm_result_free(r);

	if (query(c, FKS_SQL, schema, &r) != 0)
		return -1;
	rows = pgorm_result_rows(r);
	for (size_t row = 0; row < rows; row++) {
		int ti = find_table(s, rint64(r, row, 0));
		gtable *t = &s->t[ti];
		int target = find_table(s, rint64(r, row, 1));
		const char *conname = pgorm_result_text(r, row, 6);
		if (target < 0) {
			note(s, "%s: foreign key %s refers to a table outside schema %s (no relationship)", t->name, conname,
			     schema);
			continue;
		}
		pgorm_value ck, tk;
		if (pgorm_result_get(r, row, 2, PGORM_TYPE_INT8_ARRAY, &ck, NULL) != 0 ||
		    pgorm_result_get(r, row, 3, PGORM_TYPE_INT8_ARRAY, &tk, NULL) != 0 || ck.u.i64s.n > MAXK)
			continue;
		if (t->fks == NULL)
			t->fks = xcalloc(rows, sizeof *t->fks);
		gfk *f = &t->fks[t->nfks];
		f->ncols = (int)ck.u.i64s.n;
		f->target = target;
		for (int k = 0; k < f->ncols; k++) {
			f->cols[k] = find_col(t, ck.u.i64s.items[k]);
			f->tcols[k] = find_col(&s->t[target], tk.u.i64s.items[k]);
		}
		const char *d = pgorm_result_text(r, row, 4), *u = pgorm_result_text(r, row, 5);
		f->del = d ? d[0] : 'a';
		f->upd = u ? u[0] : 'a';
		bool clash = false;
		for (int k = 0; k < f->ncols; k++)
			clash = clash || t->cols[f->cols[k]].fk >= 0;
		if (clash) {
			note(s, "%s: foreign key %s shares a column with another foreign key (no relationship)", t->name, conname);
			continue;
		}
		for (int k = 0; k < f->ncols; k++)
			t->cols[f->cols[k]].fk = t->nfks;
		t->nfks++;
	}
	pgorm_result_free(r);
	return 0;
}

/* ---- deciding what to emit ---- */

static int npk(const gtable *t)
{
	int n = 0;
	for (int i = 0; i < t->ncols; i++)
		n += t->cols[i].pk;
	return n;
}

static bool is_assoc(const gschema *s, const gtable *t)
{
	if (t->ncols != 2 || t->nfks != 2 || npk(t) != 2)
		return false;
	for (int k = 0; k < 2; k++) {
		const gfk *f = &t->fks[k];
		const gtable *tg = &s->t[f->target];
		if (f->ncols != 1 || f->del != 'c' || f->upd != 'a' || npk(tg) != 1 || !tg->cols[f->tcols[0]].pk)
			return false;
	}
	return true;
}

/* Drop foreign keys to tables or columns that are not emitted. */
static void drop_dangling(gschema *s)
{
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		for (int k = 0; k < t->nfks; k++) {
			gfk *f = &t->fks[k];
			if (f->target < 0)
				continue;
			bool ok = !s->t[f->target].skip && !s->t[f->target].assoc;
			for (int j = 0; j < f->ncols && ok; j++)
				ok = t->cols[f->cols[j]].type != NULL && s->t[f->target].cols[f->tcols[j]].type != NULL &&
				     strcmp(t->cols[f->cols[j]].type->macro, s->t[f->target].cols[f->tcols[j]].type->macro) == 0;
			const gcol *tc = ok ? &s->t[f->target].cols[f->tcols[0]] : NULL;
			/* the registry wants an FK to a PK or UNIQUE column (a composite PK as a whole) */
			if (ok && f->ncols == 1 && !(tc->unique || (tc->pk && npk(&s->t[f->target]) == 1)))
				ok = false;
			if (ok && f->ncols > 1 && f->ncols != npk(&s->t[f->target]))
				ok = false;
			for (int j = 0; ok && f->ncols > 1 && j < f->ncols; j++)
				ok = s->t[f->target].cols[f->tcols[j]].pk;
			if (!ok && !t->skip && !t->assoc) {
				note(s, "%s: foreign key (%s%s) to %s: its target is not mapped, or is not the target's primary key "
				     "or a unique column (no relationship)",
				     t->name, t->cols[f->cols[0]].name, f->ncols > 1 ? ", ..." : "", s->t[f->target].name);
				for (int j = 0; j < f->ncols; j++)
					t->cols[f->cols[j]].fk = -1;
				f->target = -1;
			}
		}
	}
}

static void decide(gschema *s)
{
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		t->ident = c_ident(t->name);
		t->sname = camel(t->ident);
		/* two tables whose names map to one C name ("a-b", "a_b"; "ab", "Ab"): _2, _3, ... */
		for (int k = 2;; k++) {
			bool clash = false;
			for (int j = 0; j < i && !clash; j++)
				clash = strcmp(s->t[j].ident, t->ident) == 0 || strcmp(s->t[j].sname, t->sname) == 0;
			if (!clash)
				break;
			char *base = c_ident(t->name);
			free(t->ident);
			free(t->sname);
			t->ident = xasprintf("%s_%d", base, k);
			t->sname = camel(t->ident);
			free(base);
		}
		t->assoc = is_assoc(s, t);
		/* the relationship declaring the table (pgorm_registry_create_all's order) comes first:
		 * the one whose local column is the table's first column */
		if (t->assoc && t->fks[0].cols[0] > t->fks[1].cols[0]) {
			gfk tmp = t->fks[0];
			t->fks[0] = t->fks[1];
			t->fks[1] = tmp;
		}
	}
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		if (t->assoc)
			continue;
		for (int c = 0; c < t->ncols; c++)
			if (t->cols[c].type == NULL)
				note(s, "%s.%s: type %s has no pgorm type", t->name, t->cols[c].name, t->cols[c].sqltype);
		if (npk(t) == 0) {
			note(s, "%s: no primary key (pgorm models need one)", t->name);
			t->skip = true;
		}
		for (int c = 0; c < t->ncols; c++)
			if (t->cols[c].type == NULL && t->cols[c].pk) {
				note(s, "%s: its primary key column %s cannot be mapped", t->name, t->cols[c].name);
				t->skip = true;
			}
	}
	/* an association table between a skipped table and another is left out with it */
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		if (t->assoc && (s->t[t->fks[0].target].skip || s->t[t->fks[1].target].skip)) {
			note(s, "%s: association table of a table left out", t->name);
			t->assoc = false;
			t->skip = true;
		}
	}
	drop_dangling(s);
	/* member names: columns first, in column order */
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		if (t->skip || t->assoc)
			continue;
		for (int c = 0; c < t->ncols; c++) {
			if (t->cols[c].type == NULL)
				continue;
			char *id = c_ident(t->cols[c].name);
			t->cols[c].member = take_member(t, id);
			free(id);
		}
	}
	/* many-to-one names, then one-to-many names (tables in name order, FKs in name order) */
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		if (t->skip || t->assoc)
			continue;
		for (int k = 0; k < t->nfks; k++) {
			gfk *f = &t->fks[k];
			if (f->target < 0)
				continue;
			const char *first = t->cols[f->cols[0]].name;
			size_t len = strlen(first);
			char *base = len > 3 && strcmp(first + len - 3, "_id") == 0 ? xasprintf("%.*s", (int)(len - 3), first)
			                                                              : xasprintf("%s_rel", first);
			char *id = c_ident(base);
			f->m2o = take_member(t, id);
			free(id);
			free(base);
			/* unique: a single UNIQUE column, or exactly the primary key */
			f->unique = f->ncols == 1 && t->cols[f->cols[0]].unique;
			if (!f->unique && f->ncols == npk(t)) {
				f->unique = true;
				for (int j = 0; j < f->ncols; j++)
					f->unique = f->unique && t->cols[f->cols[j]].pk;
			}
		}
	}
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		if (t->skip || t->assoc)
			continue;
		for (int k = 0; k < t->nfks; k++) {
			gfk *f = &t->fks[k];
			if (f->target < 0)
				continue;
			int paths = 0;
			for (int j = 0; j < t->nfks; j++)
				paths += t->fks[j].target == f->target;
			char *base = paths > 1 || f->target == i ? xasprintf("%s_by_%s", t->ident, f->m2o) : xstrdup(t->ident);
			f->o2m = take_member(&s->t[f->target], base);
			free(base);
		}
	}
	/* many-to-many through association tables: on each end, named after the other end (the
	 * association table and the remote column's stem when that is ambiguous) */
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		if (!t->assoc)
			continue;
		for (int k = 0; k < 2; k++) {
			gfk *f = &t->fks[k], *other = &t->fks[1 - k];
			gtable *owner = &s->t[f->target], *remote = &s->t[other->target];
			int paths = 0;
			for (int j = 0; j < s->n; j++)
				if (s->t[j].assoc)
					for (int m = 0; m < 2; m++)
						paths += s->t[j].fks[m].target == f->target && s->t[j].fks[1 - m].target == other->target;
			char *base;
			if (paths > 1 || owner == remote) {
				const char *rc = t->cols[other->cols[0]].name;
				size_t len = strlen(rc);
				char *stem = len > 3 && strcmp(rc + len - 3, "_id") == 0 ? xasprintf("%.*s", (int)(len - 3), rc)
				                                                         : xstrdup(rc);
				char *id = c_ident(stem);
				base = xasprintf("%s_%s", t->ident, id);
				free(id);
				free(stem);
			} else {
				base = xstrdup(remote->ident);
			}
			f->o2m = take_member(owner, base); /* the relationship on the owner end */
			free(base);
		}
	}
}

/* ---- writing ---- */

static const char *action(char letter)
{
	switch (letter) {
	case 'c': return "PGORM_FK_CASCADE";
	case 'n': return "PGORM_FK_SET_NULL";
	case 'r': return "PGORM_FK_RESTRICT";
	case 'd': return "PGORM_FK_SET_DEFAULT";
	default: return "PGORM_FK_NO_ACTION";
	}
}

/* A C string literal for a SQL name (names may hold any character). */
static void lit(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The descriptor fields a column needs beyond PGORM_COLUMN: varchar(n)/char(n)'s n, numeric's
 * precision and scale, an enum's type and labels. */
static void col_extras(FILE *f, const gtable *t, const gcol *col)
{
	if (col->length != 0)
		fprintf(f, ", .length = %u", col->length);
	if (col->scale != 0)
		fprintf(f, ", .scale = %u", col->scale);
	if (col->type == &ENUM_TYPE) {
		fprintf(f, ", .sql_type = ");
		lit(f, col->enumtype);
		fprintf(f, ", .labels = %s_%s_labels", t->ident, col->member);
	}
}

/* Text inside a C comment: no end of comment, no line break. */
static void ctext(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		fputc(c < 0x20 || (c == '/' && p > s && p[-1] == '*') ? '_' : c, f);
	}
}

static bool emitted(const gtable *t) { return !t->skip && !t->assoc; }

static void write_header(FILE *f, const gschema *s, const char *guard, const char *prefix)
{
	fprintf(f, "/* Generated by pgorm-gen from schema ");
	ctext(f, s->o->schema);
	fprintf(f, ". Regenerate instead of editing. */\n#ifndef %s\n#define %s\n\n#include <pgorm.h>\n\n", guard, guard);
	for (int i = 0; i < s->n; i++)
		if (emitted(&s->t[i]))
			fprintf(f, "typedef struct %s %s;\n", s->t[i].sname, s->t[i].sname);
	fputc('\n', f);
	for (int i = 0; i < s->n; i++) {
		const gtable *t = &s->t[i];
		if (!emitted(t))
			continue;
		fprintf(f, "/* table ");
		ctext(f, t->name);
		fprintf(f, " */\nstruct %s {\n\tpgorm_object hdr;\n", t->sname);
		for (int c = 0; c < t->ncols; c++) {
			const gcol *col = &t->cols[c];
			if (col->type == NULL)
				continue;
			const char *ct = col->type->ctype;
			bool ptr = ct[strlen(ct) - 1] == '*';
			fprintf(f, "\t%s%s%s; /* ", ct, ptr ? "" : " ", col->member);
			ctext(f, col->sqltype);
			fprintf(f, "%s */\n", col->notnull ? " NOT NULL" : "");
		}
		for (int k = 0; k < t->nfks; k++)
			if (t->fks[k].target >= 0)
				fprintf(f, "\t%s *%s;\n", s->t[t->fks[k].target].sname, t->fks[k].m2o);
		for (int j = 0; j < s->n; j++) {
			const gtable *o = &s->t[j];
			for (int k = 0; k < o->nfks; k++) {
				const gfk *fk = &o->fks[k];
				if (emitted(o) && fk->target == i)
					fprintf(f, fk->unique ? "\t%s *%s;\n" : "\tpgorm_collection %s%s;\n",
					        fk->unique ? o->sname : "", fk->o2m);
				if (o->assoc && fk->target == i)
					fprintf(f, "\tpgorm_collection %s;\n", fk->o2m);
			}
		}
		fprintf(f, "};\n\n");
	}
	for (int i = 0; i < s->n; i++)
		if (emitted(&s->t[i]))
			fprintf(f, "extern const pgorm_model %s_model;\n", s->t[i].ident);
	fprintf(f, "/* every model above, NULL-terminated (pgorm_registry_create, pgorm-gen diff --models) */\n");
	fprintf(f, "extern const pgorm_model *const %s_models[];\n", prefix);
	int n = 0;
	for (int i = 0; i < s->n; i++)
		n += emitted(&s->t[i]);
	fputs("#define ", f);
	for (const char *p = prefix; *p; p++)
		fputc(toupper((unsigned char)*p), f);
	fprintf(f, "_MODELS_COUNT %d\n\n#endif\n", n);
}

static void write_rel_cascade(FILE *f, char del)
{
	if (del == 'c')
		fprintf(f, ",\n\t  .cascade = PGORM_CASCADE_ALL, .passive_deletes = PGORM_PASSIVE_ON");
	else if (del == 'n')
		fprintf(f, ",\n\t  .passive_deletes = PGORM_PASSIVE_ON");
}

static void write_source(FILE *f, const gschema *s, const char *header, const char *prefix)
{
	fprintf(f, "/* Generated by pgorm-gen from schema ");
	ctext(f, s->o->schema);
	fprintf(f, ". Regenerate instead of editing. */\n");
	fprintf(f, "#include \"%s\"\n\n#include <stddef.h>\n\n", header);
	for (int i = 0; i < s->nnotes; i++) {
		fprintf(f, "/* left out: ");
		ctext(f, s->notes[i]);
		fprintf(f, " */\n");
	}
	if (s->nnotes)
		fputc('\n', f);
	for (int i = 0; i < s->n; i++) {
		const gtable *t = &s->t[i];
		if (!emitted(t))
			continue;
		for (int c = 0; c < t->ncols; c++) /* the labels of its enum columns */
			if (t->cols[c].type == &ENUM_TYPE) {
				fprintf(f, "static const char *const %s_%s_labels[] = { ", t->ident, t->cols[c].member);
				for (char *l = t->cols[c].labels, *e; l != NULL && *l; l = e ? e + 1 : NULL) {
					e = strchr(l, '\x01');
					if (e)
						*e = '\0';
					lit(f, l);
					fprintf(f, ", ");
					if (e)
						*e = '\x01';
				}
				fprintf(f, "NULL };\n");
			}
		fprintf(f, "static const pgorm_column %s_columns[] = {\n", t->ident);
		for (int c = 0; c < t->ncols; c++) {
			const gcol *col = &t->cols[c];
			if (col->type == NULL)
				continue;
			char flags[128] = "";
			size_t fl = 0;
			if (col->pk)
				fl += (size_t)snprintf(flags + fl, sizeof flags - fl, "%sPGORM_PK", fl ? " | " : "");
			if (!col->notnull)
				fl += (size_t)snprintf(flags + fl, sizeof flags - fl, "%sPGORM_NULLABLE", fl ? " | " : "");
			/* an integer key is server-generated only with a sequence or identity behind it */
			bool intkey = col->pk && npk(t) == 1 && (strcmp(col->type->macro, "INT2") == 0 ||
			              strcmp(col->type->macro, "INT4") == 0 || strcmp(col->type->macro, "INT8") == 0);
			if (intkey ? col->serial : col->hasdef)
				fl += (size_t)snprintf(flags + fl, sizeof flags - fl, "%sPGORM_SERVER_DEFAULT", fl ? " | " : "");
			if (col->unique && !(col->pk && npk(t) == 1))
				fl += (size_t)snprintf(flags + fl, sizeof flags - fl, "%sPGORM_UNIQUE", fl ? " | " : "");
			if (fl == 0)
				snprintf(flags, sizeof flags, "0");
			const gfk *fk = col->fk >= 0 && t->fks[col->fk].target >= 0 ? &t->fks[col->fk] : NULL;
			if (fk == NULL && col->length == 0 && col->type != &ENUM_TYPE) {
				fprintf(f, "\tPGORM_COLUMN(%s, ", col->type->macro);
				lit(f, col->name);
				fprintf(f, ", %s, %s, %s),\n", flags, t->sname, col->member);
				continue;
			}
			if (fk == NULL) {
				fprintf(f, "\t{ PGORM_COL(%s, ", col->type->macro);
				lit(f, col->name);
				fprintf(f, ", %s, %s, %s)", flags, t->sname, col->member);
				col_extras(f, t, col);
				fprintf(f, " },\n");
				continue;
			}
			int pos = 0;
			while (fk->cols[pos] != c)
				pos++;
			const gtable *tg = &s->t[fk->target];
			fprintf(f, "\t{ .name = ");
			lit(f, col->name);
			fprintf(f, ", .type = PGORM_TYPE_%s, .flags = %s,\n\t  .offset = offsetof(%s, %s), "
			           ".size = sizeof(((%s *)0)->%s),\n\t  .fk_table = ",
			        col->type->macro, flags, t->sname, col->member, t->sname, col->member);
			lit(f, tg->name);
			fprintf(f, ", .fk_column = ");
			lit(f, tg->cols[fk->tcols[pos]].name);
			fprintf(f, ", .on_delete = %s, .on_update = %s", action(fk->del), action(fk->upd));
			col_extras(f, t, col);
			fprintf(f, " },\n");
		}
		fprintf(f, "\tPGORM_COLUMN_END\n};\n");
		fprintf(f, "static const pgorm_relationship %s_relationships[] = {\n", t->ident);
		for (int k = 0; k < t->nfks; k++) {
			const gfk *fk = &t->fks[k];
			if (fk->target < 0)
				continue;
			const gtable *tg = &s->t[fk->target];
			fprintf(f, "\t{ PGORM_M2O(\"%s\", %s, %s, &%s_model, ", fk->m2o, t->sname, fk->m2o, tg->ident);
			lit(f, t->cols[fk->cols[0]].name);
			fprintf(f, ", \"%s\") },\n", fk->o2m);
		}
		for (int j = 0; j < s->n; j++) {
			const gtable *o = &s->t[j];
			for (int k = 0; k < o->nfks; k++) {
				const gfk *fk = &o->fks[k];
				if (fk->target != i)
					continue;
				if (emitted(o)) {
					fprintf(f, "\t{ PGORM_%s(\"%s\", %s, %s, &%s_model, ", fk->unique ? "O2O" : "O2M", fk->o2m,
					        t->sname, fk->o2m, o->ident);
					lit(f, o->cols[fk->cols[0]].name);
					fprintf(f, ", \"%s\")", fk->m2o);
					write_rel_cascade(f, fk->del);
					fprintf(f, " },\n");
				} else if (o->assoc) {
					const gfk *other = &o->fks[1 - k];
					fprintf(f, "\t{ PGORM_M2M(\"%s\", %s, %s, &%s_model, ", fk->o2m, t->sname, fk->o2m,
					        s->t[other->target].ident);
					lit(f, o->name);
					fputs(", ", f);
					lit(f, o->cols[fk->cols[0]].name);
					fputs(", ", f);
					lit(f, o->cols[other->cols[0]].name);
					fprintf(f, ", \"%s\") },\n", other->o2m);
				}
			}
		}
		fprintf(f, "\tPGORM_RELATIONSHIP_END\n};\n\n");
	}
	for (int i = 0; i < s->n; i++) {
		const gtable *t = &s->t[i];
		if (!emitted(t))
			continue;
		if (s->o->qualify) {
			fprintf(f, "const pgorm_model %s_model = PGORM_MODEL_IN(", t->ident);
			lit(f, s->o->schema);
			fputs(", ", f);
		} else {
			fprintf(f, "const pgorm_model %s_model = PGORM_MODEL(", t->ident);
		}
		lit(f, t->name);
		fprintf(f, ", %s, %s_columns, %s_relationships);\n", t->sname, t->ident, t->ident);
	}
	fprintf(f, "\nconst pgorm_model *const %s_models[] = {\n", prefix);
	for (int i = 0; i < s->n; i++)
		if (emitted(&s->t[i]))
			fprintf(f, "\t&%s_model,\n", s->t[i].ident);
	fprintf(f, "\tNULL\n};\n");
}

/* Write path via path.tmp + rename, so a failed run leaves no half file. */
static int write_file(const char *path, void (*fn)(FILE *, const gschema *, const char *, const char *),
                      const gschema *s, const char *a, const char *b)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, "pgorm-gen: cannot write %s\n", tmp);
		free(tmp);
		return -1;
	}
	fn(f, s, a, b);
	int rc = ferror(f) | fclose(f);
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc != 0)
		fprintf(stderr, "pgorm-gen: cannot write %s\n", path);
	free(tmp);
	return rc;
}

static void schema_free(gschema *s)
{
	for (int i = 0; i < s->n; i++) {
		gtable *t = &s->t[i];
		for (int c = 0; c < t->ncols; c++) {
			free(t->cols[c].name);
			free(t->cols[c].sqltype);
			free(t->cols[c].enumtype);
			free(t->cols[c].labels);
		}
		for (int m = 0; m < t->nmembers; m++)
			free(t->members[m]); /* column members and relationship names point here */
		free(t->members);
		free(t->cols);
		free(t->fks);
		free(t->name);
		free(t->ident);
		free(t->sname);
	}
	free(s->t);
	for (int i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	free(s->notes);
}

pgorm_conn *gen_connect(const char *conninfo)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = conninfo;
	cfg.stmt_mode = PGORM_STMT_UNNAMED;
	pgorm_conn *c = NULL;
	pgorm_error err;
	if (pgorm_conn_connect(&c, &cfg, &err) != 0) {
		fprintf(stderr, "pgorm-gen: cannot connect: %s\n", err.message);
		return NULL;
	}
	return c;
}

int gen_run(const gen_options *o)
{
	pgorm_conn *c = gen_connect(o->conninfo);
	if (c == NULL)
		return 2;
	gschema s = { .o = o };
	int rc = read_schema(c, &s);
	pgorm_conn_close(c);
	if (rc != 0) {
		schema_free(&s);
		return 2;
	}
	decide(&s);
	if (s.problems > 0 && !o->skip_unmapped) {
		fprintf(stderr, "pgorm-gen: %d problem%s above: nothing written (--skip-unmapped leaves those parts out)\n",
		        s.problems, s.problems == 1 ? "" : "s");
		schema_free(&s);
		return 1;
	}
	const char *base = strrchr(o->out, '/') ? strrchr(o->out, '/') + 1 : o->out;
	char *bident = c_ident(base);
	const char *prefix = o->prefix ? o->prefix : bident;
	char *hpath = xasprintf("%s.h", o->out), *cpath = xasprintf("%s.c", o->out);
	char *hname = xasprintf("%s.h", base);
	char *guard = xasprintf("PGORM_GEN_%s_H", bident);
	for (char *p = guard; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	rc = write_file(hpath, write_header, &s, guard, prefix);
	if (rc == 0)
		rc = write_file(cpath, write_source, &s, hname, prefix);
	if (rc == 0) {
		int n = 0, m2m = 0;
		for (int i = 0; i < s.n; i++) {
			n += emitted(&s.t[i]);
			m2m += s.t[i].assoc;
		}
		fprintf(stderr, "pgorm-gen: %d model%s, %d association table%s: %s, %s\n", n, n == 1 ? "" : "s", m2m,
		        m2m == 1 ? "" : "s", hpath, cpath);
	}
	free(hpath);
	free(cpath);
	free(hname);
	free(guard);
	free(bident);
	schema_free(&s);
	return rc == 0 ? 0 : 2;
}
