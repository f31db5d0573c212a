/* lib/query.c — query building and execution, loader options along relationship paths,
 * joined-row folding, bulk UPDATE/DELETE and streaming through a server-side cursor. */
#include "exec.h"
#include "internal.h"
#include "flush.h"
#include "identity_map.h"
#include "loader.h"
#include "relationship.h"
#include "state.h"
#include "pgorm/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 32     /* loader options per query */
#define MAX_LOAD_DEPTH 8   /* relationship levels in one loader path ("a.b.c": 3) */
#define MAX_PATH 256       /* bytes of a loader path */

#define MAX_GROUPS 16     /* nesting of or/and/not/any/has groups */

typedef struct loader_opt {
	char *path;
	pgorm_loader loader;
} loader_opt;

/* A filter group being built: its model (columns resolve against it), its alias (0: "t",
 * k: "r<k>"), its kind and how many terms it has so far. */
enum { G_TOP, G_AND, G_OR, G_NOT, G_EXISTS };
typedef struct frame {
	pgorm__model_info *mi;
	unsigned alias;
	int kind;
	size_t nterms;
} frame;

struct pgorm_query {
	pgorm_session *s;
	pgorm__model_info *mi;
	pgorm_error err;
	pgorm__arena arena;          /* copies of parameter data and option paths */
	pgorm__sb where;             /* " AND …" conditions, parameters numbered globally */
	pgorm__sb order;
	pgorm_value *params;
	size_t nparams, capparams;
	int64_t limit, offset;       /* -1: none */
	int lock;                    /* 0, 1 FOR UPDATE, 2 FOR UPDATE SKIP LOCKED */
	loader_opt opts[MAX_OPTIONS];
	size_t nopts;
	pgorm_loader wildcard;
	bool populate;
	frame fr[MAX_GROUPS + 1];    /* fr[0]: the query's model, alias t */
	size_t depth;                /* open groups */
	unsigned naliases;           /* EXISTS subquery aliases r1, r2, … used so far */
	bool keyset;                 /* pgorm_query_keyset set the ORDER BY */
	pgorm__sb sets;              /* bulk UPDATE: "a" = $1, "b" = t."b" * $2 */
	pgorm__sb aggsel;            /* aggregate query: the aggregates of the select list */
	pgorm__sb group;             /* GROUP BY list */
	pgorm__sb having;            /* " AND …" HAVING conditions */
};

static bool sb_oom(const pgorm_query *q)
{
	return q->where.oom || q->order.oom || q->sets.oom || q->aggsel.oom || q->group.oom || q->having.oom;
}

static int qfail(pgorm_query *q, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int qfail(pgorm_query *q, int code, const char *fmt, ...)
{
	if (q->err.code != 0)
		return q->err.code; /* keep the first error */
	va_list ap;
	va_start(ap, fmt);
	pgorm__error_vset(&q->err, code, fmt, ap);
	va_end(ap);
	q->s->err = q->err;
	return code;
}

/* Before running: the first error of the building calls, or an out-of-memory of the WHERE /
 * ORDER BY builders (a NULL string must never reach "%s"), goes to the session's error. */
static int qcheck(pgorm_query *q)
{
	if (sb_oom(q))
		qfail(q, PGORM_ENOMEM, "out of memory building the %s query", q->mi->model->table);
	if (q->depth > 0)
		qfail(q, PGORM_EINVAL, "%s query: %zu filter group(s) not closed by pgorm_query_end", q->mi->model->table,
		      q->depth);
	if (q->err.code != 0) {
		q->s->err = q->err;
		return q->err.code;
	}
	return 0;
}

/* After a building call: its out-of-memory is reported at once (and again by qcheck). */
static int qbuilt(pgorm_query *q, int rc)
{
	if (rc == 0 && sb_oom(q))
		return qfail(q, PGORM_ENOMEM, "out of memory building the %s query", q->mi->model->table);
	return rc;
}

int pgorm_query_create(pgorm_query **out, pgorm_session *s, const pgorm_model *m)
{
	if (out == NULL || s == NULL)
		return PGORM_EINVAL;
	*out = NULL;
	pgorm__model_info *mi = m ? pgorm__registry_info(s->reg, m) : NULL;
	if (mi == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_query_create: model %s is not in the registry",
		                           m && m->table ? m->table : "(NULL)");
	pgorm_query *q = pgorm__calloc(1, sizeof *q);
	if (q == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	q->s = s;
	q->mi = mi;
	q->limit = q->offset = -1;
	pgorm_error_clear(&q->err);
	pgorm__arena_init(&q->arena);
	pgorm__sb_init(&q->where);
	pgorm__sb_init(&q->order);
	pgorm__sb_init(&q->sets);
	pgorm__sb_init(&q->aggsel);
	pgorm__sb_init(&q->group);
	pgorm__sb_init(&q->having);
	q->fr[0] = (frame){ mi, 0, G_TOP, 0 };
	*out = q;
	return 0;
}

void pgorm_query_destroy(pgorm_query *q)
{
	if (q == NULL)
		return;
	pgorm__sb_free(&q->where);
	pgorm__sb_free(&q->order);
	pgorm__sb_free(&q->sets);
	pgorm__sb_free(&q->aggsel);
	pgorm__sb_free(&q->group);
	pgorm__sb_free(&q->having);
	pgorm__free(q->params);
	pgorm__arena_free_all(&q->arena);
	pgorm__free(q);
}

const pgorm_error *pgorm_query_error(const pgorm_query *q) { return q && q->err.code ? &q->err : NULL; }

/* Keep a copy of the value's data: the caller's buffers may be gone when the query runs. */
static int add_param(pgorm_query *q, pgorm_value v)
{
	if (q->nparams == q->capparams) {
		size_t cap = q->capparams ? q->capparams * 2 : 8;
		pgorm_value *p = pgorm__reallocarray(q->params, cap, sizeof *p);
		if (p == NULL)
			return qfail(q, PGORM_ENOMEM, "out of memory");
		q->params = p;
		q->capparams = cap;
	}
	pgorm_error e;
	int rc = pgorm__value_check(&v, q->nparams, &e); /* the encoder's own checks, before any copy */
	if (rc != 0)
		return qfail(q, rc, "%s", e.message);
	if (!v.is_null) {
		switch (v.type) {
		case PGORM_TYPE_TEXT: case PGORM_TYPE_BYTEA: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB:
			if (v.u.str.ptr != NULL && (v.u.str.ptr = pgorm__arena_strndup(&q->arena, v.u.str.ptr, v.u.str.len)) == NULL)
				return qfail(q, PGORM_ENOMEM, "out of memory");
			break;
		case PGORM_TYPE_INT8_ARRAY: {
			int64_t *a = pgorm__arena_alloc(&q->arena, v.u.i64s.n * sizeof *a + 1);
			if (a == NULL)
				return qfail(q, PGORM_ENOMEM, "out of memory");
			if (v.u.i64s.n)
				memcpy(a, v.u.i64s.items, v.u.i64s.n * sizeof *a);
			v.u.i64s.items = a;
			break;
		}
		default: /* text[] (with its NULL elements and flags), the types of issue 15 */
			if (pgorm__value_copy(&q->arena, &v) != 0)
				return qfail(q, PGORM_ENOMEM, "out of memory");
			break;
		}
	}
	q->params[q->nparams++] = v;
	return 0;
}

static bool is_int(pgorm_type t) { return t == PGORM_TYPE_INT2 || t == PGORM_TYPE_INT4 || t == PGORM_TYPE_INT8; }
static bool is_num(pgorm_type t)
{
	return is_int(t) || t == PGORM_TYPE_FLOAT4 || t == PGORM_TYPE_FLOAT8 || t == PGORM_TYPE_NUMERIC;
}

static bool value_fits(pgorm_type col, pgorm_type v)
{
	if (col == v || (is_int(col) && is_int(v)))
		return true;
	if (col == PGORM_TYPE_CENUM && v == PGORM_TYPE_ENUM)
		return true;
	if (pgorm__is_text_type(col) && pgorm__is_text_type(v))
		return true;
	return (col == PGORM_TYPE_TEXT && (v == PGORM_TYPE_JSON)) || (col == PGORM_TYPE_JSONB && v == PGORM_TYPE_TEXT) ||
	       (col == PGORM_TYPE_JSON && v == PGORM_TYPE_TEXT) || (col == PGORM_TYPE_NUMERIC && v == PGORM_TYPE_TEXT);
}

static frame *top(pgorm_query *q) { return &q->fr[q->depth]; }

/* A column of frame f in SQL: t."c", or r<k>."c" inside an EXISTS subquery. */
static void colref(pgorm__sb *b, const frame *f, const char *name)
{
	if (f->alias)
		pgorm__sb_addf(b, "r%u.", f->alias);
	else
		pgorm__sb_add(b, "t.");
	pgorm__sb_ident(b, name);
}

/* A new term of the innermost open group: its connective first. */
static void term(pgorm_query *q)
{
	frame *f = top(q);
	if (f->kind == G_TOP)
		pgorm__sb_add(&q->where, " AND ");
	else if (f->nterms > 0)
		pgorm__sb_add(&q->where, f->kind == G_OR ? " OR " : " AND ");
	f->nterms++;
}

/* The SQL name of column col's named type (registry: "schema"."enum", a custom codec's). */
static const char *col_type_name(const pgorm__model_info *mi, const pgorm_column *col)
{
	return mi->col_types != NULL ? mi->col_types[col - mi->cols] : NULL;
}

static bool label_known(const pgorm_column *col, const char *label, size_t len)
{
	bool known = col->labels == NULL; /* labels given: the label must be one */
	for (size_t k = 0; !known && col->labels[k]; k++)
		known = strlen(col->labels[k]) == len && memcmp(col->labels[k], label, len) == 0;
	return known;
}

/* A value for an enum column (ENUM, TEXT or a C enum value): sent as the column's enum type,
 * its OID looked up by name on the connection (PGORM_VALUE_TYPED). -1 for another type of
 * value or a label not in the column's table. */
static int enum_value(const pgorm__model_info *mi, const pgorm_column *col, pgorm_value *v)
{
	if (col->type != PGORM_TYPE_ENUM && col->type != PGORM_TYPE_CENUM)
		return 0;
	if (v->type == PGORM_TYPE_TEXT || v->type == PGORM_TYPE_ENUM) {
		v->type = PGORM_TYPE_ENUM;
		if (!v->is_null && !label_known(col, v->u.str.ptr, v->u.str.len))
			return -1;
		v->u.label.type = col_type_name(mi, col);
	} else if (v->type == PGORM_TYPE_CENUM) {
		if (v->u.cenum.labels == NULL)
			v->u.cenum.labels = col->labels; /* PGORM_CENUM-style value without its table */
		v->u.cenum_of.type = col_type_name(mi, col);
	} else {
		return -1;
	}
	v->flags = PGORM_VALUE_TYPED;
	return 0;
}

/* The message of a refused enum value (enum_value returned -1). */
static int enum_refused(pgorm_query *q, const char *what, const pgorm__model_info *mi, const pgorm_column *col,
                        const pgorm_value *v)
{
	if (v->type == PGORM_TYPE_ENUM)
		return qfail(q, PGORM_ETYPE, "%s: %s.%s is enum %s: \"%.*s\" is not one of its labels", what,
		             mi->model->table, col->name, col->sql_type, (int)(v->u.str.len > 63 ? 63 : v->u.str.len),
		             v->u.str.ptr ? v->u.str.ptr : "");
	return qfail(q, PGORM_ETYPE, "%s: %s.%s is enum %s, the value is %s", what, mi->model->table, col->name,
	             col->sql_type, pgorm_type_name(v->type));
}

/* IN / NOT IN on an enum column: value a text[] of labels (or, on a C enum column, an int4[]
 * of its C values), each checked against the column's labels when it has them, sent as text[]
 * and cast to the column's enum array type: = ANY($n::text[]::"schema"."type"[]). */
static int enum_in(pgorm_query *q, const frame *f, const pgorm_column *col, const char *op, pgorm_value value)
{
	const char *tbl = f->mi->model->table;
	bool cvals = col->type == PGORM_TYPE_CENUM && value.type == PGORM_TYPE_INT4_ARRAY;
	if (value.type != PGORM_TYPE_TEXT_ARRAY && !cvals)
		return qfail(q, PGORM_ETYPE, "pgorm_query_filter: %s on %s.%s (enum %s) needs a text[] of labels%s, got %s", op,
		             tbl, col->name, col->sql_type, col->type == PGORM_TYPE_CENUM ? " or an int4[] of C values" : "",
		             pgorm_type_name(value.type));
	if (value.is_null)
		return qfail(q, PGORM_EINVAL, "pgorm_query_filter: %s on %s.%s: the list is NULL", op, tbl, col->name);
	const void *items;
	size_t n;
	const bool *nulls;
	pgorm__array_parts(&value, &items, &n, &nulls);
	if (items == NULL && n > 0)
		return qfail(q, PGORM_EINVAL, "pgorm_query_filter: %s on %s.%s: NULL items with length %zu", op, tbl,
		             col->name, n);
	const char **labels = cvals ? pgorm__arena_alloc(&q->arena, n * sizeof *labels + 1) : NULL;
	if (cvals && labels == NULL)
		return qfail(q, PGORM_ENOMEM, "out of memory");
	long nlabels = 0;
	while (col->labels != NULL && col->labels[nlabels] != NULL)
		nlabels++;
	for (size_t k = 0; k < n; k++) {
		if (nulls != NULL && nulls[k]) {
			if (cvals)
				labels[k] = NULL;
			continue;
		}
		if (cvals) {
			int32_t cv = ((const int32_t *)items)[k];
			if (cv < 0 || cv >= nlabels)
				return qfail(q, PGORM_ETYPE, "pgorm_query_filter: %s on %s.%s: enum value %d is not in its label "
				             "table (%ld labels)", op, tbl, col->name, (int)cv, nlabels);
			labels[k] = col->labels[cv];
			continue;
		}
		const char *l = ((const char *const *)items)[k];
		if (l == NULL)
			return qfail(q, PGORM_EINVAL, "pgorm_query_filter: %s on %s.%s: NULL element %zu without its nulls flag",
			             op, tbl, col->name, k);
		if (!label_known(col, l, strlen(l)))
			return qfail(q, PGORM_ETYPE, "pgorm_query_filter: %s on %s.%s is enum %s: \"%.63s\" is not one of its labels",
			             op, tbl, col->name, col->sql_type, l);
	}
	if (cvals) {
		value.type = PGORM_TYPE_TEXT_ARRAY;
		value.u.strs.items = labels;
		value.u.strs.n = n;
		value.u.strs.nulls = nulls;
	}
	term(q);
	colref(&q->where, f, col->name);
	pgorm__sb_addf(&q->where, op[0] == 'I' ? " = ANY($%zu::text[]::" : " <> ALL($%zu::text[]::", q->nparams + 1);
	pgorm__sb_add(&q->where, col_type_name(f->mi, col));
	pgorm__sb_add(&q->where, "[])");
	return qbuilt(q, add_param(q, value));
}

static long find_col_in(pgorm_query *q, const pgorm__model_info *mi, const char *column, const char *what)
{
	if (column == NULL) {
		qfail(q, PGORM_EINVAL, "%s: column is NULL", what);
		return -1;
	}
	long c = pgorm__model_col(mi, column);
	if (c < 0)
		qfail(q, PGORM_EINVAL, "%s: %s has no column \"%s\"", what, mi->model->table, column);
	return c;
}

static long find_col(pgorm_query *q, const char *column, const char *what)
{
	return find_col_in(q, q->mi, column, what);
}

/* A text value turned into a LIKE pattern: pre + escaped text + post, copied into the
 * query's arena. */
static int like_pattern(pgorm_query *q, pgorm_value *v, const char *pre, const char *post)
{
	size_t len = v->u.str.len;
	char *p = len > (SIZE_MAX - 4) / 2 ? NULL : pgorm__arena_alloc(&q->arena, 2 * len + 4);
	if (p == NULL)
		return qfail(q, PGORM_ENOMEM, "out of memory");
	size_t k = strlen(pre);
	memcpy(p, pre, k);
	k += pgorm__like_escape(p + k, v->u.str.ptr ? v->u.str.ptr : "", len);
	memcpy(p + k, post, strlen(post) + 1);
	v->u.str.ptr = p;
	v->u.str.len = k + strlen(post);
	return 0;
}

int pgorm_query_filter(pgorm_query *q, const char *column, const char *op, pgorm_value value)
{
	if (q == NULL)
		return PGORM_EINVAL;
	frame *f = top(q);
	long c = find_col_in(q, f->mi, column, "pgorm_query_filter");
	if (c < 0)
		return q->err.code;
	static const char *const ops[] = { "=", "<>", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE",
		                           "NOT ILIKE", "STARTSWITH", "ENDSWITH", "CONTAINS", "IN", "NOT IN",
		                           "IS NULL", "IS NOT NULL" };
	size_t k = 0;
	while (k < PGORM__ARRAY_LEN(ops) && (op == NULL || strcmp(op, ops[k]) != 0))
		k++;
	if (k == PGORM__ARRAY_LEN(ops))
		return qfail(q, PGORM_EINVAL, "pgorm_query_filter: unknown operator \"%s\"", op ? op : "(NULL)");
	const pgorm_column *col = &f->mi->cols[c];
	const char *tbl = f->mi->model->table;
	if (strcmp(op, "!=") == 0)
		op = "<>";
	if (value.is_null && strncmp(op, "IS ", 3) != 0 && value.type != PGORM_TYPE_INVALID &&
	    value.type < PGORM_TYPE__COUNT) {
		/* SQLAlchemy's column == None / != None */
		if (strcmp(op, "=") == 0)
			op = "IS NULL";
		else if (strcmp(op, "<>") == 0)
			op = "IS NOT NULL";
		else
			return qfail(q, PGORM_EINVAL, "pgorm_query_filter: %s.%s %s NULL is never true (use IS NULL)", tbl,
			             col->name, op);
	}
	if (strncmp(op, "IS ", 3) == 0) {
		term(q);
		colref(&q->where, f, col->name);
		pgorm__sb_addf(&q->where, " %s", op);
		return qbuilt(q, 0);
	}
	if (strcmp(op, "IN") == 0 || strcmp(op, "NOT IN") == 0) {
		if (col->type == PGORM_TYPE_ENUM || col->type == PGORM_TYPE_CENUM)
			return enum_in(q, f, col, op, value);
		bool ok = (is_int(col->type) && value.type == PGORM_TYPE_INT8_ARRAY) ||
		          (pgorm__is_text_type(col->type) && value.type == PGORM_TYPE_TEXT_ARRAY);
		if (!ok)
			return qfail(q, PGORM_ETYPE, "pgorm_query_filter: %s on %s.%s (%s) needs an %s array, got %s", op, tbl,
			             col->name, pgorm_type_name(col->type), is_int(col->type) ? "int8[]" : "text[]",
			             pgorm_type_name(value.type));
		term(q);
		colref(&q->where, f, col->name);
		/* char(n) compares blank-padded (bpchar = bpchar), as its "=" filter does */
		const char *cast = col->type == PGORM_TYPE_CHAR ? "::bpchar[]" : "";
		pgorm__sb_addf(&q->where, op[0] == 'I' ? " = ANY($%zu%s)" : " <> ALL($%zu%s)", q->nparams + 1, cast);
		return qbuilt(q, add_param(q, value));
	}
	bool autoescape = strcmp(op, "STARTSWITH") == 0 || strcmp(op, "ENDSWITH") == 0 || strcmp(op, "CONTAINS") == 0;
	bool like = autoescape || strstr(op, "LIKE") != NULL;
	if (like && (!pgorm__is_text_type(col->type) || !pgorm__is_text_type(value.type)))
		return qfail(q, PGORM_ETYPE, "pgorm_query_filter: %s on %s.%s (%s) needs a text column and a text value, got %s",
		             op, tbl, col->name, pgorm_type_name(col->type), pgorm_type_name(value.type));
	if (enum_value(f->mi, col, &value) != 0)
		return enum_refused(q, "pgorm_query_filter", f->mi, col, &value);
	if (!like && !value_fits(col->type, value.type))
		return qfail(q, PGORM_ETYPE, "pgorm_query_filter: %s.%s is %s, the value is %s", tbl, col->name,
		             pgorm_type_name(col->type), pgorm_type_name(value.type));
	if (!like && col->type == PGORM_TYPE_CHAR && pgorm__is_text_type(value.type)) {
		value.type = PGORM_TYPE_CHAR; /* compared as char(n): blank-padded (bpchar = bpchar) */
		value.flags = 0;
	}
	if (autoescape) { /* SQLAlchemy's startswith/endswith/contains with autoescape */
		int rc = like_pattern(q, &value, op[0] == 'S' ? "" : "%", op[0] == 'E' ? "" : "%");
		if (rc != 0)
			return rc;
		op = "LIKE";
	}
	term(q);
	colref(&q->where, f, col->name);
	pgorm__sb_addf(&q->where, " %s $%zu", op, q->nparams + 1);
	return qbuilt(q, add_param(q, value));
}

int pgorm_query_between(pgorm_query *q, const char *column, pgorm_value lo, pgorm_value hi)
{
	if (q == NULL)
		return PGORM_EINVAL;
	frame *f = top(q);
	long c = find_col_in(q, f->mi, column, "pgorm_query_between");
	if (c < 0)
		return q->err.code;
	const pgorm_column *col = &f->mi->cols[c];
	pgorm_value *v[2] = { &lo, &hi };
	for (int i = 0; i < 2; i++) {
		if (v[i]->is_null)
			return qfail(q, PGORM_EINVAL, "pgorm_query_between: %s.%s: NULL bound", f->mi->model->table, col->name);
		if (enum_value(f->mi, col, v[i]) != 0)
			return enum_refused(q, "pgorm_query_between", f->mi, col, v[i]);
		if (!value_fits(col->type, v[i]->type))
			return qfail(q, PGORM_ETYPE, "pgorm_query_between: %s.%s is %s, the %s bound is %s", f->mi->model->table,
			             col->name, pgorm_type_name(col->type), i ? "upper" : "lower", pgorm_type_name(v[i]->type));
	}
	term(q);
	colref(&q->where, f, col->name);
	pgorm__sb_addf(&q->where, " BETWEEN $%zu AND $%zu", q->nparams + 1, q->nparams + 2);
	int rc = add_param(q, lo);
	return qbuilt(q, rc != 0 ? rc : add_param(q, hi));
}

/* ---- filter groups: or / and / not, any / has ---- */

static int group_begin(pgorm_query *q, int kind, const char *what)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (q->depth == MAX_GROUPS)
		return qfail(q, PGORM_EINVAL, "%s: more than %d nested groups", what, MAX_GROUPS);
	frame *f = top(q);
	term(q);
	pgorm__sb_add(&q->where, kind == G_NOT ? "NOT (" : "(");
	q->fr[++q->depth] = (frame){ f->mi, f->alias, kind, 0 };
	return qbuilt(q, 0);
}

int pgorm_query_or(pgorm_query *q) { return group_begin(q, G_OR, "pgorm_query_or"); }
int pgorm_query_and(pgorm_query *q) { return group_begin(q, G_AND, "pgorm_query_and"); }
int pgorm_query_not(pgorm_query *q) { return group_begin(q, G_NOT, "pgorm_query_not"); }

/* EXISTS (SELECT 1 FROM target r<k> WHERE <the relationship's join>: later filters go to the
 * target until pgorm_query_end. */
static int exists_begin(pgorm_query *q, const char *name, bool any)
{
	if (q == NULL)
		return PGORM_EINVAL;
	const char *what = any ? "pgorm_query_any" : "pgorm_query_has";
	frame *f = top(q);
	const char *tbl = f->mi->model->table;
	if (name == NULL)
		return qfail(q, PGORM_EINVAL, "%s: relationship name is NULL", what);
	const pgorm_rel *r = pgorm_registry_rel(q->s->reg, f->mi->model, name);
	if (r == NULL)
		return qfail(q, PGORM_EINVAL, "%s: %s has no relationship \"%s\"%s", what, tbl, name,
		             pgorm__model_col(f->mi, name) >= 0 ? " (it is a column)" : "");
	if (any && r->scalar)
		return qfail(q, PGORM_EINVAL, "pgorm_query_any: %s.%s is a to-one relationship: use pgorm_query_has", tbl, name);
	if (!any && !r->scalar)
		return qfail(q, PGORM_EINVAL, "pgorm_query_has: %s.%s is a collection: use pgorm_query_any", tbl, name);
	if (q->depth == MAX_GROUPS)
		return qfail(q, PGORM_EINVAL, "%s: more than %d nested groups", what, MAX_GROUPS);
	unsigned a = ++q->naliases;
	pgorm__model_info *tm = r->target;
	pgorm__sb *b = &q->where;
	term(q);
	if (r->kind == PGORM_REL_MANY_TO_MANY) {
		pgorm__sb_add(b, "EXISTS (SELECT 1 FROM ");
		pgorm__sb_qualified(b, r->sec_schema, r->sec_table);
		pgorm__sb_addf(b, " s%u JOIN %s r%u ON r%u.", a, tm->qtable, a, a);
		pgorm__sb_ident(b, tm->cols[tm->pk[0]].name);
		pgorm__sb_addf(b, " = s%u.", a);
		pgorm__sb_ident(b, r->sec_remote);
		pgorm__sb_addf(b, " WHERE s%u.", a);
		pgorm__sb_ident(b, r->sec_local);
		pgorm__sb_add(b, " = ");
		colref(b, f, f->mi->cols[f->mi->pk[0]].name);
	} else {
		bool o2m = r->kind == PGORM_REL_ONE_TO_MANY; /* the target holds the foreign key */
		pgorm__sb_addf(b, "EXISTS (SELECT 1 FROM %s r%u WHERE ", tm->qtable, a);
		for (size_t k = 0; k < r->nfk; k++) {
			pgorm__sb_addf(b, "%sr%u.", k ? " AND " : "", a);
			pgorm__sb_ident(b, tm->cols[o2m ? r->fk_cols[k] : r->ref_cols[k]].name);
			pgorm__sb_add(b, " = ");
			colref(b, f, f->mi->cols[o2m ? r->ref_cols[k] : r->fk_cols[k]].name);
		}
	}
	q->fr[++q->depth] = (frame){ tm, a, G_EXISTS, 1 };
	return qbuilt(q, 0);
}

int pgorm_query_any(pgorm_query *q, const char *rel) { return exists_begin(q, rel, true); }
int pgorm_query_has(pgorm_query *q, const char *rel) { return exists_begin(q, rel, false); }

int pgorm_query_end(pgorm_query *q)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (q->depth == 0)
		return qfail(q, PGORM_EINVAL, "pgorm_query_end: no open group");
	frame *f = top(q);
	if (f->kind != G_EXISTS && f->nterms == 0) /* or_() of nothing is false, and_() true */
		pgorm__sb_add(&q->where, f->kind == G_OR ? "false" : "true");
	pgorm__sb_add(&q->where, ")");
	q->depth--;
	return qbuilt(q, 0);
}

int pgorm_query_filter_array(pgorm_query *q, const char *column, const char *op, pgorm_value value)
{
	if (q == NULL)
		return PGORM_EINVAL;
	frame *f = top(q);
	long c = find_col_in(q, f->mi, column, "pgorm_query_filter_array");
	if (c < 0)
		return q->err.code;
	const pgorm_column *col = &f->mi->cols[c];
	const char *tbl = f->mi->model->table;
	const pgorm__array_info *ai = pgorm__array_info_of(col->type);
	bool any = op != NULL && strcmp(op, "= ANY") == 0;
	if (op == NULL || (!any && strcmp(op, "@>") != 0 && strcmp(op, "&&") != 0))
		return qfail(q, PGORM_EINVAL, "pgorm_query_filter_array: unknown operator \"%s\" (= ANY, @>, &&)",
		             op ? op : "(NULL)");
	if (ai == NULL)
		return qfail(q, PGORM_ETYPE, "pgorm_query_filter_array: %s.%s is %s, not an array", tbl,
		             col->name, pgorm_type_name(col->type));
	bool ok = any ? value.type == ai->elem || (pgorm__is_int_type(ai->elem) && pgorm__is_int_type(value.type))
	              : value.type == col->type;
	if (!ok || value.is_null)
		return qfail(q, PGORM_ETYPE, "pgorm_query_filter_array: %s %s on %s.%s (%s) needs a non-NULL %s, got %s",
		             column, op, tbl, col->name, pgorm_type_name(col->type),
		             any ? pgorm_type_name(ai->elem) : pgorm_type_name(col->type), pgorm_type_name(value.type));
	term(q);
	if (any)
		pgorm__sb_addf(&q->where, "$%zu = ANY(", q->nparams + 1);
	colref(&q->where, f, col->name);
	if (any)
		pgorm__sb_add(&q->where, ")");
	else
		pgorm__sb_addf(&q->where, " %s $%zu", op, q->nparams + 1);
	return qbuilt(q, add_param(q, value));
}

int pgorm_query_where(pgorm_query *q, const char *sql, size_t nparams, const pgorm_value *params)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (sql == NULL || (nparams > 0 && params == NULL))
		return qfail(q, PGORM_EINVAL, "pgorm_query_where: NULL argument");
	size_t base = q->nparams;
	pgorm__sb frag;
	pgorm__sb_init(&frag);
	pgorm_error e;
	int rc = pgorm__sql_renumber(&frag, sql, nparams, base, &e);
	if (rc != 0) {
		pgorm__sb_free(&frag);
		return qfail(q, rc, "pgorm_query_where: %s", e.message);
	}
	term(q);
	pgorm__sb_add(&q->where, "(");
	pgorm__sb_add(&q->where, pgorm__sb_str(&frag) ? pgorm__sb_str(&frag) : "");
	pgorm__sb_add(&q->where, ")");
	if (frag.oom)
		q->where.oom = true;
	pgorm__sb_free(&frag);
	for (size_t i = 0; i < nparams; i++)
		if ((rc = add_param(q, params[i])) != 0)
			return rc;
	return qbuilt(q, 0);
}

/* ORDER BY "rel.column" through a many-to-one: a scalar subquery on the target's key (at
 * most one row; a NULL foreign key sorts as NULL, like a LEFT OUTER JOIN would). */
static int order_related(pgorm_query *q, const char *path, const char *dot, bool desc)
{
	char name[64]; /* SQL names are at most 63 bytes (registry) */
	size_t len = (size_t)(dot - path);
	if (len == 0 || len >= sizeof name)
		return qfail(q, PGORM_EINVAL, "pgorm_query_order_by: bad path \"%s\"", path);
	memcpy(name, path, len);
	name[len] = '\0';
	const pgorm_rel *r = pgorm_registry_rel(q->s->reg, q->mi->model, name);
	if (r == NULL)
		return qfail(q, PGORM_EINVAL, "pgorm_query_order_by: \"%s\": %s has neither that column nor a relationship \"%s\"",
		             path, q->mi->model->table, name);
	if (r->kind != PGORM_REL_MANY_TO_ONE)
		return qfail(q, PGORM_EINVAL, "pgorm_query_order_by: \"%s\": %s.%s is not many-to-one (one row per %s needed)",
		             path, q->mi->model->table, name, q->mi->model->table);
	pgorm__model_info *tm = r->target;
	long c = find_col_in(q, tm, dot + 1, "pgorm_query_order_by");
	if (c < 0)
		return q->err.code;
	pgorm__sb *b = &q->order;
	pgorm__sb_add(b, b->len ? ", (SELECT o." : "(SELECT o.");
	pgorm__sb_ident(b, tm->cols[c].name);
	pgorm__sb_addf(b, " FROM %s o WHERE ", tm->qtable);
	for (size_t k = 0; k < r->nfk; k++) {
		pgorm__sb_add(b, k ? " AND o." : "o.");
		pgorm__sb_ident(b, tm->cols[r->ref_cols[k]].name);
		pgorm__sb_add(b, " = t.");
		pgorm__sb_ident(b, q->mi->cols[r->fk_cols[k]].name);
	}
	pgorm__sb_add(b, desc ? ") DESC" : ")");
	return qbuilt(q, 0);
}

int pgorm_query_order_by(pgorm_query *q, const char *column, bool desc)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (q->keyset)
		return qfail(q, PGORM_EINVAL, "pgorm_query_order_by: pgorm_query_keyset already set the order");
	const char *dot = column ? strchr(column, '.') : NULL;
	if (dot != NULL && pgorm__model_col(q->mi, column) < 0)
		return order_related(q, column, dot, desc);
	long c = find_col(q, column, "pgorm_query_order_by");
	if (c < 0)
		return q->err.code;
	pgorm__sb_add(&q->order, q->order.len ? ", t." : "t.");
	pgorm__sb_ident(&q->order, q->mi->cols[c].name);
	if (desc)
		pgorm__sb_add(&q->order, " DESC");
	return qbuilt(q, 0);
}

/* ---- keyset pagination ---- */

int pgorm_query_keyset(pgorm_query *q, size_t n, const char *const *columns, const pgorm_value *after, bool desc,
                       int64_t limit)
{
	if (q == NULL)
		return PGORM_EINVAL;
	const char *tbl = q->mi->model->table;
	if (n == 0 || columns == NULL)
		return qfail(q, PGORM_EINVAL, "pgorm_query_keyset: no key columns");
	if (n > PGORM__MAX_PK)
		return qfail(q, PGORM_EINVAL, "pgorm_query_keyset: more than %d key columns", PGORM__MAX_PK);
	if (limit < 0)
		return qfail(q, PGORM_EINVAL, "pgorm_query_keyset: negative limit");
	if (q->keyset || q->order.len)
		return qfail(q, PGORM_EINVAL, "pgorm_query_keyset: the %s query already has an ORDER BY", tbl);
	if (q->depth > 0)
		return qfail(q, PGORM_EINVAL, "pgorm_query_keyset: inside a filter group");
	long cols[PGORM__MAX_PK];
	for (size_t i = 0; i < n; i++) {
		if ((cols[i] = find_col(q, columns[i], "pgorm_query_keyset")) < 0)
			return q->err.code;
		const pgorm_column *col = &q->mi->cols[cols[i]];
		if (col->flags & PGORM_NULLABLE)
			return qfail(q, PGORM_EINVAL, "pgorm_query_keyset: %s.%s is nullable: rows with a NULL key would be on no page",
			             tbl, col->name);
		if (after != NULL && after[i].is_null)
			return qfail(q, PGORM_EINVAL, "pgorm_query_keyset: NULL value for %s.%s", tbl, col->name);
		if (after != NULL && !value_fits(col->type, after[i].type))
			return qfail(q, PGORM_ETYPE, "pgorm_query_keyset: %s.%s is %s, the value is %s", tbl, col->name,
			             pgorm_type_name(col->type), pgorm_type_name(after[i].type));
	}
	if (after != NULL) { /* a row comparison: (a, b) > ($1, $2) */
		term(q);
		pgorm__sb_add(&q->where, "(");
		for (size_t i = 0; i < n; i++) {
			pgorm__sb_add(&q->where, i ? ", t." : "t.");
			pgorm__sb_ident(&q->where, q->mi->cols[cols[i]].name);
		}
		pgorm__sb_add(&q->where, desc ? ") < (" : ") > (");
		for (size_t i = 0; i < n; i++)
			pgorm__sb_addf(&q->where, "%s$%zu", i ? ", " : "", q->nparams + 1 + i);
		pgorm__sb_add(&q->where, ")");
		for (size_t i = 0; i < n; i++) {
			int rc = add_param(q, after[i]);
			if (rc != 0)
				return rc;
		}
	}
	for (size_t i = 0; i < n; i++) {
		pgorm__sb_add(&q->order, i ? ", t." : "t.");
		pgorm__sb_ident(&q->order, q->mi->cols[cols[i]].name);
		if (desc)
			pgorm__sb_add(&q->order, " DESC");
	}
	q->limit = limit;
	q->keyset = true;
	return qbuilt(q, 0);
}

/* ---- aggregates ---- */

static const char *const agg_names[] = { "count", "sum", "min", "max", "avg" };

/* fn(t.column), or count(*) for a NULL column, into b, once the column suits fn. */
static int agg_expr(pgorm_query *q, pgorm__sb *b, pgorm_agg fn, const char *column, const char *what, long *colp)
{
	if ((unsigned)fn >= PGORM__ARRAY_LEN(agg_names))
		return qfail(q, PGORM_EINVAL, "%s: unknown aggregate %d", what, (int)fn);
	*colp = -1;
	if (column == NULL) {
		if (fn != PGORM_AGG_COUNT)
			return qfail(q, PGORM_EINVAL, "%s: %s needs a column", what, agg_names[fn]);
		pgorm__sb_add(b, "count(*)");
		return 0;
	}
	long c = find_col(q, column, what);
	if (c < 0)
		return q->err.code;
	pgorm_type t = q->mi->cols[c].type;
	bool ok = fn == PGORM_AGG_COUNT;
	if (fn == PGORM_AGG_SUM || fn == PGORM_AGG_AVG)
		ok = is_num(t);
	else if (fn == PGORM_AGG_MIN || fn == PGORM_AGG_MAX) /* types with an ordering PostgreSQL aggregates */
		ok = is_num(t) || t == PGORM_TYPE_TEXT || t == PGORM_TYPE_DATE || t == PGORM_TYPE_TIMESTAMP ||
		     t == PGORM_TYPE_TIMESTAMPTZ;
	if (!ok)
		return qfail(q, PGORM_ETYPE, "%s: %s(%s.%s): the column is %s", what, agg_names[fn], q->mi->model->table,
		             q->mi->cols[c].name, pgorm_type_name(t));
	pgorm__sb_addf(b, "%s(t.", agg_names[fn]);
	pgorm__sb_ident(b, q->mi->cols[c].name);
	pgorm__sb_add(b, ")");
	*colp = c;
	return 0;
}

int pgorm_query_agg(pgorm_query *q, pgorm_agg fn, const char *column)
{
	if (q == NULL)
		return PGORM_EINVAL;
	pgorm__sb *b = &q->aggsel;
	size_t len = b->len;
	long c;
	pgorm__sb_add(b, ", ");
	int rc = agg_expr(q, b, fn, column, "pgorm_query_agg", &c);
	if (rc != 0) {
		b->len = len;
		if (b->data)
			b->data[len] = '\0';
		return rc;
	}
	char label[80];
	snprintf(label, sizeof label, "%s%s%s", agg_names[fn], c >= 0 ? "_" : "", c >= 0 ? q->mi->cols[c].name : "");
	pgorm__sb_add(b, " AS ");
	pgorm__sb_ident(b, label);
	return qbuilt(q, 0);
}

int pgorm_query_group_by(pgorm_query *q, const char *column)
{
	if (q == NULL)
		return PGORM_EINVAL;
	long c = find_col(q, column, "pgorm_query_group_by");
	if (c < 0)
		return q->err.code;
	pgorm__sb_add(&q->group, q->group.len ? ", t." : "t.");
	pgorm__sb_ident(&q->group, q->mi->cols[c].name);
	return qbuilt(q, 0);
}

int pgorm_query_having(pgorm_query *q, pgorm_agg fn, const char *column, const char *op, pgorm_value value)
{
	if (q == NULL)
		return PGORM_EINVAL;
	static const char *const ops[] = { "=", "<>", "!=", "<", "<=", ">", ">=" };
	size_t k = 0;
	while (k < PGORM__ARRAY_LEN(ops) && (op == NULL || strcmp(op, ops[k]) != 0))
		k++;
	if (k == PGORM__ARRAY_LEN(ops))
		return qfail(q, PGORM_EINVAL, "pgorm_query_having: unknown operator \"%s\"", op ? op : "(NULL)");
	if (value.is_null)
		return qfail(q, PGORM_EINVAL, "pgorm_query_having: %s NULL is never true", op);
	pgorm__sb e;
	pgorm__sb_init(&e);
	long c;
	int rc = agg_expr(q, &e, fn, column, "pgorm_query_having", &c);
	if (rc == 0) {
		bool ok = fn == PGORM_AGG_COUNT ? is_int(value.type)
		          : (fn == PGORM_AGG_SUM || fn == PGORM_AGG_AVG) ? is_num(value.type)
		                                                          : value_fits(q->mi->cols[c].type, value.type);
		if (!ok)
			rc = qfail(q, PGORM_ETYPE, "pgorm_query_having: %s(%s%s%s) compared with a %s value", agg_names[fn],
			           c >= 0 ? q->mi->model->table : "*", c >= 0 ? "." : "", c >= 0 ? q->mi->cols[c].name : "",
			           pgorm_type_name(value.type));
	}
	if (rc == 0) {
		pgorm__sb_addf(&q->having, " AND %s %s $%zu", pgorm__sb_str(&e) ? pgorm__sb_str(&e) : "",
		               strcmp(op, "!=") == 0 ? "<>" : op, q->nparams + 1);
		if (e.oom)
			q->having.oom = true;
		rc = add_param(q, value);
	}
	pgorm__sb_free(&e);
	return qbuilt(q, rc);
}

int pgorm_query_order_by_agg(pgorm_query *q, pgorm_agg fn, const char *column, bool desc)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (q->keyset)
		return qfail(q, PGORM_EINVAL, "pgorm_query_order_by_agg: pgorm_query_keyset already set the order");
	pgorm__sb e;
	pgorm__sb_init(&e);
	long c;
	int rc = agg_expr(q, &e, fn, column, "pgorm_query_order_by_agg", &c);
	if (rc == 0) {
		pgorm__sb_addf(&q->order, "%s%s%s", q->order.len ? ", " : "", pgorm__sb_str(&e) ? pgorm__sb_str(&e) : "",
		               desc ? " DESC" : "");
		if (e.oom)
			q->order.oom = true;
	}
	pgorm__sb_free(&e);
	return qbuilt(q, rc);
}

/* What a query holds besides filters decides how it may run: aggregates only through
 * pgorm_query_aggregate, a SET list only through pgorm_query_update_set. */
enum { RUN_ROWS, RUN_AGG, RUN_UPDATE };
static int run_check(pgorm_query *q, int how, const char *what)
{
	bool agg = q->aggsel.len || q->group.len || q->having.len;
	if (agg && how != RUN_AGG)
		qfail(q, PGORM_EINVAL, "%s: the %s query has aggregates, GROUP BY or HAVING: run it with pgorm_query_aggregate",
		      what, q->mi->model->table);
	if (how == RUN_AGG && !agg)
		qfail(q, PGORM_EINVAL, "%s: no aggregate nor GROUP BY (pgorm_query_agg, pgorm_query_group_by)", what);
	if (q->sets.len && how != RUN_UPDATE)
		qfail(q, PGORM_EINVAL, "%s: the %s query has a SET list: run it with pgorm_query_update_set", what,
		      q->mi->model->table);
	if (how == RUN_UPDATE && !q->sets.len)
		qfail(q, PGORM_EINVAL, "%s: nothing to SET (pgorm_query_set, pgorm_query_set_expr)", what);
	return qcheck(q);
}

int pgorm_query_aggregate(pgorm_query *q, pgorm_result **out)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(q->s, PGORM_EINVAL, "pgorm_query_aggregate: out is NULL");
	*out = NULL;
	int rc = run_check(q, RUN_AGG, "pgorm_query_aggregate");
	if (rc != 0)
		return rc;
	if (q->s->cfg.autoflush && (rc = pgorm__flush(q->s, false, NULL)) != 0)
		return rc;
	pgorm__sb b;
	pgorm__sb_init(&b);
	const char *aggs = pgorm__sb_str(&q->aggsel);
	pgorm__sb_addf(&b, "SELECT %s%s FROM %s t WHERE true%s", pgorm__sb_str(&q->group),
	               q->group.len ? aggs : aggs + (q->aggsel.len ? 2 : 0), q->mi->qtable, pgorm__sb_str(&q->where));
	if (q->group.len)
		pgorm__sb_addf(&b, " GROUP BY %s", pgorm__sb_str(&q->group));
	if (q->having.len)
		pgorm__sb_addf(&b, " HAVING true%s", pgorm__sb_str(&q->having));
	if (q->order.len)
		pgorm__sb_addf(&b, " ORDER BY %s", pgorm__sb_str(&q->order));
	if (q->limit >= 0)
		pgorm__sb_addf(&b, " LIMIT %lld", (long long)q->limit);
	if (q->offset >= 0)
		pgorm__sb_addf(&b, " OFFSET %lld", (long long)q->offset);
	rc = pgorm__sb_str(&b) ? pgorm__session_exec(q->s, pgorm__sb_str(&b), q->nparams, q->params, out)
	                       : pgorm__session_fail(q->s, PGORM_ENOMEM, "out of memory");
	pgorm__sb_free(&b);
	return rc;
}

int pgorm_query_limit(pgorm_query *q, int64_t limit)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (limit < 0)
		return qfail(q, PGORM_EINVAL, "pgorm_query_limit: negative limit");
	q->limit = limit;
	return 0;
}

int pgorm_query_offset(pgorm_query *q, int64_t offset)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (offset < 0)
		return qfail(q, PGORM_EINVAL, "pgorm_query_offset: negative offset");
	q->offset = offset;
	return 0;
}

int pgorm_query_for_update(pgorm_query *q, bool skip_locked)
{
	if (q == NULL)
		return PGORM_EINVAL;
	q->lock = skip_locked ? 2 : 1;
	return 0;
}

int pgorm_query_populate_existing(pgorm_query *q, bool on)
{
	if (q == NULL)
		return PGORM_EINVAL;
	q->populate = on;
	return 0;
}

int pgorm_query_option(pgorm_query *q, const char *path, pgorm_loader loader)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (path == NULL || (unsigned)loader > PGORM_LOAD_NOLOAD)
		return qfail(q, PGORM_EINVAL, "pgorm_query_option: bad path or loader");
	if (*path == '\0' || path[strlen(path) - 1] == '.')
		return qfail(q, PGORM_EINVAL, "pgorm_query_option: bad path \"%s\"", path);
	if (strcmp(path, "*") == 0) {
		q->wildcard = loader;
		return 0;
	}
	/* every segment must be a relationship of the model reached so far */
	pgorm__model_info *mi = q->mi;
	char seg[128];
	size_t depth = 0;
	if (strlen(path) >= MAX_PATH)
		return qfail(q, PGORM_EINVAL, "pgorm_query_option: path longer than %d bytes", MAX_PATH - 1);
	for (const char *p = path; *p;) {
		if (++depth > MAX_LOAD_DEPTH)
			return qfail(q, PGORM_EINVAL, "pgorm_query_option: \"%s\" is deeper than %d relationships", path,
			             MAX_LOAD_DEPTH);
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len >= sizeof seg)
			return qfail(q, PGORM_EINVAL, "pgorm_query_option: bad path \"%s\"", path);
		memcpy(seg, p, len);
		seg[len] = '\0';
		const pgorm_rel *r = pgorm_registry_rel(q->s->reg, mi->model, seg);
		if (r == NULL)
			return qfail(q, PGORM_EINVAL, "pgorm_query_option: \"%s\": %s has no relationship \"%s\"", path,
			             mi->model->table, seg);
		mi = r->target;
		p = dot ? dot + 1 : p + len;
	}
	if (q->nopts == MAX_OPTIONS)
		return qfail(q, PGORM_EINVAL, "pgorm_query_option: more than %d options", MAX_OPTIONS);
	char *copy = pgorm__arena_strndup(&q->arena, path, strlen(path));
	if (copy == NULL)
		return qfail(q, PGORM_ENOMEM, "out of memory");
	q->opts[q->nopts++] = (loader_opt){ copy, loader };
	return 0;
}

/* ---- loader resolution ---- */

static pgorm_loader strategy(const pgorm_query *q, const char *path, const pgorm_rel *r)
{
	for (size_t i = 0; i < q->nopts; i++)
		if (strcmp(q->opts[i].path, path) == 0)
			return q->opts[i].loader;
	if (q->wildcard != PGORM_LOAD_DEFAULT)
		return q->wildcard;
	return r->loader;
}

/* Whether some option names a path below prefix ("children." …). */
static bool has_below(const pgorm_query *q, const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < q->nopts; i++)
		if (strncmp(q->opts[i].path, prefix, n) == 0 && q->opts[i].path[n] == '.')
			return true;
	return false;
}

/* The JOINs of a query (joined loading, at any depth): one node per joined relationship, a
 * node's parent before it. Node k is aliased j<k>; its parent is the query's table (t) or
 * another node. A joined relationship below one that is not joined loads as selectin. */
#define MAX_JOINS 16
typedef struct join_node {
	const pgorm_rel *rel;
	int parent;                  /* node index, -1 for the query's model */
	char path[MAX_PATH];         /* its loader path ("children.grand") */
} join_node;
typedef struct join_tree {
	join_node n[MAX_JOINS];
	size_t len;
} join_tree;

static void join_level(const pgorm_query *q, join_tree *jt, const pgorm__model_info *mi, int parent,
                       const pgorm_rel *from, int depth);

static bool is_joined(const join_tree *jt, const char *path)
{
	for (size_t k = 0; jt != NULL && k < jt->len; k++)
		if (strcmp(jt->n[k].path, path) == 0)
			return true;
	return false;
}

static void block(void **objs, size_t n, const pgorm_rel *r, bool raise)
{
	if (r->index >= PGORM__MAX_RELS)
		return;
	for (size_t i = 0; i < n; i++) {
		pgorm__objstate *st = pgorm__st(objs[i]);
		if ((st->loaded >> r->index) & 1)
			continue;
		if (raise)
			st->raise_mask |= 1u << r->index;
		else
			st->noload_mask |= 1u << r->index;
	}
}

/* Collect the objects reached through r from objs (for the next level). */
static int related(pgorm_session *s, const pgorm_rel *r, void **objs, size_t n, void ***out, size_t *nout)
{
	size_t cap = 0, k = 0;
	void **list = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!((pgorm__st(objs[i])->loaded >> r->index) & 1))
			continue;
		void *single;
		size_t cnt;
		void **items = pgorm__rel_items(objs[i], r, &single, &cnt);
		for (size_t j = 0; j < cnt; j++) {
			pgorm__objstate *st = pgorm__st(items[j]);
			if (st->flags2 & OBJ2_SEEN)
				continue;
			st->flags2 |= OBJ2_SEEN;
			if (k == cap) {
				cap = cap ? cap * 2 : 64;
				void **l = pgorm__reallocarray(list, cap, sizeof *l);
				if (l == NULL) {
					pgorm__free(list);
					return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
				}
				list = l;
			}
			list[k++] = items[j];
		}
	}
	for (size_t i = 0; i < k; i++)
		pgorm__st(list[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	*out = list;
	*nout = k;
	return 0;
}

/* Apply loaders to the relationships of objs (model mi) below path prefix. `from` is the
 * relationship we came through: its partner is already populated. jt: the relationships the
 * query's JOINs loaded (skipped here), or NULL. */
static int apply_loaders(pgorm_query *q, pgorm__model_info *mi, void **objs, size_t n, const char *prefix,
                         const pgorm_rel *from, const join_tree *jt, int depth)
{
	if (n == 0)
		return 0;
	if (depth > MAX_LOAD_DEPTH) /* pgorm_query_option refuses such paths: never silently cut */
		return qfail(q, PGORM_EINVAL, "loader path below \"%s\" is deeper than %d relationships", prefix,
		             MAX_LOAD_DEPTH);
	int rc = 0;
	pgorm_loader strat[PGORM__MAX_RELS];
	const pgorm_rel *rels[PGORM__MAX_RELS] = { NULL };
	void **lists[PGORM__MAX_RELS] = { NULL };
	size_t counts[PGORM__MAX_RELS] = { 0 };
	size_t nj = 0;
	char path[MAX_PATH];
	/* this level: raise/noload marks, and every selectin load in one pipeline */
	for (size_t i = 0; i < mi->nrels && rc == 0; i++) {
		const pgorm_rel *r = mi->rels[i];
		strat[i] = PGORM_LOAD_LAZY;
		if (r->hidden || (from && r == from->partner))
			continue;
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", r->name);
		pgorm_loader l = strat[i] = strategy(q, path, r);
		if (l == PGORM_LOAD_RAISE) {
			block(objs, n, r, true);
		} else if (l == PGORM_LOAD_NOLOAD) {
			block(objs, n, r, false);
		} else if ((l == PGORM_LOAD_SELECTIN || l == PGORM_LOAD_JOINED) && !is_joined(jt, path)) {
			if (l == PGORM_LOAD_JOINED) /* below a relationship not joined, or past MAX_JOINS */
				pgorm__session_log(q->s, PGORM_LOG_INFO, "joined loading of %s runs as selectin (%s)", path,
				                   jt == NULL                            ? "streams join nothing"
				                   : r->kind == PGORM_REL_MANY_TO_MANY   ? "many-to-many"
				                   : depth > 0 && !is_joined(jt, prefix) ? "its parent is not joined"
				                                                         : "past the limit of joins per query");
			/* objects whose relationship is already loaded keep it, unless populate */
			void **todo = pgorm__calloc(n, sizeof *todo);
			size_t nt = 0;
			if (todo == NULL) {
				rc = pgorm__session_fail(q->s, PGORM_ENOMEM, "out of memory");
				break;
			}
			for (size_t k = 0; k < n; k++)
				if (q->populate || !((pgorm__st(objs[k])->loaded >> r->index) & 1))
					todo[nt++] = objs[k];
			rels[nj] = r;
			lists[nj] = todo;
			counts[nj++] = nt;
		}
	}
	if (rc == 0)
		rc = pgorm__load_selectin_many(q->s, rels, lists, counts, nj, q->populate);
	for (size_t k = 0; k < nj; k++)
		pgorm__free(lists[k]);
	/* the next level, where an option asks for it */
	for (size_t i = 0; i < mi->nrels && rc == 0; i++) {
		const pgorm_rel *r = mi->rels[i];
		if (strat[i] != PGORM_LOAD_SELECTIN && strat[i] != PGORM_LOAD_JOINED)
			continue;
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", r->name);
		if (!has_below(q, path))
			continue;
		void **next = NULL;
		size_t nn = 0;
		rc = related(q->s, r, objs, n, &next, &nn);
		if (rc == 0)
			rc = apply_loaders(q, r->target, next, nn, path, r, jt, depth + 1);
		pgorm__free(next);
	}
	return rc;
}

/* ---- SQL ---- */

/* The alias of node k's parent ("t" or "j<n>") into buf. */
static const char *parent_alias(const join_tree *jt, size_t k, char *buf, size_t n)
{
	if (jt->n[k].parent < 0)
		return "t";
	snprintf(buf, n, "j%d", jt->n[k].parent);
	return buf;
}

static void build_select(pgorm_query *q, pgorm__sb *b, const join_tree *jt, bool count)
{
	pgorm__model_info *mi = q->mi;
	bool any_join = jt != NULL && jt->len > 0;
	if (count) {
		pgorm__sb_addf(b, "SELECT count(*) FROM %s t WHERE true%s", mi->qtable, pgorm__sb_str(&q->where));
		return;
	}
	pgorm__sb_addf(b, "SELECT %s", mi->select_list);
	for (size_t k = 0; any_join && k < jt->len; k++) {
		const pgorm_rel *r = jt->n[k].rel;
		for (size_t c = 0; c < r->target->ncols; c++) {
			pgorm__sb_addf(b, ", j%zu.", k);
			pgorm__sb_ident(b, r->target->cols[c].name);
		}
	}
	/* LIMIT / OFFSET count rows of the query's model: with joins, in a subquery */
	bool sub = any_join && (q->limit >= 0 || q->offset >= 0);
	if (sub)
		pgorm__sb_addf(b, " FROM (SELECT * FROM %s t WHERE true%s", mi->qtable, pgorm__sb_str(&q->where));
	else
		pgorm__sb_addf(b, " FROM %s t", mi->qtable);
	if (sub) {
		if (q->order.len)
			pgorm__sb_addf(b, " ORDER BY %s", pgorm__sb_str(&q->order));
		if (q->limit >= 0)
			pgorm__sb_addf(b, " LIMIT %lld", (long long)q->limit);
		if (q->offset >= 0)
			pgorm__sb_addf(b, " OFFSET %lld", (long long)q->offset);
		pgorm__sb_add(b, ") t");
	}
	bool inner[MAX_JOINS] = { false };
	for (size_t k = 0; any_join && k < jt->len; k++) {
		const pgorm_rel *r = jt->n[k].rel;
		const pgorm__model_info *owner = r->owner;
		char pa[16];
		const char *alias = parent_alias(jt, k, pa, sizeof pa);
		/* an INNER JOIN below a LEFT OUTER one would drop the outer rows it kept */
		inner[k] = (r->flags & PGORM_REL_INNER_JOIN) && (jt->n[k].parent < 0 || inner[jt->n[k].parent]);
		pgorm__sb_addf(b, " %s JOIN %s j%zu ON ", inner[k] ? "INNER" : "LEFT OUTER", r->target->qtable, k);
		bool o2m = r->kind == PGORM_REL_ONE_TO_MANY;
		for (size_t c = 0; c < r->nfk; c++) {
			pgorm__sb_addf(b, "%sj%zu.", c ? " AND " : "", k);
			pgorm__sb_ident(b, r->target->cols[o2m ? r->fk_cols[c] : r->ref_cols[c]].name);
			pgorm__sb_addf(b, " = %s.", alias);
			pgorm__sb_ident(b, owner->cols[o2m ? r->ref_cols[c] : r->fk_cols[c]].name);
		}
	}
	if (!sub)
		pgorm__sb_addf(b, " WHERE true%s", pgorm__sb_str(&q->where));
	bool ordered = false;
	if (q->order.len) {
		pgorm__sb_addf(b, " ORDER BY %s", pgorm__sb_str(&q->order));
		ordered = true;
	}
	for (size_t k = 0; any_join && k < jt->len; k++) {
		const pgorm_rel *r = jt->n[k].rel;
		if (r->order_col < 0)
			continue;
		pgorm__sb_add(b, ordered ? ", " : " ORDER BY ");
		if (!ordered) { /* keep parents together when the user gave no order */
			for (size_t c = 0; c < mi->npk; c++) {
				pgorm__sb_add(b, "t.");
				pgorm__sb_ident(b, mi->cols[mi->pk[c]].name);
				pgorm__sb_add(b, ", ");
			}
		}
		pgorm__sb_addf(b, "j%zu.", k);
		pgorm__sb_ident(b, r->target->cols[r->order_col].name);
		if (r->order_desc)
			pgorm__sb_add(b, " DESC");
		ordered = true;
	}
	if (!sub) {
		if (q->limit >= 0)
			pgorm__sb_addf(b, " LIMIT %lld", (long long)q->limit);
		if (q->offset >= 0)
			pgorm__sb_addf(b, " OFFSET %lld", (long long)q->offset);
	}
	if (q->lock)
		pgorm__sb_add(b, q->lock == 2 ? " FOR UPDATE OF t SKIP LOCKED" : " FOR UPDATE OF t");
}

/* The joined relationships of model mi below node `parent`, depth first (SQLAlchemy's
 * joinedload chains): a relationship is joined when its path's loader is joined; its own
 * relationships are looked at when an option names a path below it. */
static void join_level(const pgorm_query *q, join_tree *jt, const pgorm__model_info *mi, int parent,
                       const pgorm_rel *from, int depth)
{
	const char *prefix = parent < 0 ? "" : jt->n[parent].path;
	for (size_t i = 0; i < mi->nrels && depth < MAX_LOAD_DEPTH; i++) {
		const pgorm_rel *r = mi->rels[i];
		if (r->hidden || r->kind == PGORM_REL_MANY_TO_MANY || (from && r == from->partner) || jt->len == MAX_JOINS)
			continue;
		char path[MAX_PATH];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", r->name);
		if (strategy(q, path, r) != PGORM_LOAD_JOINED)
			continue;
		size_t k = jt->len++;
		jt->n[k].rel = r;
		jt->n[k].parent = parent;
		memcpy(jt->n[k].path, path, sizeof path);
		if (has_below(q, path))
			join_level(q, jt, r->target, (int)k, r, depth + 1);
	}
}

/* The distinct non-NULL objects of rows[0..n), in first-appearance order, into *out (malloc'd). */
static int distinct_of(pgorm_session *s, void **rows, size_t n, void ***out, size_t *nout)
{
	void **d = pgorm__calloc(n ? n : 1, sizeof *d);
	if (d == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (rows[i] == NULL || (pgorm__st(rows[i])->flags2 & OBJ2_SEEN))
			continue;
		pgorm__st(rows[i])->flags2 |= OBJ2_SEEN;
		d[nd++] = rows[i];
	}
	for (size_t i = 0; i < nd; i++)
		pgorm__st(d[i])->flags2 &= (uint8_t)~OBJ2_SEEN;
	*out = d;
	*nout = nd;
	return 0;
}

/* Fold the column block of one joined relationship r: rowmap[row] is the owner object of each
 * row (NULL where an outer join found none), kids[row] the related object. Owners whose r is
 * loaded keep it unless populate-existing; the others get exactly the rows' objects. */
static int fold_rel(pgorm_query *q, const pgorm_rel *r, void **rowmap, void **kids, size_t nrows)
{
	pgorm_session *s = q->s;
	void **owners = NULL;
	size_t nd = 0;
	int rc = distinct_of(s, rowmap, nrows, &owners, &nd);
	if (rc != 0)
		return rc;
	for (size_t k = 0; k < nd; k++) {
		pgorm__objstate *st = pgorm__st(owners[k]);
		bool take = q->populate || !((st->loaded >> r->index) & 1);
		st->flags2 = take ? (st->flags2 | OBJ2_FOLDING) : (st->flags2 & (uint8_t)~OBJ2_FOLDING);
		if (take) {
			if (r->scalar)
				pgorm__link_put(owners[k], r, NULL);
			else
				pgorm__coll(owners[k], r)->len = 0;
		}
	}
	for (size_t row = 0; row < nrows && rc == 0; row++) {
		void *p = rowmap[row], *kid = kids[row];
		if (p == NULL || !(pgorm__st(p)->flags2 & OBJ2_FOLDING))
			continue;
		if (r->kind == PGORM_REL_MANY_TO_ONE) {
			pgorm__link_put(p, r, kid);
			continue;
		}
		if (kid == NULL)
			continue;
		pgorm__objstate *kst = pgorm__st(kid);
		const pgorm_rel *m2o = r->partner;
		if ((kst->link_dirty >> m2o->index) & 1)
			continue;
		if (pgorm__link_get(kid, m2o) == p && ((kst->loaded >> m2o->index) & 1) && (kst->flags2 & OBJ2_SEEN))
			continue; /* repeated by another joined relationship's rows */
		if (r->scalar) {
			void *prev = pgorm__link_get(p, r);
			if (prev != NULL && prev != kid) {
				rc = pgorm__session_fail(s, PGORM_EMULTIPLE,
				                         "one-to-one relationship %s.%s: more than one %s row for one %s",
				                         r->owner->model->table, r->name, r->target->model->table,
				                         r->owner->model->table);
				break;
			}
			pgorm__link_put(p, r, kid);
		} else if (!(kst->flags2 & OBJ2_SEEN) || pgorm__link_get(kid, m2o) != p) {
			if (!pgorm__coll_push(s, pgorm__coll(p, r), kid)) {
				rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
				break;
			}
		}
		kst->flags2 |= OBJ2_SEEN;
		pgorm__link_put(kid, m2o, p);
		kst->loaded |= 1ULL << m2o->index;
	}
	for (size_t row = 0; row < nrows; row++)
		if (kids[row] && r->kind != PGORM_REL_MANY_TO_ONE)
			pgorm__st(kids[row])->flags2 &= (uint8_t)~OBJ2_SEEN;
	for (size_t k = 0; k < nd; k++) {
		pgorm__objstate *st = pgorm__st(owners[k]);
		if (rc == 0 && (st->flags2 & OBJ2_FOLDING)) {
			st->loaded |= 1ULL << r->index;
			if (!r->scalar)
				rc = pgorm__coll_merge_pending(s, owners[k], r);
		}
		st->flags2 &= (uint8_t)~OBJ2_FOLDING;
	}
	pgorm__free(owners);
	return rc;
}

/* Fold joined rows: distinct objects of the query's model in first-appearance order, and each
 * joined relationship, level by level, from the column block of its node. */
static int fold(pgorm_query *q, pgorm_result *res, const join_tree *jt, void ***out, size_t *nout)
{
	pgorm_session *s = q->s;
	pgorm__model_info *mi = q->mi;
	void **rows = NULL;
	size_t nrows = 0;
	int rc = pgorm__load_rows_ex(s, mi, res, 0, q->populate, true, &rows, &nrows);
	if (rc != 0)
		return rc;
	if (jt == NULL || jt->len == 0) {
		/* one row per key: the rows are the objects, no folding (and no second pass over
		 * every object, which costs a cache miss each on large results) */
		*out = rows;
		*nout = nrows;
		return 0;
	}
	void **at[MAX_JOINS] = { NULL }; /* the objects of each node, per row */
	size_t col0 = mi->ncols;
	for (size_t k = 0; k < jt->len && rc == 0; k++) {
		const pgorm_rel *r = jt->n[k].rel;
		size_t nk = 0;
		rc = pgorm__load_rows_ex(s, r->target, res, col0, q->populate, true, &at[k], &nk);
		col0 += r->target->ncols;
		if (rc == 0)
			rc = fold_rel(q, r, jt->n[k].parent < 0 ? rows : at[jt->n[k].parent], at[k], nk);
	}
	for (size_t k = 0; k < jt->len; k++)
		pgorm__free(at[k]);
	if (rc == 0)
		rc = distinct_of(s, rows, nrows, out, nout);
	pgorm__free(rows);
	return rc;
}

static int run(pgorm_query *q, pgorm_list *out, int64_t limit_override)
{
	pgorm_session *s = q->s;
	int qrc = run_check(q, RUN_ROWS, "pgorm_query_all");
	if (qrc != 0)
		return qrc;
	if (s->cfg.autoflush) {
		int rc = pgorm__flush(s, false, NULL);
		if (rc != 0)
			return rc;
	}
	int64_t saved = q->limit;
	if (limit_override >= 0)
		q->limit = limit_override;
	join_tree jt;
	jt.len = 0;
	join_level(q, &jt, q->mi, -1, NULL, 0);
	pgorm__sb b;
	pgorm__sb_init(&b);
	build_select(q, &b, &jt, false);
	q->limit = saved;
	if (pgorm__sb_str(&b) == NULL) {
		pgorm__sb_free(&b);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	pgorm_result *res = NULL;
	int rc = pgorm__session_exec(s, pgorm__sb_str(&b), q->nparams, q->params, &res);
	pgorm__sb_free(&b);
	if (rc != 0)
		return rc;
	void **objs = NULL;
	size_t n = 0;
	rc = fold(q, res, &jt, &objs, &n);
	pgorm_result_free(res);
	if (rc == 0)
		rc = apply_loaders(q, q->mi, objs, n, "", NULL, &jt, 0);
	if (rc == 0 && out != NULL) {
		out->len = n;
		out->items = pgorm__arena_alloc(&s->arena, (n ? n : 1) * sizeof(void *));
		if (out->items == NULL)
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		else if (n)
			memcpy(out->items, objs, n * sizeof(void *));
	}
	pgorm__free(objs);
	return rc;
}

int pgorm_query_all(pgorm_query *q, pgorm_list *out)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(q->s, PGORM_EINVAL, "pgorm_query_all: out is NULL");
	out->items = NULL;
	out->len = 0;
	return run(q, out, -1);
}

int pgorm_query_first(pgorm_query *q, void **out)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(q->s, PGORM_EINVAL, "pgorm_query_first: out is NULL");
	*out = NULL;
	pgorm_list l = { 0 };
	int rc = run(q, &l, 1);
	if (rc == 0 && l.len > 0)
		*out = l.items[0];
	return rc;
}

int pgorm_query_one(pgorm_query *q, void **out)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(q->s, PGORM_EINVAL, "pgorm_query_one: out is NULL");
	*out = NULL;
	pgorm_list l = { 0 };
	int rc = run(q, &l, q->limit >= 0 && q->limit < 2 ? q->limit : 2);
	if (rc != 0)
		return rc;
	if (l.len == 0)
		return pgorm__session_fail(q->s, PGORM_ENOTFOUND, "pgorm_query_one: no %s row", q->mi->model->table);
	if (l.len > 1)
		return pgorm__session_fail(q->s, PGORM_EMULTIPLE, "pgorm_query_one: more than one %s row", q->mi->model->table);
	*out = l.items[0];
	return 0;
}

int pgorm_query_count(pgorm_query *q, int64_t *out)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (out == NULL)
		return pgorm__session_fail(q->s, PGORM_EINVAL, "pgorm_query_count: out is NULL");
	*out = 0;
	int qrc = run_check(q, RUN_ROWS, "pgorm_query_count");
	if (qrc != 0)
		return qrc;
	if (q->s->cfg.autoflush) {
		int rc = pgorm__flush(q->s, false, NULL);
		if (rc != 0)
			return rc;
	}
	pgorm__sb b;
	pgorm__sb_init(&b);
	build_select(q, &b, NULL, true);
	pgorm_result *res = NULL;
	int rc = pgorm__sb_str(&b) ? pgorm__session_exec(q->s, pgorm__sb_str(&b), q->nparams, q->params, &res)
	                           : pgorm__session_fail(q->s, PGORM_ENOMEM, "out of memory");
	pgorm__sb_free(&b);
	if (rc == 0)
		pgorm_result_int64(res, 0, 0, out);
	pgorm_result_free(res);
	return rc;
}

/* ---- bulk statements ---- */

/* column = $n (expr NULL) or column = t.column <op> $n, appended to the SET list. */
static int set_add(pgorm_query *q, const char *column, const char *op, pgorm_value value, const char *what)
{
	pgorm__model_info *mi = q->mi;
	long c = find_col(q, column, what);
	if (c < 0)
		return q->err.code;
	const pgorm_column *col = &mi->cols[c];
	const char *tbl = mi->model->table;
	if (op == NULL) {
		if (!value.is_null && enum_value(mi, col, &value) != 0)
			return enum_refused(q, what, mi, col, &value);
		if (!value.is_null && !value_fits(col->type, value.type))
			return qfail(q, PGORM_ETYPE, "%s: %s.%s is %s, the value is %s", what, tbl, col->name,
			             pgorm_type_name(col->type), pgorm_type_name(value.type));
		if (value.is_null && !(col->flags & PGORM_NULLABLE))
			return qfail(q, PGORM_EINVAL, "%s: %s.%s is NOT NULL", what, tbl, col->name);
	} else {
		static const char *const ops[] = { "+", "-", "*", "/", "||" };
		size_t k = 0;
		while (k < PGORM__ARRAY_LEN(ops) && strcmp(op, ops[k]) != 0)
			k++;
		if (k == PGORM__ARRAY_LEN(ops))
			return qfail(q, PGORM_EINVAL, "%s: unknown operator \"%s\"", what, op);
		if (value.is_null)
			return qfail(q, PGORM_EINVAL, "%s: %s.%s %s NULL is NULL", what, tbl, col->name, op);
		bool ok = k == 4 ? col->type == PGORM_TYPE_TEXT && value.type == PGORM_TYPE_TEXT
		                 : is_num(col->type) && is_num(value.type);
		if (!ok)
			return qfail(q, PGORM_ETYPE, "%s: %s.%s (%s) %s a %s value", what, tbl, col->name,
			             pgorm_type_name(col->type), op, pgorm_type_name(value.type));
	}
	pgorm__sb *b = &q->sets;
	if (b->len)
		pgorm__sb_add(b, ", ");
	pgorm__sb_ident(b, col->name);
	if (op != NULL) {
		pgorm__sb_add(b, " = t.");
		pgorm__sb_ident(b, col->name);
		pgorm__sb_addf(b, " %s $%zu", op, q->nparams + 1);
	} else {
		pgorm__sb_addf(b, " = $%zu", q->nparams + 1);
	}
	return qbuilt(q, add_param(q, value));
}

int pgorm_query_set(pgorm_query *q, const char *column, pgorm_value value)
{
	if (q == NULL)
		return PGORM_EINVAL;
	return set_add(q, column, NULL, value, "pgorm_query_set");
}

int pgorm_query_set_expr(pgorm_query *q, const char *column, const char *op, pgorm_value value)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (op == NULL)
		return qfail(q, PGORM_EINVAL, "pgorm_query_set_expr: operator is NULL");
	return set_add(q, column, op, value, "pgorm_query_set_expr");
}

static int bulk(pgorm_query *q, bool update, uint64_t *affected, const char *what)
{
	pgorm_session *s = q->s;
	pgorm__model_info *mi = q->mi;
	if (affected)
		*affected = 0;
	int rc = run_check(q, update ? RUN_UPDATE : RUN_ROWS, what);
	if (rc != 0)
		return rc;
	rc = s->cfg.autoflush ? pgorm__flush(s, false, NULL) : 0;
	if (rc != 0)
		return rc;
	pgorm__sb b;
	pgorm__sb_init(&b);
	if (update)
		pgorm__sb_addf(&b, "UPDATE %s t SET %s", mi->qtable, pgorm__sb_str(&q->sets));
	else
		pgorm__sb_addf(&b, "DELETE FROM %s t", mi->qtable);
	pgorm__sb_addf(&b, " WHERE true%s RETURNING ", pgorm__sb_str(&q->where));
	for (size_t k = 0; k < mi->npk; k++) {
		if (k)
			pgorm__sb_add(&b, ", ");
		pgorm__sb_add(&b, "t.");
		pgorm__sb_ident(&b, mi->cols[mi->pk[k]].name);
	}
	pgorm_result *res = NULL;
	rc = pgorm__sb_str(&b) ? pgorm__session_exec(s, pgorm__sb_str(&b), q->nparams, q->params, &res)
	                       : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	pgorm__sb_free(&b);
	if (rc != 0)
		return rc;
	size_t n = pgorm_result_rows(res);
	if (affected)
		*affected = n;
	/* keep the identity map in step: deleted rows detach, updated rows expire (their new
	 * values, computed by the server, load on next access) */
	for (size_t row = 0; row < n; row++) {
		void *probe = pgorm__probe_from_key_row(s, mi, res, row);
		void *o = pgorm__imap_find(&s->imap, mi, probe);
		if (o == NULL)
			continue;
		if (!update) {
			pgorm__imap_del(&s->imap, mi, o);
			pgorm__st(o)->state = PGORM_STATE_DETACHED;
		} else {
			pgorm__st(o)->flags |= OBJ_EXPIRED;
		}
	}
	pgorm_result_free(res);
	return 0;
}

int pgorm_query_delete(pgorm_query *q, uint64_t *affected)
{
	if (q == NULL)
		return PGORM_EINVAL;
	return bulk(q, false, affected, "pgorm_query_delete");
}

int pgorm_query_update_set(pgorm_query *q, uint64_t *affected)
{
	if (q == NULL)
		return PGORM_EINVAL;
	return bulk(q, true, affected, "pgorm_query_update_set");
}

int pgorm_query_update(pgorm_query *q, const char *column, pgorm_value value, uint64_t *affected)
{
	if (q == NULL)
		return PGORM_EINVAL;
	if (affected)
		*affected = 0;
	if (column == NULL)
		return qfail(q, PGORM_EINVAL, "pgorm_query_update: column is NULL");
	size_t np = q->nparams, len = q->sets.len;
	int rc = set_add(q, column, NULL, value, "pgorm_query_update");
	if (rc == 0)
		rc = bulk(q, true, affected, "pgorm_query_update");
	/* the SET value is not a filter: the query can run again */
	q->nparams = np;
	if (!q->sets.oom) {
		q->sets.len = len;
		if (q->sets.data)
			q->sets.data[len] = '\0';
	}
	return rc;
}

/* ---- streaming ---- */

/* A session that reads inside s's transaction with objects of its own (arena, identity map,
 * tracked list, loader state): each stream batch is loaded there and freed after the
 * callback, without touching the objects of s. Its statements are counted in s. */
static int reader_open(pgorm_session *s, pgorm_session **out)
{
	pgorm_session *r = pgorm__calloc(1, sizeof *r);
	if (r == NULL)
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	if (pgorm__state_init(r, s->reg, NULL, s->conn, &s->cfg) != 0 || pgorm__loader_create(&r->ld, s->reg) != 0) {
		r->conn = NULL;
		pgorm__state_finish(r);
		pgorm__free(r);
		pgorm_conn_set_hook(s->conn, pgorm__session_stmt_hook, s, s->cfg.log_params);
		return pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	}
	pgorm_conn_set_hook(s->conn, pgorm__session_stmt_hook, s, s->cfg.log_params); /* counted in s */
	r->in_tx = true;
	r->joined = s->joined;
	*out = r;
	return 0;
}

/* Fold r's counters (and, when rc != 0, its error) into s and free r with its objects. */
static void reader_close(pgorm_session *s, pgorm_session *r, int rc)
{
	s->stats.round_trips += r->stats.round_trips;
	s->stats.lazy_loads += r->stats.lazy_loads;
	s->stats.identity_hits += r->stats.identity_hits;
	if (rc != 0 && r->err.code != 0)
		s->err = r->err;
	r->in_tx = false;
	r->conn = NULL; /* s's: neither rolled back nor unhooked */
	pgorm__loader_destroy(r->ld);
	pgorm__state_finish(r);
	pgorm__free(r);
}

int pgorm_query_stream(pgorm_query *q, size_t batch, pgorm_stream_fn cb, void *ctx)
{
	if (q == NULL)
		return PGORM_EINVAL;
	pgorm_session *s = q->s;
	if (cb == NULL || batch == 0)
		return qfail(q, PGORM_EINVAL, "pgorm_query_stream: needs a callback and a batch size");
	if (batch > INT32_MAX) /* FETCH takes a 32-bit count */
		return qfail(q, PGORM_EINVAL, "pgorm_query_stream: batch %zu is above %d", batch, INT32_MAX);
	int rc = run_check(q, RUN_ROWS, "pgorm_query_stream");
	if (rc != 0)
		return rc;
	rc = s->cfg.autoflush ? pgorm__flush(s, false, NULL) : 0;
	if (rc == 0)
		rc = pgorm__session_begin(s);
	if (rc != 0)
		return rc;
	pgorm__sb b;
	pgorm__sb_init(&b);
	pgorm__sb_add(&b, "DECLARE pgorm_stream NO SCROLL CURSOR FOR ");
	build_select(q, &b, NULL, false);
	rc = pgorm__sb_str(&b) ? pgorm__session_exec(s, pgorm__sb_str(&b), q->nparams, q->params, NULL)
	                       : pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	pgorm__sb_free(&b);
	if (rc != 0)
		return rc;
	char fetch[64];
	snprintf(fetch, sizeof fetch, "FETCH FORWARD %zu FROM pgorm_stream", batch);
	/* Each batch is loaded into a reader session of its own, freed after the callback: the
	 * objects of s are never refreshed from, nor linked to, memory that goes with a batch. */
	for (;;) {
		pgorm_session *r = NULL;
		if ((rc = reader_open(s, &r)) != 0)
			break;
		pgorm_result *res = NULL;
		void **objs = NULL;
		size_t n = 0;
		rc = pgorm__session_exec(r, fetch, 0, NULL, &res);
		if (rc == 0)
			rc = pgorm__load_rows(r, q->mi, res, 0, false, &objs, &n);
		pgorm_result_free(res);
		if (rc == 0) {
			q->s = r; /* the loaders work on the batch's objects */
			rc = apply_loaders(q, q->mi, objs, n, "", NULL, NULL, 0);
			q->s = s;
		}
		int stop = 0;
		if (rc == 0 && n > 0)
			stop = cb(ctx, objs, n);
		pgorm__free(objs);
		reader_close(s, r, rc);
		if (rc != 0 || n == 0 || stop)
			break;
	}
	int crc = pgorm__session_exec(s, "CLOSE pgorm_stream", 0, NULL, NULL);
	return rc != 0 ? rc : crc;
}

int pgorm_session_query_sql(pgorm_session *s, const pgorm_model *m, const char *sql, size_t nparams,
                            const pgorm_value *params, pgorm_list *out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	pgorm__model_info *mi = m ? pgorm__registry_info(s->reg, m) : NULL;
	if (mi == NULL || sql == NULL || out == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_query_sql: bad argument");
	out->items = NULL;
	out->len = 0;
	int rc = s->cfg.autoflush ? pgorm__flush(s, false, NULL) : 0;
	pgorm_result *res = NULL;
	if (rc == 0)
		rc = pgorm__session_exec(s, sql, nparams, params, &res);
	if (rc != 0)
		return rc;
	void **objs = NULL;
	size_t n = 0;
	rc = pgorm__load_rows(s, mi, res, 0, false, &objs, &n);
	pgorm_result_free(res);
	if (rc == 0) {
		out->items = pgorm__arena_alloc(&s->arena, (n ? n : 1) * sizeof(void *));
		if (out->items == NULL)
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		else {
			if (n)
				memcpy(out->items, objs, n * sizeof(void *));
			out->len = n;
		}
	}
	pgorm__free(objs);
	return rc;
}

/* ---- upsert: INSERT … ON CONFLICT ---- */

enum { UPSERT_BATCH_ROWS = 1000 };

/* Column indexes of names into mask; EINVAL naming the unknown one. */
static int upsert_cols(pgorm_session *s, const pgorm__model_info *mi, const char *const *names, size_t n,
                       const char *what, uint64_t *mask)
{
	*mask = 0;
	if (n > 0 && names == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: %s is NULL with a count of %zu", what, n);
	for (size_t i = 0; i < n; i++) {
		long c = names[i] ? pgorm__model_col(mi, names[i]) : -1;
		if (c < 0)
			return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: %s: %s has no column \"%s\"", what,
			                           mi->model->table, names[i] ? names[i] : "(NULL)");
		*mask |= 1ULL << c;
	}
	return 0;
}

/* One INSERT … VALUES (…), … ON CONFLICT … RETURNING statement for objs[0..n): the columns
 * of mask, DEFAULT where an object never assigned one; a version column starts at 1. The
 * row values go to vals, then how->where_params (*nvals counts both). Errors: those of
 * pgorm__sql_renumber for how->where (checked before, so not expected). */
static int upsert_sql(pgorm__sb *b, const pgorm__model_info *mi, const pgorm_upsert *how, uint64_t mask,
                      uint64_t conflict, uint64_t upd, void *const *objs, size_t n, pgorm_value *vals, size_t *nvals,
                      pgorm_error *err)
{
	pgorm__sb_addf(b, "INSERT INTO %s AS t (", mi->qtable);
	for (size_t i = 0, k = 0; i < mi->ncols; i++)
		if ((mask >> i) & 1) {
			if (k++)
				pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, mi->cols[i].name);
		}
	pgorm__sb_add(b, ") VALUES ");
	size_t p = 0;
	for (size_t r = 0; r < n; r++) {
		uint64_t dirty = pgorm__dirty_cols(objs[r], mi);
		pgorm__sb_add(b, r ? ", (" : "(");
		for (size_t i = 0, k = 0; i < mi->ncols; i++) {
			if (!((mask >> i) & 1))
				continue;
			if (k++)
				pgorm__sb_add(b, ", ");
			if ((long)i == mi->version_col && !((dirty >> i) & 1)) {
				memset(&vals[p], 0, sizeof vals[p]);
				vals[p].type = mi->cols[i].type;
				if (vals[p].type == PGORM_TYPE_INT4)
					vals[p].u.i32 = 1;
				else
					vals[p].u.i64 = 1;
			} else if ((dirty >> i) & 1) {
				pgorm__get_col(objs[r], &mi->cols[i], i, &vals[p]);
			} else {
				pgorm__sb_add(b, "DEFAULT");
				continue;
			}
			pgorm__sb_param(b, ++p);
		}
		pgorm__sb_add(b, ")");
	}
	pgorm__sb_add(b, " ON CONFLICT");
	if (how->constraint != NULL) {
		pgorm__sb_add(b, " ON CONSTRAINT ");
		pgorm__sb_ident(b, how->constraint);
	} else if (conflict) {
		pgorm__sb_add(b, " (");
		for (size_t i = 0, k = 0; i < mi->ncols; i++)
			if ((conflict >> i) & 1) {
				if (k++)
					pgorm__sb_add(b, ", ");
				pgorm__sb_ident(b, mi->cols[i].name);
			}
		pgorm__sb_add(b, ")");
		if (how->index_where != NULL) { /* a partial unique index's predicate (developer SQL) */
			pgorm__sb_add(b, " WHERE (");
			pgorm__sb_add(b, how->index_where);
			pgorm__sb_add(b, ")");
		}
	}
	if (how->do_nothing) {
		pgorm__sb_add(b, " DO NOTHING");
	} else {
		pgorm__sb_add(b, " DO UPDATE SET ");
		size_t k = 0;
		for (size_t i = 0; i < mi->ncols; i++)
			if ((upd >> i) & 1) {
				if (k++)
					pgorm__sb_add(b, ", ");
				pgorm__sb_ident(b, mi->cols[i].name);
				pgorm__sb_add(b, " = EXCLUDED.");
				pgorm__sb_ident(b, mi->cols[i].name);
			}
		if (mi->version_col >= 0) { /* the row changed: its version moves on */
			const char *v = mi->cols[mi->version_col].name;
			if (k)
				pgorm__sb_add(b, ", ");
			pgorm__sb_ident(b, v);
			pgorm__sb_add(b, " = t.");
			pgorm__sb_ident(b, v);
			pgorm__sb_add(b, " + 1");
		}
		if (how->where != NULL) { /* its parameters follow the row values */
			pgorm__sb_add(b, " WHERE (");
			int rc = pgorm__sql_renumber(b, how->where, how->nwhere_params, p, err);
			if (rc != 0)
				return rc;
			pgorm__sb_add(b, ")");
			for (size_t k = 0; k < how->nwhere_params; k++)
				vals[p++] = how->where_params[k];
		}
	}
	pgorm__sb_addf(b, " RETURNING %s", mi->select_list);
	*nvals = p;
	return 0;
}

/* The index_where / where parts of how, checked before anything is flushed or sent. */
static int upsert_where_check(pgorm_session *s, const pgorm_upsert *how)
{
	if (how->index_where != NULL && (how->nconflict == 0 || how->constraint != NULL))
		return pgorm__session_fail(s, PGORM_EINVAL,
		                           "pgorm_session_upsert: index_where needs conflict_columns (not a constraint)");
	if (how->index_where != NULL && how->index_where[0] == '\0')
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: index_where is empty");
	if (how->where == NULL) {
		if (how->nwhere_params > 0)
			return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: where_params without where");
		return 0;
	}
	if (how->do_nothing)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: where is for DO UPDATE, not DO NOTHING");
	if (how->nwhere_params > 0 && how->where_params == NULL)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: where_params is NULL with a count of %zu",
		                           how->nwhere_params);
	if (how->nwhere_params >= PGORM__MAX_PARAMS)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: %zu where parameters", how->nwhere_params);
	pgorm_error e;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < how->nwhere_params; k++)
		rc = pgorm__value_check(&how->where_params[k], k, &e);
	if (rc == 0 && how->where[0] == '\0')
		rc = pgorm__error_set(&e, PGORM_EINVAL, "where is empty");
	pgorm__sb b;
	pgorm__sb_init(&b);
	if (rc == 0)
		rc = pgorm__sql_renumber(&b, how->where, how->nwhere_params, 0, &e);
	pgorm__sb_free(&b);
	return rc != 0 ? pgorm__session_fail(s, rc, "pgorm_session_upsert: where: %s", e.message) : 0;
}

int pgorm_session_upsert(pgorm_session *s, const pgorm_upsert *how, void *const *objs, size_t n, pgorm_list *out)
{
	if (s == NULL)
		return PGORM_EINVAL;
	if (out != NULL) {
		out->items = NULL;
		out->len = 0;
	}
	if (how == NULL || (objs == NULL && n > 0))
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: NULL argument");
	int rc = pgorm__session_thread_check(s, "pgorm_session_upsert");
	if (rc != 0 || n == 0)
		return rc;
	/* the objects: transient ones of one model, carrying the values (they stay transient) */
	pgorm__model_info *mi = NULL;
	uint64_t mask = 0;
	for (size_t i = 0; i < n; i++) {
		if ((rc = pgorm__session_check_obj(s, objs[i], "pgorm_session_upsert")) != 0)
			return rc;
		pgorm__model_info *oi = pgorm__session_info(s, objs[i]);
		if (mi != NULL && oi != mi)
			return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: objects of %s and %s in one call",
			                           mi->model->table, oi->model->table);
		mi = oi;
		if (pgorm__st(objs[i])->state != PGORM_STATE_TRANSIENT)
			return pgorm__session_fail(s, PGORM_EINVAL,
			                           "pgorm_session_upsert: object %zu (%s) is not transient: objects in the session are "
			                           "written by the flush", i, mi->model->table);
		mask |= pgorm__dirty_cols(objs[i], mi);
	}
	if (mask == 0)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: no %s column assigned", mi->model->table);
	if (mi->version_col >= 0)
		mask |= 1ULL << mi->version_col;
	uint64_t conflict = 0, upd = 0, pk = 0;
	for (size_t k = 0; k < mi->npk; k++)
		pk |= 1ULL << mi->pk[k];
	if ((rc = upsert_cols(s, mi, how->conflict_columns, how->nconflict, "conflict_columns", &conflict)) != 0 ||
	    (rc = upsert_cols(s, mi, how->update_columns, how->nupdate, "update_columns", &upd)) != 0)
		return rc;
	if (how->constraint != NULL && how->nconflict > 0)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: conflict columns and a constraint: name one");
	if (!how->do_nothing && how->constraint == NULL && conflict == 0)
		return pgorm__session_fail(s, PGORM_EINVAL,
		                           "pgorm_session_upsert: DO UPDATE needs conflict columns or a constraint");
	if (how->nupdate == 0) /* every inserted column outside the conflict target and the key */
		upd = mask & ~conflict & ~pk;
	if (mi->version_col >= 0)
		upd &= ~(1ULL << mi->version_col);
	if (!how->do_nothing && upd == 0 && mi->version_col < 0)
		return pgorm__session_fail(s, PGORM_EINVAL,
		                           "pgorm_session_upsert: nothing to update on %s: name update_columns or use do_nothing",
		                           mi->model->table);
	if ((rc = upsert_where_check(s, how)) != 0)
		return rc;
	/* flush first, whatever autoflush says: the statement then sees every pending change, and
	 * the rows it returns may overwrite identity-map objects without losing unflushed writes */
	if ((rc = pgorm__flush(s, false, NULL)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) /* a save-update cascade may have pulled one in and inserted it */
		if (pgorm__st(objs[i])->state != PGORM_STATE_TRANSIENT)
			return pgorm__session_fail(s, PGORM_EINVAL,
			                           "pgorm_session_upsert: object %zu (%s) was added by a cascade of the flush "
			                           "(it is linked to an object of the session): it is not upserted",
			                           i, mi->model->table);
	size_t ncols = 0;
	for (uint64_t m = mask; m; m &= m - 1)
		ncols++;
	size_t nw = how->where != NULL ? how->nwhere_params : 0;
	size_t per = (PGORM__MAX_PARAMS - nw) / ncols;
	if (per == 0)
		return pgorm__session_fail(s, PGORM_EINVAL, "pgorm_session_upsert: %zu columns and %zu where parameters "
		                           "exceed PostgreSQL's 65535 parameters", ncols, nw);
	if (per > UPSERT_BATCH_ROWS)
		per = UPSERT_BATCH_ROWS;
	if (how->batch > 0 && how->batch < per)
		per = how->batch;
	size_t nb = (n + per - 1) / per;
	pgorm_stmt *stmts = pgorm__calloc(nb, sizeof *stmts);
	pgorm__sb *sqls = pgorm__calloc(nb, sizeof *sqls);
	pgorm_value *vals = pgorm__calloc(n * ncols + nb * nw, sizeof *vals);
	pgorm_result **res = pgorm__calloc(nb, sizeof *res);
	void **all = NULL;
	size_t nall = 0;
	if (stmts == NULL || sqls == NULL || vals == NULL || res == NULL)
		rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
	for (size_t bi = 0; rc == 0 && bi < nb; bi++) {
		size_t first = bi * per, cnt = n - first < per ? n - first : per;
		size_t nv = 0, off = first * ncols + bi * nw;
		pgorm_error e;
		pgorm__sb_init(&sqls[bi]);
		if (upsert_sql(&sqls[bi], mi, how, mask, conflict, upd, objs + first, cnt, vals + off, &nv, &e) != 0)
			rc = pgorm__session_fail(s, e.code, "pgorm_session_upsert: where: %s", e.message);
		else if (pgorm__sb_str(&sqls[bi]) == NULL)
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		stmts[bi] = (pgorm_stmt){ pgorm__sb_str(&sqls[bi]), nv, vals + off };
	}
	if (rc == 0) /* every batch in one round trip */
		rc = nb == 1 ? pgorm__session_exec(s, stmts[0].sql, stmts[0].nparams, stmts[0].params, &res[0])
		             : pgorm__session_pipeline(s, nb, stmts, res);
	/* the returned rows into the identity map, overwriting (the session was just flushed) */
	for (size_t bi = 0; rc == 0 && bi < nb; bi++) {
		void **objs_b = NULL;
		size_t nr = 0;
		rc = pgorm__load_rows(s, mi, res[bi], 0, true, &objs_b, &nr);
		if (rc == 0 && nr > 0) {
			void **grown = pgorm__reallocarray(all, nall + nr, sizeof *all);
			if (grown == NULL) {
				rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
			} else {
				all = grown;
				memcpy(all + nall, objs_b, nr * sizeof *all);
				nall += nr;
			}
		}
		pgorm__free(objs_b);
	}
	if (rc == 0 && out != NULL) {
		out->items = pgorm__arena_alloc(&s->arena, (nall ? nall : 1) * sizeof(void *));
		if (out->items == NULL) {
			rc = pgorm__session_fail(s, PGORM_ENOMEM, "out of memory");
		} else {
			if (nall)
				memcpy(out->items, all, nall * sizeof(void *));
			out->len = nall;
		}
	}
	for (size_t bi = 0; bi < nb && res != NULL; bi++)
		pgorm_result_free(res[bi]);
	for (size_t bi = 0; bi < nb && sqls != NULL; bi++)
		pgorm__sb_free(&sqls[bi]);
	pgorm__free(all);
	pgorm__free(res);
	pgorm__free(vals);
	pgorm__free(sqls);
	pgorm__free(stmts);
	return rc;
}
