/* lib/object.c — snapshots and dirty detection. */
#include "object.h"
#include "internal.h"

#include <string.h>

bool pgorm__objlist_push(pgorm__objlist *l, void *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void **items = pgorm__reallocarray(l->items, cap, sizeof *items);
		if (items == NULL)
			return false;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = o;
	return true;
}

size_t pgorm__objstate_size(const pgorm__model_info *mi)
{
	return sizeof(pgorm__objstate) + mi->ncols * sizeof(uint64_t) + mi->nslots * sizeof(pgorm_collection);
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
