/* lib/object.c — snapshots and dirty detection. */
#include "object.h"
#include "internal.h"

#include <string.h>

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

void pgorm__snapshot(void *obj, const pgorm__model_info *mi)
{
	pgorm__objstate *st = pgorm__st(obj);
	for (size_t i = 0; i < mi->ncols; i++)
		st->snap[i] = pgorm__col_word(obj, &mi->cols[i]);
	st->snap_nulls = st->nulls;
}

uint64_t pgorm__dirty_cols(const void *obj, const pgorm__model_info *mi)
{
	const pgorm__objstate *st = pgorm__st(obj);
	uint64_t d = st->nulls ^ st->snap_nulls;
	for (size_t i = 0; i < mi->ncols; i++) {
		if (st->nulls & (1ULL << i))
			continue; /* NULL now: only the NULL bit matters */
		if (st->snap[i] != pgorm__col_word(obj, &mi->cols[i]))
			d |= 1ULL << i;
	}
	return d;
}
