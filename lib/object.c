/* lib/object.c — snapshots and dirty detection. */
#include "object.h"
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

uint64_t pgorm__hash_bytes(const void *p, size_t n)
{
	/* Eight bytes per step with a multiply-xorshift mix: a collision would hide one change
	 * to one column, with odds around 2^-64 for unrelated values. */
	const unsigned char *b = p;
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
		b += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, b, n);
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

uint64_t pgorm__col_word(const void *obj, const pgorm_column *c)
{
	const char *f = (const char *)obj + c->offset;
	uint64_t w = 0;
	switch (c->type) {
	case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB: {
		const char *s;
		memcpy(&s, f, sizeof s);
		return s ? pgorm__hash_bytes(s, strlen(s)) : 0;
	}
	case PGORM_TYPE_BYTEA: {
		const pgorm_bytes *b = (const pgorm_bytes *)(const void *)f;
		return b->data ? pgorm__hash_bytes(b->data, b->len) : pgorm__hash_bytes("", 0) + 1;
	}
	case PGORM_TYPE_UUID:
		return pgorm__hash_bytes(f, 16);
	default:
		memcpy(&w, f, c->size);
		return w;
	}
}

bool pgorm__col_is_ptr(const pgorm_column *c)
{
	switch (c->type) {
	case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB:
	case PGORM_TYPE_BYTEA:
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
		if (mi->cols[i].type == PGORM_TYPE_BYTEA || mi->cols[i].type == PGORM_TYPE_UUID)
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
	if (v->type != c->type)
		return PGORM_ETYPE;
	switch (c->type) {
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
	return t == PGORM_TYPE_INT2 || t == PGORM_TYPE_INT4 || t == PGORM_TYPE_INT8 || t == PGORM_TYPE_TEXT ||
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
	bool ints = col->type != PGORM_TYPE_TEXT && col->type != PGORM_TYPE_UUID;
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
		} else if (col->type == PGORM_TYPE_TEXT) {
			k->strs[i] = v.u.str.ptr;
		} else {
			uuid_text(k->text + 37 * i, v.u.uuid);
			k->strs[i] = k->text + 37 * i;
		}
	}
	k->n = n;
	k->param = ints ? PGORM_INT8_ARRAY(k->ints, n) : PGORM_TEXT_ARRAY(k->strs, n);
	k->cast = ints ? "::int8[]" : col->type == PGORM_TYPE_TEXT ? "::text[]" : "::text[]::uuid[]";
	return 0;
}
