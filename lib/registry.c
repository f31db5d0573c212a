/* lib/registry.c — validate the descriptor tables once and resolve them: columns, primary
 * keys, foreign keys, relationship directions, back_populates pairs, generated backrefs and
 * the topological order of tables. Every mistake becomes PGORM_EMODEL with a message that
 * names the model and the attribute. */
#include "registry.h"
#include "codec.h"
#include "internal.h"
#include "sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CTYPE(T) (*align = _Alignof(T), sizeof(T))

size_t pgorm__type_csize(pgorm_type t, size_t *align)
{
	size_t dummy;
	if (align == NULL)
		align = &dummy;
	switch (t) {
	case PGORM_TYPE_BOOL: return CTYPE(bool);
	case PGORM_TYPE_INT2: return CTYPE(int16_t);
	case PGORM_TYPE_INT4: case PGORM_TYPE_DATE: return CTYPE(int32_t);
	case PGORM_TYPE_INT8: case PGORM_TYPE_TIMESTAMP: case PGORM_TYPE_TIMESTAMPTZ: return CTYPE(int64_t);
	case PGORM_TYPE_FLOAT4: return CTYPE(float);
	case PGORM_TYPE_FLOAT8: return CTYPE(double);
	case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB:
	case PGORM_TYPE_ENUM: case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR:
		return CTYPE(char *);
	case PGORM_TYPE_BYTEA: return CTYPE(pgorm_bytes);
	case PGORM_TYPE_UUID: return CTYPE(pgorm_uuid);
	case PGORM_TYPE_CENUM: return CTYPE(int);
	case PGORM_TYPE_BOOL_ARRAY: case PGORM_TYPE_INT2_ARRAY: case PGORM_TYPE_INT4_ARRAY: case PGORM_TYPE_INT8_ARRAY:
	case PGORM_TYPE_FLOAT8_ARRAY: case PGORM_TYPE_TEXT_ARRAY: case PGORM_TYPE_UUID_ARRAY:
		return CTYPE(pgorm_array);
	case PGORM_TYPE_INTERVAL: return CTYPE(pgorm_interval);
	case PGORM_TYPE_TIME: return CTYPE(int64_t);
	case PGORM_TYPE_TIMETZ: return CTYPE(pgorm_timetz);
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR: return CTYPE(pgorm_inet);
	default: *align = 1; return 0;
	}
}

#undef CTYPE

static bool is_int_type(pgorm_type t)
{
	return t == PGORM_TYPE_INT2 || t == PGORM_TYPE_INT4 || t == PGORM_TYPE_INT8;
}

static bool fk_types_match(pgorm_type a, pgorm_type b)
{
	return a == b || (is_int_type(a) && is_int_type(b)) || (pgorm__is_text_type(a) && pgorm__is_text_type(b));
}

pgorm__model_info *pgorm__registry_info(const pgorm_registry *reg, const pgorm_model *m)
{
	for (size_t i = 0; i < reg->nmodels; i++)
		if (reg->models[i].model == m)
			return &reg->models[i];
	return NULL;
}

long pgorm__model_col(const pgorm__model_info *mi, const char *name)
{
	for (size_t i = 0; i < mi->ncols; i++)
		if (strcmp(mi->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

static pgorm__model_info *info_by_table(pgorm_registry *reg, const char *table)
{
	for (size_t i = 0; i < reg->nmodels; i++)
		if (strcmp(reg->models[i].model->table, table) == 0)
			return &reg->models[i];
	return NULL;
}

static const char *tname(const pgorm__model_info *mi) { return mi->model->table; }

/* PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes: a longer name would reach the
 * server as another (possibly colliding) name. */
#define MAX_IDENT 63
/* A struct larger than this is a broken descriptor (object sizes are computed from it). */
#define MAX_STRUCT_SIZE ((size_t)1 << 30)

static const unsigned column_flags = PGORM__COLUMN_FLAGS;
static const unsigned rel_flags = PGORM__REL_FLAGS;
static const unsigned cascade_flags = PGORM__CASCADE_BITS;

/* An SQL name given in a descriptor: NULL is allowed when optional, "" never, and at most
 * MAX_IDENT bytes. what names the attribute ("model t, column c: fk_table"). */
static int check_ident(const char *name, bool optional, pgorm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int check_ident(const char *name, bool optional, pgorm_error *err, const char *fmt, ...)
{
	if (name == NULL && optional)
		return 0;
	const char *why = name == NULL ? "is missing" : *name == '\0' ? "is empty"
	                : strlen(name) > MAX_IDENT ? "is longer than 63 bytes (PostgreSQL truncates names to NAMEDATALEN - 1)"
	                : NULL;
	if (why == NULL)
		return 0;
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return pgorm__error_set(err, PGORM_EMODEL, "%s %s", what, why);
}

/* One field of the mapped struct, for the overlap check. */
typedef struct field {
	const char *kind, *name; /* "column" / "relationship" */
	size_t offset, size;
} field;

/* Columns and relationship fields must not share bytes (the header is checked apart). */
static int check_overlaps(const pgorm_model *m, size_t ncols, pgorm_error *err)
{
	field f[PGORM__MAX_COLS + PGORM__MAX_RELS];
	size_t n = 0;
	for (size_t i = 0; i < ncols; i++)
		f[n++] = (field){ "column", m->columns[i].name, m->columns[i].offset, m->columns[i].size };
	for (const pgorm_relationship *d = m->relationships; d && d->name && n < PGORM__ARRAY_LEN(f); d++)
		if (d->offset != PGORM_NO_FIELD && d->offset <= m->size && d->size <= m->size - d->offset)
			f[n++] = (field){ "relationship", d->name, d->offset, d->size }; /* else check_field says why */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (f[i].offset < f[j].offset + f[j].size && f[j].offset < f[i].offset + f[i].size)
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "model %s: %s %s (offset %zu, size %zu) overlaps %s %s (offset %zu, size %zu)",
				                        m->table, f[i].kind, f[i].name, f[i].offset, f[i].size, f[j].kind,
				                        f[j].name, f[j].offset, f[j].size);
	return 0;
}

/* ---- models and columns ---- */

/* Key columns are compared, hashed and sent as key arrays by value: the types that can be. */
static bool key_type(pgorm_type t)
{
	return is_int_type(t) || pgorm__is_text_type(t) || t == PGORM_TYPE_UUID || t == PGORM_TYPE_BOOL ||
	       t == PGORM_TYPE_DATE || t == PGORM_TYPE_TIMESTAMP || t == PGORM_TYPE_TIMESTAMPTZ ||
	       t == PGORM_TYPE_FLOAT8 || t == PGORM_TYPE_FLOAT4 || t == PGORM_TYPE_NUMERIC || t == PGORM_TYPE_BYTEA ||
	       t == PGORM_TYPE_JSON || t == PGORM_TYPE_JSONB;
}

/* What the types of issue 15 need from the descriptor (sql_type, labels, custom, length). */
static int check_column_type(const pgorm_model *m, const pgorm_column *c, pgorm_error *err)
{
	int rc;
	pgorm_type t = c->type;
	if ((unsigned)t >= PGORM_TYPE__COUNT || t == PGORM_TYPE_INVALID)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: unsupported column type %d", m->table,
		                        c->name, (int)t);
	if ((c->flags & PGORM_PK) && !key_type(t))
		return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: a %s column cannot be a primary key",
		                        m->table, c->name, pgorm_type_name(t));
	if (t == PGORM_TYPE_ENUM || t == PGORM_TYPE_CENUM) {
		if ((rc = check_ident(c->sql_type, false, err, "model %s, column %s: sql_type (the enum type)", m->table,
		                      c->name)) != 0)
			return rc;
		if (t == PGORM_TYPE_CENUM && (c->labels == NULL || c->labels[0] == NULL))
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: a C enum needs its labels", m->table,
			                        c->name);
		for (size_t k = 0; c->labels && c->labels[k]; k++) {
			if ((rc = check_ident(c->labels[k], false, err, "model %s, column %s: label #%zu", m->table, c->name,
			                      k)) != 0)
				return rc;
			for (size_t j = 0; j < k; j++)
				if (strcmp(c->labels[j], c->labels[k]) == 0)
					return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: label %s is listed twice",
					                        m->table, c->name, c->labels[k]);
		}
	} else if (c->sql_type != NULL || c->labels != NULL) {
		return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: sql_type/labels are for ENUM and CENUM columns",
		                        m->table, c->name);
	}
	if (t == PGORM_TYPE_CUSTOM) {
		const pgorm_custom_type *ct = c->custom;
		if (ct == NULL || ct->send == NULL || ct->recv == NULL || ct->size == 0 || ct->align == 0 ||
		    (ct->align & (ct->align - 1)) != 0)
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "model %s, column %s: a CUSTOM column needs a pgorm_custom_type with send, recv, "
			                        "size and a power-of-two align", m->table, c->name);
		if (ct->name == NULL || *ct->name == '\0')
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: the custom type has no name", m->table,
			                        c->name);
	} else if (c->custom != NULL) {
		return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: custom is for CUSTOM columns", m->table,
		                        c->name);
	}
	if (t == PGORM_TYPE_VARCHAR || t == PGORM_TYPE_CHAR) {
		if (c->length > 10485760 || c->scale != 0)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: length %u (1..10485760), scale %u (none)",
			                        m->table, c->name, c->length, c->scale);
	} else if (t == PGORM_TYPE_NUMERIC) {
		if (c->length > 1000 || c->scale > c->length)
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "model %s, column %s: numeric(%u,%u): precision 1..1000 and scale <= precision",
			                        m->table, c->name, c->length, c->scale);
	} else if (c->length != 0 || c->scale != 0) {
		return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: length/scale are for VARCHAR, CHAR and NUMERIC",
		                        m->table, c->name);
	}
	return 0;
}

/* A list of names (NULL-terminated) naming columns of m. */
static int check_colnames(const pgorm_model *m, const char *what, const char *name, const char *const *cols,
                          pgorm_error *err)
{
	if (cols == NULL || cols[0] == NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s, %s %s: no columns", m->table, what, name);
	for (size_t k = 0; cols[k]; k++) {
		bool found = false;
		for (const pgorm_column *c = m->columns; c->name && !found; c++)
			found = strcmp(c->name, cols[k]) == 0;
		if (!found)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, %s %s: unknown column %s", m->table, what, name,
			                        cols[k]);
		if (k >= PGORM__MAX_COLS)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, %s %s: too many columns", m->table, what, name);
	}
	return 0;
}

/* uniques, indexes and checks of a model: names, columns, expressions. */
static int check_extras(const pgorm_model *m, pgorm_error *err)
{
	int rc;
	for (int list = 0; list < 2; list++) {
		const char *what = list ? "index" : "unique constraint";
		for (const pgorm_index *x = list ? m->indexes : m->uniques; x && x->name; x++) {
			if ((rc = check_ident(x->name, false, err, "model %s, %s %s: name", m->table, what, x->name)) != 0 ||
			    (rc = check_colnames(m, what, x->name, x->columns, err)) != 0)
				return rc;
			if (!list && (x->where || x->unique))
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "model %s, unique constraint %s: where/unique are for indexes (a partial "
				                        "unique index goes in indexes)", m->table, x->name);
			if (x->where && *x->where == '\0')
				return pgorm__error_set(err, PGORM_EMODEL, "model %s, index %s: empty where", m->table, x->name);
		}
	}
	for (const pgorm_check *k = m->checks; k && k->name; k++) {
		if ((rc = check_ident(k->name, false, err, "model %s, check %s: name", m->table, k->name)) != 0)
			return rc;
		if (k->expr == NULL || *k->expr == '\0')
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, check %s: no expression", m->table, k->name);
	}
	return 0;
}

static int check_model(pgorm_registry *reg, size_t idx, pgorm_error *err)
{
	pgorm__model_info *mi = &reg->models[idx];
	const pgorm_model *m = mi->model;
	if (m == NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "model #%zu is NULL", idx);
	if (m->magic != PGORM_MODEL_MAGIC)
		return pgorm__error_set(err, PGORM_EMODEL, "model #%zu: bad magic (not built with PGORM_MODEL?)", idx);
	if (m->table == NULL || *m->table == '\0')
		return pgorm__error_set(err, PGORM_EMODEL, "model #%zu: no table name", idx);
	int rc = check_ident(m->table, false, err, "model %s: table name", m->table);
	if (rc == 0)
		rc = check_ident(m->schema, true, err, "model %s: schema name", m->table);
	if (rc != 0)
		return rc;
	if (m->size > MAX_STRUCT_SIZE)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: struct size %zu is not plausible (limit %zu)",
		                        m->table, m->size, MAX_STRUCT_SIZE);
	if (m->hdr_offset != 0)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: pgorm_object must be the first member (offset %zu)",
		                        m->table, m->hdr_offset);
	if (m->size < sizeof(pgorm_object))
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: struct size %zu is smaller than its header",
		                        m->table, m->size);
	if (m->columns == NULL || m->columns[0].name == NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: no columns", m->table);
	for (size_t j = 0; j < idx; j++) {
		const pgorm_model *o = reg->models[j].model;
		if (o == m)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s is listed twice", m->table);
		if (strcmp(o->table, m->table) == 0 &&
		    ((o->schema == NULL && m->schema == NULL) || (o->schema && m->schema && strcmp(o->schema, m->schema) == 0)))
			return pgorm__error_set(err, PGORM_EMODEL, "two models map table %s", m->table);
	}
	mi->cols = m->columns;
	mi->version_col = -1;
	size_t n = 0;
	for (const pgorm_column *c = m->columns; c->name != NULL; c++, n++) {
		if (n >= PGORM__MAX_COLS)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s: more than %d columns", m->table, PGORM__MAX_COLS);
		if (*c->name == '\0')
			return pgorm__error_set(err, PGORM_EMODEL, "model %s: column #%zu has an empty name", m->table, n);
		if ((rc = check_ident(c->name, false, err, "model %s, column %s: name", m->table, c->name)) != 0 ||
		    (rc = check_ident(c->fk_table, true, err, "model %s, column %s: fk_table", m->table, c->name)) != 0 ||
		    (rc = check_ident(c->fk_column, true, err, "model %s, column %s: fk_column", m->table, c->name)) != 0)
			return rc;
		if (c->fk_column != NULL && c->fk_table == NULL)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: fk_column without fk_table",
			                        m->table, c->name);
		if (c->flags & ~column_flags)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: unknown flag bits 0x%x",
			                        m->table, c->name, c->flags & ~column_flags);
		if ((unsigned)c->on_delete > PGORM_FK_SET_DEFAULT || (unsigned)c->on_update > PGORM_FK_SET_DEFAULT)
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "model %s, column %s: on_delete %d / on_update %d: not a pgorm_fk_action",
			                        m->table, c->name, (int)c->on_delete, (int)c->on_update);
		if ((rc = check_column_type(m, c, err)) != 0)
			return rc;
		size_t align;
		size_t want = c->type == PGORM_TYPE_CUSTOM ? c->custom->size : pgorm__type_csize(c->type, &align);
		if (c->type == PGORM_TYPE_CUSTOM)
			align = c->custom->align;
		if (want == 0)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: unsupported column type %d",
			                        m->table, c->name, (int)c->type);
		if (c->size != want)
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "model %s, column %s: field size %zu does not match type %s (expects %zu)",
			                        m->table, c->name, c->size, pgorm_type_name(c->type), want);
		if (c->offset < sizeof(pgorm_object))
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "model %s, column %s: offset %zu overlaps the header: the pgorm_object must be "
			                        "the struct's first member",
			                        m->table, c->name, c->offset);
		if (c->offset > m->size || c->size > m->size - c->offset)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: offset %zu is outside the struct (size %zu)",
			                        m->table, c->name, c->offset, m->size);
		if (c->offset % align != 0)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: offset %zu is not aligned for %s (%zu bytes)",
			                        m->table, c->name, c->offset, pgorm_type_name(c->type), align);
		for (const pgorm_column *d = m->columns; d != c; d++)
			if (strcmp(d->name, c->name) == 0)
				return pgorm__error_set(err, PGORM_EMODEL, "model %s: duplicate column %s", m->table, c->name);
		if (c->flags & PGORM_PK) {
			if (c->flags & PGORM_NULLABLE)
				return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: a primary key column cannot be nullable",
				                        m->table, c->name);
			if (mi->npk >= PGORM__MAX_PK)
				return pgorm__error_set(err, PGORM_EMODEL, "model %s: too many primary key columns", m->table);
			mi->pk[mi->npk++] = n;
		}
		if (c->flags & PGORM_VERSION) {
			if (c->type != PGORM_TYPE_INT4 && c->type != PGORM_TYPE_INT8)
				return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: a version column must be int4 or int8",
				                        m->table, c->name);
			if (mi->version_col >= 0)
				return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: a second version column (after %s)",
				                        m->table, c->name, m->columns[mi->version_col].name);
			mi->version_col = (long)n;
		}
	}
	mi->ncols = n;
	if ((rc = check_overlaps(m, n, err)) != 0 || (rc = check_extras(m, err)) != 0)
		return rc;
	if (mi->npk == 0)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: no primary key column (flag PGORM_PK)", m->table);
	mi->pk_generated = mi->npk == 1 && (mi->cols[mi->pk[0]].flags & PGORM_SERVER_DEFAULT) &&
	                   is_int_type(mi->cols[mi->pk[0]].type);
	return 0;
}

static bool is_pk_col(const pgorm__model_info *mi, size_t col)
{
	for (size_t k = 0; k < mi->npk; k++)
		if (mi->pk[k] == col)
			return true;
	return false;
}

static size_t fk_ref_col(pgorm_registry *reg, const pgorm_column *c);

/* Whether child column k references a key column of parent as part of a composite key. */
static bool in_composite(pgorm_registry *reg, const pgorm__model_info *child, size_t k, const pgorm__model_info *parent)
{
	const pgorm_column *c = &child->cols[k];
	if (c->fk_table == NULL || strcmp(c->fk_table, parent->model->table) != 0 || parent->npk < 2)
		return false;
	size_t ref = fk_ref_col(reg, c);
	return ref != SIZE_MAX && is_pk_col(parent, ref) && !(parent->cols[ref].flags & PGORM_UNIQUE);
}

/* The columns of child that together reference parent's composite key, in key order. */
static size_t fk_group_all(pgorm_registry *reg, const pgorm__model_info *child, size_t i,
                           const pgorm__model_info *parent, size_t *cols, size_t *refs)
{
	(void)i;
	size_t n = 0;
	for (size_t p = 0; p < parent->npk; p++)
		for (size_t k = 0; k < child->ncols; k++)
			if (in_composite(reg, child, k, parent) && fk_ref_col(reg, &child->cols[k]) == parent->pk[p]) {
				cols[n] = k;
				refs[n] = parent->pk[p];
				n++;
				break;
			}
	return n;
}

/* The foreign key that child column i belongs to: 0 when i is not the first column of a
 * composite key (the key is reported once, at its first column). */
static size_t fk_group(pgorm_registry *reg, const pgorm__model_info *child, size_t i,
                       const pgorm__model_info *parent, size_t *cols, size_t *refs)
{
	if (!in_composite(reg, child, i, parent)) {
		cols[0] = i;
		refs[0] = fk_ref_col(reg, &child->cols[i]);
		return 1;
	}
	for (size_t k = 0; k < i; k++)
		if (in_composite(reg, child, k, parent))
			return 0;
	return fk_group_all(reg, child, i, parent, cols, refs);
}

static int check_fks(pgorm_registry *reg, pgorm__model_info *mi, pgorm_error *err)
{
	for (size_t i = 0; i < mi->ncols; i++) {
		const pgorm_column *c = &mi->cols[i];
		if (c->fk_table == NULL)
			continue;
		pgorm__model_info *t = info_by_table(reg, c->fk_table);
		if (t == NULL)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: foreign key to unknown table %s",
			                        tname(mi), c->name, c->fk_table);
		if (t == mi)
			mi->self_ref = true;
		long rc = c->fk_column ? pgorm__model_col(t, c->fk_column) : (t->npk == 1 ? (long)t->pk[0] : -1);
		if (rc < 0)
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: foreign key to unknown column %s.%s",
			                        tname(mi), c->name, c->fk_table, c->fk_column ? c->fk_column : "(primary key)");
		const pgorm_column *ref = &t->cols[rc];
		bool is_key = (ref->flags & PGORM_UNIQUE) || (t->npk == 1 && t->pk[0] == (size_t)rc);
		if (!is_key && is_pk_col(t, (size_t)rc)) {
			/* part of a composite key: the model must reference every key column */
			size_t cols[PGORM__MAX_PK], refs[PGORM__MAX_PK];
			if (fk_group_all(reg, mi, i, t, cols, refs) != t->npk)
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "model %s, column %s: %s has a composite primary key; a foreign key to it "
				                        "needs one column per key column", tname(mi), c->name, c->fk_table);
			is_key = true;
		}
		if (!is_key)
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "model %s, column %s: foreign key target %s.%s is neither the primary key nor UNIQUE",
			                        tname(mi), c->name, c->fk_table, ref->name);
		if (!fk_types_match(c->type, ref->type))
			return pgorm__error_set(err, PGORM_EMODEL, "model %s, column %s: type %s does not match %s.%s (%s)",
			                        tname(mi), c->name, pgorm_type_name(c->type), c->fk_table, ref->name,
			                        pgorm_type_name(ref->type));
	}
	return 0;
}

/* The referenced column index of an FK column. */
static size_t fk_ref_col(pgorm_registry *reg, const pgorm_column *c)
{
	pgorm__model_info *t = info_by_table(reg, c->fk_table);
	if (t == NULL)
		return SIZE_MAX;
	long k = c->fk_column ? pgorm__model_col(t, c->fk_column) : (long)t->pk[0];
	return k < 0 ? SIZE_MAX : (size_t)k;
}

/* ---- relationships ---- */

static pgorm_rel *rel_new(pgorm__model_info *owner, const char *name, pgorm_error *err)
{
	pgorm_rel *r = pgorm__calloc(1, sizeof *r);
	if (r == NULL || (r->name = pgorm__strdup(name)) == NULL) {
		pgorm__free(r);
		pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
		return NULL;
	}
	r->owner = owner;
	r->index = owner->nrels;
	r->order_col = -1;
	owner->rels[owner->nrels++] = r;
	return r;
}

static pgorm_rel *find_rel(const pgorm__model_info *mi, const char *name)
{
	for (size_t i = 0; i < mi->nrels; i++)
		if (strcmp(mi->rels[i]->name, name) == 0)
			return mi->rels[i];
	return NULL;
}

/* Find the FK for relationship d of owner → target; sets kind, fk_col, ref_col. */
/* Whether the foreign key cols[0..n) contains a column named name. */
static bool group_has(const pgorm__model_info *child, const size_t *cols, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(child->cols[cols[k]].name, name) == 0)
			return true;
	return false;
}

/* Candidate foreign keys of child toward parent (matching fk_column when given). */
static void scan_fks(pgorm_registry *reg, const pgorm__model_info *child, const pgorm__model_info *parent,
                     const char *fk_column, pgorm_rel_kind as, size_t *n, pgorm_rel *best, const char **names)
{
	for (size_t i = 0; i < child->ncols; i++) {
		const pgorm_column *c = &child->cols[i];
		if (c->fk_table == NULL || strcmp(c->fk_table, tname(parent)) != 0)
			continue;
		size_t cols[PGORM__MAX_PK], refs[PGORM__MAX_PK];
		size_t k = fk_group(reg, child, i, parent, cols, refs);
		if (k == 0 || (fk_column != NULL && !group_has(child, cols, k, fk_column)))
			continue;
		if (*n < 2)
			names[*n] = c->name;
		(*n)++;
		best->kind = as;
		best->nfk = k;
		memcpy(best->fk_cols, cols, k * sizeof *cols);
		memcpy(best->ref_cols, refs, k * sizeof *refs);
	}
}

/* Find the FK for relationship d of owner → target; sets kind and the key columns. */
static int resolve_fk(pgorm_registry *reg, pgorm_rel *r, const pgorm_relationship *d, pgorm_error *err)
{
	pgorm__model_info *o = r->owner, *t = r->target;
	pgorm_rel_kind want = d->kind;
	size_t n = 0;
	pgorm_rel found;
	memset(&found, 0, sizeof found);
	const char *names[2] = { NULL, NULL };
	/* one-to-many: target holds an FK to owner */
	if (want == PGORM_REL_AUTO || want == PGORM_REL_ONE_TO_MANY)
		scan_fks(reg, t, o, d->fk_column, PGORM_REL_ONE_TO_MANY, &n, &found, names);
	/* many-to-one: owner holds an FK to target (self-reference needs an explicit kind) */
	if (want == PGORM_REL_MANY_TO_ONE || (want == PGORM_REL_AUTO && o != t))
		scan_fks(reg, o, t, d->fk_column, PGORM_REL_MANY_TO_ONE, &n, &found, names);
	if (n == 0) {
		if (d->fk_column)
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "relationship %s.%s: %s is not a foreign key column between %s and %s",
			                        tname(o), r->name, d->fk_column, tname(o), tname(t));
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: no foreign key path between %s and %s",
		                        tname(o), r->name, tname(o), tname(t));
	}
	if (n > 1) {
		if (o == t && want == PGORM_REL_AUTO)
			return pgorm__error_set(err, PGORM_EMODEL,
			                        "relationship %s.%s: self-referential, set kind to ONE_TO_MANY or MANY_TO_ONE",
			                        tname(o), r->name);
		return pgorm__error_set(err, PGORM_EMODEL,
		                        "relationship %s.%s: ambiguous foreign key paths between %s and %s (%s, %s); name one with fk_column",
		                        tname(o), r->name, tname(o), tname(t), names[0], names[1]);
	}
	r->kind = found.kind;
	r->nfk = found.nfk;
	memcpy(r->fk_cols, found.fk_cols, sizeof r->fk_cols);
	memcpy(r->ref_cols, found.ref_cols, sizeof r->ref_cols);
	r->fk_col = r->fk_cols[0];
	r->ref_col = r->ref_cols[0];
	return 0;
}

static int resolve_secondary(pgorm_rel *r, const pgorm_relationship *d, pgorm_error *err)
{
	const pgorm_secondary *sec = d->secondary;
	if (sec->table == NULL || sec->local_column == NULL || sec->remote_column == NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: secondary needs table, local_column and remote_column",
		                        tname(r->owner), r->name);
	if (r->owner->npk != 1 || r->target->npk != 1)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: many-to-many needs single-column primary keys",
		                        tname(r->owner), r->name);
	r->kind = PGORM_REL_MANY_TO_MANY;
	r->sec_table = pgorm__strdup(sec->table);
	r->sec_local = pgorm__strdup(sec->local_column);
	r->sec_remote = pgorm__strdup(sec->remote_column);
	r->sec_schema = r->owner->model->schema;
	if (!r->sec_table || !r->sec_local || !r->sec_remote)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
	return 0;
}

static int check_field(pgorm_rel *r, const pgorm_relationship *d, pgorm_error *err)
{
	const pgorm_model *m = r->owner->model;
	r->offset = d->offset;
	if (d->offset == PGORM_NO_FIELD) {
		r->slot = r->owner->nslots++;
		return 0;
	}
	size_t want = r->scalar ? sizeof(void *) : sizeof(pgorm_collection);
	if (d->offset < sizeof(pgorm_object) || d->offset > m->size || d->size > m->size - d->offset)
		return pgorm__error_set(err, PGORM_EMODEL,
		                        "relationship %s.%s (to %s): field offset %zu is outside the struct (size %zu)",
		                        m->table, r->name, tname(r->target), d->offset, m->size);
	if (d->size != want)
		return pgorm__error_set(err, PGORM_EMODEL,
		                        "relationship %s.%s (to %s): the field must be %s (size %zu), not size %zu",
		                        m->table, r->name, tname(r->target), r->scalar ? "a pointer" : "a pgorm_collection",
		                        want, d->size);
	size_t align = r->scalar ? _Alignof(void *) : _Alignof(pgorm_collection);
	if (d->offset % align != 0)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s (to %s): field offset %zu is not aligned (%zu bytes)",
		                        m->table, r->name, tname(r->target), d->offset, align);
	return 0;
}

/* What can be checked on a relationship descriptor alone. */
static int check_rel_desc(const pgorm__model_info *mi, const pgorm_relationship *d, pgorm_error *err)
{
	const char *t = tname(mi), *n = d->name;
	if (*n == '\0')
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: a relationship has an empty name", t);
	if ((unsigned)d->kind > PGORM_REL_MANY_TO_MANY)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: kind %d is not a pgorm_rel_kind", t, n, (int)d->kind);
	if ((unsigned)d->passive_deletes > PGORM_PASSIVE_ALL)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: passive_deletes %d is not a pgorm_passive", t, n,
		                        (int)d->passive_deletes);
	if ((unsigned)d->loader > PGORM_LOAD_NOLOAD)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: loader %d is not a pgorm_loader", t, n, (int)d->loader);
	if (d->cascade & ~cascade_flags)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: unknown cascade bits 0x%x", t, n,
		                        d->cascade & ~cascade_flags);
	if (d->flags & ~rel_flags)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: unknown flag bits 0x%x", t, n, d->flags & ~rel_flags);
	const char *empty = d->fk_column && !*d->fk_column ? "fk_column" : d->back_populates && !*d->back_populates ? "back_populates"
	                  : d->backref && !*d->backref ? "backref" : d->order_by && !*d->order_by ? "order_by" : NULL;
	if (empty != NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: %s is empty", t, n, empty);
	int rc = check_ident(d->fk_column, true, err, "relationship %s.%s: fk_column", t, n);
	if (rc != 0)
		return rc;
	if (d->secondary != NULL) {
		const pgorm_secondary *sec = d->secondary;
		if ((rc = check_ident(sec->table, false, err, "relationship %s.%s: secondary table", t, n)) != 0 ||
		    (rc = check_ident(sec->local_column, false, err, "relationship %s.%s: secondary local_column", t, n)) != 0 ||
		    (rc = check_ident(sec->remote_column, false, err, "relationship %s.%s: secondary remote_column", t, n)) != 0)
			return rc;
		if (d->kind != PGORM_REL_AUTO && d->kind != PGORM_REL_MANY_TO_MANY)
			return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: a secondary table makes it many-to-many, "
			                        "but kind says otherwise", t, n);
		if (d->flags & PGORM_REL_SCALAR)
			return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: a many-to-many relationship is a "
			                        "collection; PGORM_REL_SCALAR cannot be used with a secondary table", t, n);
	} else if (d->kind == PGORM_REL_MANY_TO_MANY) {
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: kind MANY_TO_MANY needs a secondary table", t, n);
	}
	return 0;
}

static int build_rel(pgorm_registry *reg, pgorm__model_info *mi, const pgorm_relationship *d, pgorm_error *err)
{
	int rc = check_rel_desc(mi, d, err);
	if (rc != 0)
		return rc;
	if (d->target == NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: no target model", tname(mi), d->name);
	pgorm__model_info *t = pgorm__registry_info(reg, d->target);
	if (t == NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: target model %s is not in the registry",
		                        tname(mi), d->name, d->target->table ? d->target->table : "?");
	if (find_rel(mi, d->name) != NULL)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: duplicate relationship %s", tname(mi), d->name);
	if (pgorm__model_col(mi, d->name) >= 0)
		return pgorm__error_set(err, PGORM_EMODEL, "model %s: relationship %s has the name of a column", tname(mi), d->name);
	if (d->back_populates && d->backref)
		return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: back_populates and backref are exclusive",
		                        tname(mi), d->name);
	pgorm_rel *r = rel_new(mi, d->name, err);
	if (r == NULL)
		return PGORM_ENOMEM;
	r->target = t;
	r->flags = d->flags;
	r->passive = d->passive_deletes;
	r->loader = d->loader == PGORM_LOAD_DEFAULT ? PGORM_LOAD_LAZY : d->loader;
	r->cascade = d->cascade == 0 ? (PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_MERGE)
	                             : (d->cascade & PGORM_CASCADE_NONE) ? 0 : d->cascade;
	if (r->passive == PGORM_PASSIVE_ALL && (r->cascade & (PGORM_CASCADE_DELETE | PGORM_CASCADE_DELETE_ORPHAN)))
		return pgorm__error_set(err, PGORM_EMODEL,
		                        "relationship %s.%s: passive_deletes ALL (never touch the children) cannot be combined "
		                        "with a delete or delete-orphan cascade", tname(mi), d->name);
	rc = d->secondary ? resolve_secondary(r, d, err) : resolve_fk(reg, r, d, err);
	if (rc != 0)
		return rc;
	r->scalar = r->kind == PGORM_REL_MANY_TO_ONE || (d->flags & PGORM_REL_SCALAR);
	if ((d->flags & PGORM_REL_POST_UPDATE) && r->kind != PGORM_REL_MANY_TO_ONE)
		return pgorm__error_set(err, PGORM_EMODEL,
		                        "relationship %s.%s (to %s): PGORM_REL_POST_UPDATE goes on the many-to-one side",
		                        tname(mi), d->name, tname(t));
	if ((r->cascade & PGORM_CASCADE_DELETE_ORPHAN) && r->kind == PGORM_REL_MANY_TO_ONE &&
	    !(d->flags & PGORM_REL_SINGLE_PARENT))
		return pgorm__error_set(err, PGORM_EMODEL,
		                        "relationship %s.%s (to %s): delete-orphan on a many-to-one needs PGORM_REL_SINGLE_PARENT",
		                        tname(mi), d->name, tname(t));
	if (d->order_by) {
		char col[128];
		pgorm__strlcpy(col, d->order_by, sizeof col);
		char *sp = strchr(col, ' ');
		if (sp) {
			r->order_desc = strstr(sp, "DESC") != NULL || strstr(sp, "desc") != NULL;
			*sp = '\0';
		}
		r->order_col = pgorm__model_col(t, col);
		if (r->order_col < 0)
			return pgorm__error_set(err, PGORM_EMODEL, "relationship %s.%s: order_by column %s is not a column of %s",
			                        tname(mi), d->name, col, tname(t));
	}
	return check_field(r, d, err);
}

static pgorm_rel_kind opposite(pgorm_rel_kind k)
{
	return k == PGORM_REL_ONE_TO_MANY ? PGORM_REL_MANY_TO_ONE
	     : k == PGORM_REL_MANY_TO_ONE ? PGORM_REL_ONE_TO_MANY : k;
}

/* Synthesize the partner of r on its target (backref, or a hidden reverse side). */
static int synth_partner(pgorm_rel *r, const char *name, bool hidden, pgorm_error *err)
{
	pgorm_rel *p = rel_new(r->target, name, err);
	if (p == NULL)
		return PGORM_ENOMEM;
	p->target = r->owner;
	p->kind = opposite(r->kind);
	p->fk_col = r->fk_col;
	p->ref_col = r->ref_col;
	p->nfk = r->nfk;
	memcpy(p->fk_cols, r->fk_cols, sizeof p->fk_cols);
	memcpy(p->ref_cols, r->ref_cols, sizeof p->ref_cols);
	p->scalar = p->kind == PGORM_REL_MANY_TO_ONE || (r->scalar && r->kind == PGORM_REL_ONE_TO_MANY);
	p->hidden = hidden;
	p->cascade = hidden ? 0 : (PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_MERGE);
	p->loader = PGORM_LOAD_LAZY;
	p->offset = PGORM_NO_FIELD;
	p->slot = r->target->nslots++;
	p->partner = r;
	r->partner = p;
	if (r->kind == PGORM_REL_MANY_TO_MANY) {
		p->sec_table = pgorm__strdup(r->sec_table);
		p->sec_local = pgorm__strdup(r->sec_remote);
		p->sec_remote = pgorm__strdup(r->sec_local);
		p->sec_schema = r->sec_schema;
		if (!p->sec_table || !p->sec_local || !p->sec_remote)
			return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
	}
	return 0;
}

static int pair_rels(pgorm__model_info *mi, size_t ndeclared, pgorm_error *err)
{
	for (size_t i = 0; i < ndeclared; i++) {
		pgorm_rel *r = mi->rels[i];
		const pgorm_relationship *d = &mi->model->relationships[i];
		if (d->back_populates) {
			pgorm_rel *p = find_rel(r->target, d->back_populates);
			if (p == NULL || p->hidden)
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "relationship %s.%s: back_populates names %s.%s, which does not exist",
				                        tname(mi), r->name, tname(r->target), d->back_populates);
			if (p->target != mi)
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "relationship %s.%s: back_populates %s.%s points to %s, not back to %s",
				                        tname(mi), r->name, tname(r->target), p->name, tname(p->target), tname(mi));
			if (p->partner != NULL && p->partner != r)
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "relationship %s.%s: back_populates %s.%s, but %s.%s is paired with %s.%s",
				                        tname(mi), r->name, tname(r->target), p->name, tname(r->target), p->name,
				                        tname(p->partner->owner), p->partner->name);
			if (p->kind != opposite(r->kind) || (r->kind != PGORM_REL_MANY_TO_MANY && p->fk_col != r->fk_col))
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "relationship %s.%s and %s.%s disagree on direction or foreign key",
				                        tname(mi), r->name, tname(r->target), p->name);
			r->partner = p;
			p->partner = r;
		} else if (d->backref) {
			if (r->partner != NULL) /* named by a back_populates: two partners */
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "relationship %s.%s: has a backref \"%s\" but %s.%s back_populates it",
				                        tname(mi), r->name, d->backref, tname(r->partner->owner), r->partner->name);
			if (find_rel(r->target, d->backref) != NULL || pgorm__model_col(r->target, d->backref) >= 0)
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "relationship %s.%s: backref \"%s\" collides with the existing attribute %s.%s",
				                        tname(mi), r->name, d->backref, tname(r->target), d->backref);
			int rc = synth_partner(r, d->backref, false, err);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* back_populates declared on one side only still pairs; each declared back_populates must be
 * answered (the partner names us back, or names nothing). */
static int check_pairs(pgorm__model_info *mi, size_t ndeclared, pgorm_error *err)
{
	for (size_t i = 0; i < ndeclared; i++) {
		pgorm_rel *r = mi->rels[i];
		const pgorm_relationship *d = &mi->model->relationships[i];
		if (d->back_populates == NULL)
			continue;
		pgorm_rel *p = r->partner;
		const pgorm__model_info *t = p->owner;
		for (const pgorm_relationship *pd = t->model->relationships; pd && pd->name; pd++) {
			if (strcmp(pd->name, p->name) == 0 && pd->back_populates &&
			    strcmp(pd->back_populates, r->name) != 0)
				return pgorm__error_set(err, PGORM_EMODEL,
				                        "relationship %s.%s: back_populates %s.%s, but %s.%s back_populates %s",
				                        tname(mi), r->name, tname(t), p->name, tname(t), p->name, pd->back_populates);
		}
	}
	return 0;
}

/* ---- order and SQL fragments ---- */

/* Whether column c of mi is the foreign key of a post_update many-to-one. */
static bool post_update_col(const pgorm__model_info *mi, size_t c)
{
	for (size_t k = 0; k < mi->nrels; k++) {
		const pgorm_rel *r = mi->rels[k];
		if (r->kind != PGORM_REL_MANY_TO_ONE || !(r->flags & PGORM_REL_POST_UPDATE))
			continue;
		for (size_t i = 0; i < r->nfk; i++)
			if (r->fk_cols[i] == c)
				return true;
	}
	return false;
}

static int topo_sort(pgorm_registry *reg, pgorm_error *err)
{
	size_t n = reg->nmodels;
	reg->topo_order = pgorm__calloc(n, sizeof *reg->topo_order);
	bool *done = pgorm__calloc(n, sizeof *done);
	if (reg->topo_order == NULL || done == NULL) {
		pgorm__free(done);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
	}
	size_t k = 0;
	while (k < n) {
		bool progress = false;
		for (size_t i = 0; i < n; i++) {
			if (done[i])
				continue;
			pgorm__model_info *mi = &reg->models[i];
			bool ready = true;
			for (size_t c = 0; c < mi->ncols && ready; c++) {
				const char *ft = mi->cols[c].fk_table;
				if (ft == NULL || strcmp(ft, tname(mi)) == 0 || post_update_col(mi, c))
					continue; /* a post_update key is written after the INSERTs */
				pgorm__model_info *dep = info_by_table(reg, ft);
				ready = done[dep->index];
			}
			if (ready) {
				done[i] = true;
				mi->topo = k;
				reg->topo_order[k++] = i;
				progress = true;
			}
		}
		if (!progress) { /* a cycle between tables: keep the caller's order for the rest */
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					done[i] = true;
					reg->models[i].topo = k;
					reg->topo_order[k++] = i;
				}
		}
	}
	pgorm__free(done);
	return 0;
}

static int build_sql(pgorm__model_info *mi, pgorm_error *err)
{
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_qualified(&b, mi->model->schema, mi->model->table);
	mi->qtable = pgorm__sb_take(&b);
	for (size_t i = 0; i < mi->ncols; i++) {
		if (i)
			pgorm__sb_add(&b, ", ");
		pgorm__sb_add(&b, "t.");
		pgorm__sb_ident(&b, mi->cols[i].name);
	}
	mi->select_list = pgorm__sb_take(&b);
	if (mi->qtable == NULL || mi->select_list == NULL)
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
	return 0;
}

/* The names of the named types (enum, custom) of every model: mi->col_types, and each name
 * once in reg->type_names. */
static int build_types(pgorm_registry *reg, pgorm_error *err)
{
	size_t total = 0;
	for (size_t i = 0; i < reg->nmodels; i++)
		total += reg->models[i].ncols;
	for (size_t i = 0; i < reg->nmodels; i++) {
		pgorm__model_info *mi = &reg->models[i];
		for (size_t c = 0; c < mi->ncols; c++) {
			const pgorm_column *col = &mi->cols[c];
			bool is_enum = col->type == PGORM_TYPE_ENUM || col->type == PGORM_TYPE_CENUM;
			if (!is_enum && col->type != PGORM_TYPE_CUSTOM)
				continue;
			if (mi->col_types == NULL && (mi->col_types = pgorm__calloc(mi->ncols, sizeof(char *))) == NULL)
				return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
			if (reg->type_names == NULL && (reg->type_names = pgorm__calloc(total, sizeof(char *))) == NULL)
				return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
			pgorm__sb b;
			pgorm__sb_init(&b);
			if (is_enum)
				pgorm__sb_qualified(&b, mi->model->schema, col->sql_type);
			else
				pgorm__sb_add(&b, col->custom->name);
			if ((mi->col_types[c] = pgorm__sb_take(&b)) == NULL)
				return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
			size_t k = 0;
			while (k < reg->ntypes && strcmp(reg->type_names[k], mi->col_types[c]) != 0)
				k++;
			if (k == reg->ntypes)
				reg->type_names[reg->ntypes++] = mi->col_types[c];
		}
	}
	return 0;
}

void pgorm_registry_destroy(pgorm_registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->nmodels; i++) {
		pgorm__model_info *mi = &reg->models[i];
		for (size_t j = 0; j < mi->nrels; j++) {
			pgorm_rel *r = mi->rels[j];
			pgorm__free(r->name);
			pgorm__free(r->sec_table);
			pgorm__free(r->sec_local);
			pgorm__free(r->sec_remote);
			pgorm__free(r);
		}
		pgorm__free(mi->rels);
		pgorm__free(mi->select_list);
		pgorm__free(mi->qtable);
		for (size_t c = 0; mi->col_types != NULL && c < mi->ncols; c++)
			pgorm__free(mi->col_types[c]);
		pgorm__free(mi->col_types);
	}
	pgorm__free(reg->type_names);
	pgorm__free(reg->models);
	pgorm__free(reg->topo_order);
	pgorm__free(reg);
}

int pgorm_registry_create(pgorm_registry **out, const pgorm_model *const *models, size_t n, pgorm_error *err)
{
	if (out == NULL || (models == NULL && n > 0))
		return pgorm__error_set(err, PGORM_EINVAL, "pgorm_registry_create: NULL argument");
	*out = NULL;
	pgorm_registry *reg = pgorm__calloc(1, sizeof *reg);
	if (reg == NULL || (reg->models = pgorm__calloc(n, sizeof *reg->models)) == NULL) {
		pgorm__free(reg);
		return pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
	}
	reg->nmodels = n;
	int rc = 0;
	size_t total_rels = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		reg->models[i].model = models[i];
		reg->models[i].index = i;
		rc = check_model(reg, i, err);
		if (rc == 0)
			for (const pgorm_relationship *d = models[i]->relationships; d && d->name; d++)
				total_rels++;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		reg->models[i].rels = pgorm__calloc(2 * total_rels + 1, sizeof(pgorm_rel *));
		if (reg->models[i].rels == NULL)
			rc = pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = check_fks(reg, &reg->models[i], err);
	for (size_t i = 0; i < n && rc == 0; i++)
		for (const pgorm_relationship *d = models[i]->relationships; rc == 0 && d && d->name; d++)
			rc = build_rel(reg, &reg->models[i], d, err);
	size_t *ndecl = rc == 0 ? pgorm__calloc(n, sizeof *ndecl) : NULL;
	if (rc == 0 && ndecl == NULL)
		rc = pgorm__error_set(err, PGORM_ENOMEM, "out of memory building the registry");
	for (size_t i = 0; i < n && rc == 0; i++)
		ndecl[i] = reg->models[i].nrels;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pair_rels(&reg->models[i], ndecl[i], err);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = check_pairs(&reg->models[i], ndecl[i], err);
	/* One-directional relationships get a hidden reverse side, so a link between two
	 * objects is always recorded on both. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		for (size_t j = 0; j < ndecl[i] && rc == 0; j++) {
			pgorm_rel *r = reg->models[i].rels[j];
			if (r->partner == NULL) {
				char name[160];
				snprintf(name, sizeof name, "~%s.%s", tname(r->owner), r->name);
				rc = synth_partner(r, name, true, err);
			}
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (reg->models[i].nrels > PGORM__MAX_RELS)
			rc = pgorm__error_set(err, PGORM_EMODEL, "model %s: more than %d relationships",
			                      tname(&reg->models[i]), PGORM__MAX_RELS);
	}
	pgorm__free(ndecl);
	if (rc == 0)
		rc = topo_sort(reg, err);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = build_sql(&reg->models[i], err);
	if (rc == 0)
		rc = build_types(reg, err);
	if (rc != 0) {
		pgorm_registry_destroy(reg);
		return rc;
	}
	*out = reg;
	return 0;
}

const pgorm_rel *pgorm_registry_rel_at(const pgorm_registry *reg, const pgorm_model *m, size_t offset)
{
	pgorm__model_info *mi = reg && m ? pgorm__registry_info(reg, m) : NULL;
	for (size_t k = 0; mi != NULL && k < mi->nrels; k++)
		if (mi->rels[k]->offset == offset && offset != PGORM_NO_FIELD)
			return mi->rels[k];
	return NULL;
}

const pgorm_rel *pgorm_registry_rel(const pgorm_registry *reg, const pgorm_model *m, const char *name)
{
	if (reg == NULL || m == NULL || name == NULL)
		return NULL;
	pgorm__model_info *mi = pgorm__registry_info(reg, m);
	if (mi == NULL)
		return NULL;
	pgorm_rel *r = find_rel(mi, name);
	return r && !r->hidden ? r : NULL;
}

const char *pgorm_rel_name(const pgorm_rel *r) { return r ? r->name : NULL; }
pgorm_rel_kind pgorm_rel_kind_of(const pgorm_rel *r) { return r ? r->kind : PGORM_REL_AUTO; }
const pgorm_rel *pgorm_rel_partner(const pgorm_rel *r) { return r && r->partner && !r->partner->hidden ? r->partner : NULL; }
const pgorm_model *pgorm_rel_target(const pgorm_rel *r) { return r ? r->target->model : NULL; }

void pgorm_free(void *p) { pgorm__free(p); }
