/* lib/object.c — snapshots and dirty detection. */
#include "object.h"
#include "codec.h"
#include "internal.h"

#include <string.h>

bool pgorm__objlist_grow(pgorm__objlist *l)
{
	size_t cap = l->cap ? l->cap * 2 : 64;
	void **items = pgorm__reallocarray(l->items, cap, sizeof *items);
	if (items == NULL)
		return false;
	l->items = items;
	l->cap = cap;
	return true;
}

/* The content hash of an array field: length, NULL flags and items (strings by content). */
static uint64_t array_word(const pgorm_array *a, pgorm_type t)
{
	const pgorm__array_info *ai = pgorm__array_info_of(t);
	uint64_t h = pgorm__hash_bytes(&a->len, sizeof a->len) ^ (a->items == NULL);
	if (a->items == NULL)
		return h;
	if (ai->elem != PGORM_TYPE_TEXT) {
		h ^= pgorm__hash_bytes(a->items, a->len * ai->elem_size);
	} else {
		for (size_t k = 0; k < a->len; k++) {
			const char *s = ((char *const *)a->items)[k];
			h = (h ^ (s ? pgorm__hash_bytes(s, strlen(s)) : 0x5bd1e995u)) * 0xc4ceb9fe1a85ec53ULL;
		}
	}
	if (a->nulls != NULL)
		h ^= pgorm__hash_bytes(a->nulls, a->len) * 31;
	return h;
}

uint64_t pgorm__col_word(const void *obj, const pgorm_column *c)
{
	const char *f = (const char *)obj + c->offset;
	uint64_t w = 0;
	switch (c->type) {
	case PGORM_TYPE_BOOL_ARRAY: case PGORM_TYPE_INT2_ARRAY: case PGORM_TYPE_INT4_ARRAY: case PGORM_TYPE_INT8_ARRAY:
	case PGORM_TYPE_FLOAT8_ARRAY: case PGORM_TYPE_TEXT_ARRAY: case PGORM_TYPE_UUID_ARRAY:
		return array_word((const pgorm_array *)(const void *)f, c->type);
	case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB:
	case PGORM_TYPE_ENUM: case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR: {
		const char *s;
		memcpy(&s, f, sizeof s);
		return s ? pgorm__hash_bytes(s, strlen(s)) : 0;
	}
	case PGORM_TYPE_BYTEA: {
		const pgorm_bytes *b = (const pgorm_bytes *)(const void *)f;
		return b->data ? pgorm__hash_bytes(b->data, b->len) : pgorm__hash_bytes("", 0) + 1;
	}
	case PGORM_TYPE_TIMETZ: { /* the members, not the padding after them */
		pgorm_timetz t;
		memcpy(&t, f, sizeof t);
		return pgorm__hash_bytes(&t.usecs, 8) ^ ((uint64_t)(uint32_t)t.utc_offset * 0x9E3779B97F4A7C15ULL);
	}
	case PGORM_TYPE_UUID: case PGORM_TYPE_INTERVAL: case PGORM_TYPE_INET: case PGORM_TYPE_CIDR:
	case PGORM_TYPE_CUSTOM:
		return c->size <= 8 ? (memcpy(&w, f, c->size), w) : pgorm__hash_bytes(f, c->size);
	default:
		memcpy(&w, f, c->size);
		return w;
	}
}

/* Whether pgorm__col_word of a zeroed field is something else than 0. */
static bool zero_word_nonzero(const pgorm_column *c)
{
	switch (c->type) {
	case PGORM_TYPE_BYTEA: case PGORM_TYPE_UUID: case PGORM_TYPE_INTERVAL: case PGORM_TYPE_TIMETZ:
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR: case PGORM_TYPE_CUSTOM:
		return true;
	default:
		return pgorm__array_info_of(c->type) != NULL;
	}
}

bool pgorm__col_is_ptr(const pgorm_column *c)
{
	switch (c->type) {
	case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB:
	case PGORM_TYPE_BYTEA: case PGORM_TYPE_ENUM: case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR:
		return true;
	default:
		return false;
	}
}

bool pgorm__col_null_ptr(const void *obj, const pgorm_column *c)
{
	if (!pgorm__col_is_ptr(c))
		return false;
	const void *p;
	memcpy(&p, (const char *)obj + c->offset, sizeof p); /* data is pgorm_bytes' first member */
	return p == NULL;
}

void pgorm__snapshot(void *obj, const pgorm__model_info *mi)
{
	pgorm__objstate *st = pgorm__st(obj);
	for (size_t i = 0; i < mi->ncols; i++)
		st->snap[i] = pgorm__col_word(obj, &mi->cols[i]);
	st->dirty = 0;
}

void pgorm__snapshot_zero(void *obj, const pgorm__model_info *mi)
{
	/* the words pgorm__col_word gives zeroed fields: 0, but for bytes and uuid */
	pgorm__objstate *st = pgorm__st(obj);
	memset(st->snap, 0, mi->ncols * sizeof st->snap[0]);
	for (size_t i = 0; i < mi->ncols; i++)
		if (zero_word_nonzero(&mi->cols[i]))
			st->snap[i] = pgorm__col_word(obj, &mi->cols[i]);
	st->dirty = 0;
}

void pgorm__observe(void *obj, const pgorm__model_info *mi)
{
	pgorm__objstate *st = pgorm__st(obj);
	for (size_t i = 0; i < mi->ncols; i++) {
		const pgorm_column *c = &mi->cols[i];
		uint64_t w = pgorm__col_word(obj, c);
		if (w == st->snap[i])
			continue;
		st->snap[i] = w;
		st->dirty |= 1ULL << i;
		if (pgorm__col_null_ptr(obj, c))
			st->nulls |= 1ULL << i;
		else
			st->nulls &= ~(1ULL << i);
	}
}

void pgorm__assign_col(void *obj, const pgorm__model_info *mi, size_t i, bool is_null)
{
	pgorm__objstate *st = pgorm__st(obj);
	if (is_null) /* the field reads as the loader leaves a NULL: zero bytes */
		memset(pgorm__field(obj, mi->cols[i].offset), 0, mi->cols[i].size);
	st->snap[i] = pgorm__col_word(obj, &mi->cols[i]);
	st->dirty |= 1ULL << i;
	if (is_null)
		st->nulls |= 1ULL << i;
	else
		st->nulls &= ~(1ULL << i);
}

void pgorm__unassign_col(void *obj, const pgorm__model_info *mi, size_t i)
{
	pgorm__objstate *st = pgorm__st(obj);
	memset(pgorm__field(obj, mi->cols[i].offset), 0, mi->cols[i].size);
	st->snap[i] = pgorm__col_word(obj, &mi->cols[i]);
	st->nulls |= 1ULL << i;
	st->dirty &= ~(1ULL << i);
}

void pgorm__fk_set_null(void *obj, const pgorm_rel *r)
{
	pgorm__objstate *st = pgorm__st(obj);
	for (size_t c = 0; c < r->nfk; c++) {
		st->nulls |= 1ULL << r->fk_cols[c];
		st->dirty |= 1ULL << r->fk_cols[c];
	}
}

uint64_t pgorm__dirty_cols(void *obj, const pgorm__model_info *mi)
{
	pgorm__observe(obj, mi);
	return pgorm__st(obj)->dirty;
}

/* ---- column values ---- */

void pgorm__get_col(const void *obj, const pgorm_column *c, size_t idx, pgorm_value *v)
{
	const char *f = (const char *)obj + c->offset;
	const pgorm__objstate *st = ((const pgorm_object *)obj)->priv;
	memset(v, 0, sizeof *v);
	v->type = c->type;
	if (st != NULL && (st->nulls >> idx) & 1) {
		v->is_null = true;
		return;
	}
	switch (c->type) {
	case PGORM_TYPE_BOOL: memcpy(&v->u.b, f, sizeof(bool)); break;
	case PGORM_TYPE_INT2: memcpy(&v->u.i16, f, 2); break;
	case PGORM_TYPE_INT4: case PGORM_TYPE_DATE: memcpy(&v->u.i32, f, 4); break;
	case PGORM_TYPE_INT8: case PGORM_TYPE_TIMESTAMP: case PGORM_TYPE_TIMESTAMPTZ: memcpy(&v->u.i64, f, 8); break;
	case PGORM_TYPE_FLOAT4: memcpy(&v->u.f4, f, 4); break;
	case PGORM_TYPE_FLOAT8: memcpy(&v->u.f8, f, 8); break;
	case PGORM_TYPE_UUID: memcpy(v->u.uuid, f, 16); break;
	case PGORM_TYPE_TIME: memcpy(&v->u.i64, f, 8); break;
	case PGORM_TYPE_INTERVAL: memcpy(&v->u.interval, f, sizeof v->u.interval); break;
	case PGORM_TYPE_TIMETZ: memcpy(&v->u.timetz, f, sizeof v->u.timetz); break;
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR: memcpy(&v->u.inet, f, sizeof v->u.inet); break;
	case PGORM_TYPE_CENUM: memcpy(&v->u.cenum.value, f, sizeof(int)); v->u.cenum.labels = c->labels; break;
	case PGORM_TYPE_CUSTOM: v->u.custom.type = c->custom; v->u.custom.ptr = f; break;
	case PGORM_TYPE_BOOL_ARRAY: case PGORM_TYPE_INT2_ARRAY: case PGORM_TYPE_INT4_ARRAY:
	case PGORM_TYPE_INT8_ARRAY: case PGORM_TYPE_FLOAT8_ARRAY: case PGORM_TYPE_TEXT_ARRAY:
	case PGORM_TYPE_UUID_ARRAY: {
		const pgorm_array *a = (const void *)f;
		pgorm__array_set(v, a->items, a->len, a->nulls);
		break;
	}
	case PGORM_TYPE_JSONB: { /* handed to libpq as it is: no copy of a large document */
		const char *s;
		memcpy(&s, f, sizeof s);
		v->is_null = s == NULL;
		v->flags = s ? PGORM_VALUE_BORROWED : 0;
		v->u.str.ptr = s;
		v->u.str.len = s ? strlen(s) : 0;
		break;
	}
	case PGORM_TYPE_BYTEA: {
		const pgorm_bytes *b = (const void *)f;
		v->is_null = b->data == NULL;
		v->u.str.ptr = (const char *)b->data;
		v->u.str.len = b->data ? b->len : 0;
		break;
	}
	default: {
		/* a NULL pointer is SQL NULL, never '' (a NOT NULL column then fails with 23502) */
		const char *s;
		memcpy(&s, f, sizeof s);
		v->is_null = s == NULL;
		v->u.str.ptr = s;
		v->u.str.len = s ? strlen(s) : 0;
	}
	}
}

static void *arena_alloc(void *ctx, size_t n)
{
	return ctx ? pgorm__arena_alloc(ctx, n ? n : 1) : NULL;
}

/* An array value into a pgorm_array field: copied into arena (strings too), or borrowed. */
static int set_array(pgorm__arena *arena, char *f, pgorm_type t, const pgorm_value *v)
{
	const pgorm__array_info *ai = pgorm__array_info_of(t);
	const void *items;
	const bool *nulls;
	pgorm_array a = { NULL, 0, NULL };
	pgorm__array_parts(v, &items, &a.len, &nulls);
	if (arena == NULL) {
		a.items = (void *)(uintptr_t)items;
		a.nulls = (bool *)(uintptr_t)nulls;
	} else if (items != NULL) {
		if (a.len > SIZE_MAX / ai->elem_size)
			return PGORM_ENOMEM;
		a.items = pgorm__arena_alloc(arena, a.len * ai->elem_size + 1);
		if (a.items == NULL || (nulls && (a.nulls = pgorm__arena_alloc(arena, a.len + 1)) == NULL))
			return PGORM_ENOMEM;
		memcpy(a.items, items, a.len * ai->elem_size);
		if (nulls)
			memcpy(a.nulls, nulls, a.len);
		for (size_t k = 0; ai->elem == PGORM_TYPE_TEXT && k < a.len; k++) {
			char **slot = (char **)a.items + k;
			if (*slot != NULL && (*slot = pgorm__arena_strndup(arena, *slot, strlen(*slot))) == NULL)
				return PGORM_ENOMEM;
		}
	}
	memcpy(f, &a, sizeof a);
	return 0;
}

int pgorm__set_col_err(pgorm__arena *arena, void *obj, const pgorm_column *c, const pgorm_value *v, pgorm_error *e)
{
	int rc = pgorm__set_col(arena, obj, c, 0, v);
	if (rc == PGORM_ENOMEM)
		return pgorm__error_set(e, rc, "out of memory");
	if (rc == 0)
		return 0;
	if (c->type == PGORM_TYPE_CENUM && v->type == PGORM_TYPE_ENUM)
		return pgorm__error_set(e, rc, "the label \"%.*s\" is not in the column's enum label table", 
		                        (int)(v->u.str.len > 63 ? 63 : v->u.str.len), v->u.str.ptr);
	if (c->type == PGORM_TYPE_CUSTOM)
		return pgorm__error_set(e, rc, "the %s recv function refused the value (%zu bytes)",
		                        c->custom->name ? c->custom->name : "custom", v->u.custom.len);
	return pgorm__error_set(e, rc, "a %s value for a %s column", pgorm_type_name(v->type), pgorm_type_name(c->type));
}

int pgorm__set_col(pgorm__arena *arena, void *obj, const pgorm_column *c, size_t idx, const pgorm_value *v)
{
	char *f = pgorm__field(obj, c->offset);
	(void)idx;
	bool is_int = pgorm__is_int_type(v->type);
	int64_t iv = pgorm__value_int(v);
	switch (c->type) {
	case PGORM_TYPE_INT2: case PGORM_TYPE_INT4: case PGORM_TYPE_INT8:
		if (!is_int)
			return PGORM_ETYPE;
		if (c->type == PGORM_TYPE_INT2) { int16_t x = (int16_t)iv; memcpy(f, &x, 2); }
		else if (c->type == PGORM_TYPE_INT4) { int32_t x = (int32_t)iv; memcpy(f, &x, 4); }
		else memcpy(f, &iv, 8);
		return 0;
	default:
		break;
	}
	if (c->type == PGORM_TYPE_CENUM && v->type == PGORM_TYPE_ENUM) { /* a label read from the server */
		for (int k = 0; c->labels && c->labels[k]; k++)
			if (strlen(c->labels[k]) == v->u.str.len && memcmp(c->labels[k], v->u.str.ptr, v->u.str.len) == 0) {
				memcpy(f, &k, sizeof k);
				return 0;
			}
		return PGORM_ETYPE;
	}
	if (v->type != c->type)
		return PGORM_ETYPE;
	if (pgorm__array_info_of(c->type) != NULL)
		return set_array(arena, f, c->type, v);
	switch (c->type) {
	case PGORM_TYPE_CENUM: memcpy(f, &v->u.cenum.value, sizeof(int)); return 0;
	case PGORM_TYPE_TIME: memcpy(f, &v->u.i64, 8); return 0;
	case PGORM_TYPE_INTERVAL: memcpy(f, &v->u.interval, sizeof v->u.interval); return 0;
	case PGORM_TYPE_TIMETZ: memcpy(f, &v->u.timetz, sizeof v->u.timetz); return 0;
	case PGORM_TYPE_INET: case PGORM_TYPE_CIDR: memcpy(f, &v->u.inet, sizeof v->u.inet); return 0;
	case PGORM_TYPE_CUSTOM:
		if (v->u.custom.type != NULL) { /* a C value */
			if (f != v->u.custom.ptr)
				memcpy(f, v->u.custom.ptr, c->size);
			return 0;
		}
		/* the server's bytes: the registered recv reads them */
		return c->custom->recv((const unsigned char *)v->u.custom.ptr, v->u.custom.len, f, arena_alloc,
		                       arena) == 0 ? 0 : PGORM_ETYPE;
	case PGORM_TYPE_BOOL: memcpy(f, &v->u.b, sizeof(bool)); return 0;
	case PGORM_TYPE_DATE: memcpy(f, &v->u.date, 4); return 0;
	case PGORM_TYPE_TIMESTAMP: case PGORM_TYPE_TIMESTAMPTZ: memcpy(f, &v->u.i64, 8); return 0;
	case PGORM_TYPE_FLOAT4: memcpy(f, &v->u.f4, 4); return 0;
	case PGORM_TYPE_FLOAT8: memcpy(f, &v->u.f8, 8); return 0;
	case PGORM_TYPE_UUID: memcpy(f, v->u.uuid, 16); return 0;
	case PGORM_TYPE_BYTEA: {
		pgorm_bytes b = { NULL, v->u.str.len };
		if (arena == NULL) {
			b.data = (uint8_t *)(uintptr_t)v->u.str.ptr;
		} else {
			b.data = pgorm__arena_alloc(arena, v->u.str.len ? v->u.str.len : 1);
			if (b.data == NULL)
				return PGORM_ENOMEM;
			if (v->u.str.len)
				memcpy(b.data, v->u.str.ptr, v->u.str.len);
		}
		memcpy(f, &b, sizeof b);
		return 0;
	}
	default: {
		const char *str = v->u.str.ptr;
		if (arena != NULL) {
			str = pgorm__arena_strndup(arena, v->u.str.ptr ? v->u.str.ptr : "", v->u.str.len);
			if (str == NULL)
				return PGORM_ENOMEM;
		}
		memcpy(f, &str, sizeof str);
		return 0;
	}
	}
}

bool pgorm__value_equal(const pgorm_value *a, const pgorm_value *b)
{
	if (a->is_null || b->is_null)
		return false;
	if (pgorm__is_int_type(a->type) && pgorm__is_int_type(b->type))
		return pgorm__value_int(a) == pgorm__value_int(b);
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB: case PGORM_TYPE_BYTEA:
	case PGORM_TYPE_ENUM: case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR:
		return a->u.str.len == b->u.str.len && (a->u.str.len == 0 || memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0);
	case PGORM_TYPE_UUID:
		return memcmp(a->u.uuid, b->u.uuid, sizeof a->u.uuid) == 0;
	default:
		return memcmp(&a->u, &b->u, sizeof a->u) == 0;
	}
}

void pgorm__pk_values(const void *obj, const pgorm__model_info *mi, pgorm_value *pk)
{
	for (size_t i = 0; i < mi->npk; i++)
		pgorm__get_col(obj, &mi->cols[mi->pk[i]], mi->pk[i], &pk[i]);
}

/* ---- key arrays ---- */

bool pgorm__keyarray_supports(pgorm_type t)
{
	return t == PGORM_TYPE_INT2 || t == PGORM_TYPE_INT4 || t == PGORM_TYPE_INT8 || pgorm__is_text_type(t) ||
	       t == PGORM_TYPE_UUID;
}

void pgorm__keyarray_free(pgorm__keyarray *k)
{
	if (k->ints != &k->one)
		pgorm__free(k->ints);
	pgorm__free((void *)k->strs);
	pgorm__free(k->text);
	memset(k, 0, sizeof *k);
}

static void uuid_text(char *out, const uint8_t *u)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0, j = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[u[i] >> 4];
		out[j++] = hex[u[i] & 15];
	}
	out[36] = '\0';
}

int pgorm__keyarray_build(pgorm__keyarray *k, const pgorm_column *col, size_t idx, void *const *objs, size_t n)
{
	memset(k, 0, sizeof *k);
	if (!pgorm__keyarray_supports(col->type))
		return PGORM_EUNSUPPORTED;
	bool ints = pgorm__is_int_type(col->type);
	if (ints)
		k->ints = n <= 1 ? &k->one : pgorm__calloc(n, sizeof *k->ints);
	else
		k->strs = pgorm__calloc(n ? n : 1, sizeof *k->strs);
	if (col->type == PGORM_TYPE_UUID)
		k->text = pgorm__calloc(n ? n : 1, 37);
	if ((ints && k->ints == NULL) || (!ints && k->strs == NULL) || (col->type == PGORM_TYPE_UUID && k->text == NULL)) {
		pgorm__keyarray_free(k);
		return PGORM_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		pgorm_value v;
		pgorm__get_col(objs[i], col, idx, &v);
		if (ints) {
			k->ints[i] = pgorm__value_int(&v);
		} else if (pgorm__is_text_type(col->type)) {
			k->strs[i] = v.u.str.ptr;
		} else {
			uuid_text(k->text + 37 * i, v.u.uuid);
			k->strs[i] = k->text + 37 * i;
		}
	}
	k->n = n;
	k->param = ints ? PGORM_INT8_ARRAY(k->ints, n) : PGORM_TEXT_ARRAY(k->strs, n);
	k->cast = ints ? "::int8[]" : pgorm__is_text_type(col->type) ? "::text[]" : "::text[]::uuid[]";
	return 0;
}
