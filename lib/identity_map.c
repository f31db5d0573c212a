/* lib/identity_map.c — one object per (model, primary key): linear probing over object
 * pointers, backward-shift deletion, keys read from the objects themselves. */
#include "internal.h"
#include "session.h"

#include <string.h>

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t key_hash(const pgorm__model_info *mi, const void *obj)
{
	uint64_t h = mi->index + 1;
	for (size_t i = 0; i < mi->npk; i++)
		h = mix(h ^ pgorm__col_word(obj, &mi->cols[mi->pk[i]]));
	return h;
}

bool pgorm__pk_equal(const pgorm__model_info *mi, const void *a, const void *b)
{
	for (size_t i = 0; i < mi->npk; i++) {
		const pgorm_column *c = &mi->cols[mi->pk[i]];
		const char *fa = (const char *)a + c->offset, *fb = (const char *)b + c->offset;
		switch (c->type) {
		case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB: {
			const char *sa, *sb;
			memcpy(&sa, fa, sizeof sa);
			memcpy(&sb, fb, sizeof sb);
			if (sa == NULL || sb == NULL ? sa != sb : strcmp(sa, sb) != 0)
				return false;
			break;
		}
		case PGORM_TYPE_BYTEA: {
			const pgorm_bytes *ba = (const void *)fa, *bb = (const void *)fb;
			if (ba->len != bb->len || (ba->len && memcmp(ba->data, bb->data, ba->len) != 0))
				return false;
			break;
		}
		default:
			if (memcmp(fa, fb, c->size) != 0)
				return false;
		}
	}
	return true;
}

int pgorm__imap_init(pgorm__imap *m)
{
	m->cap = 1024;
	m->count = 0;
	m->slots = pgorm__calloc(m->cap, sizeof *m->slots);
	return m->slots ? 0 : PGORM_ENOMEM;
}

void pgorm__imap_finish(pgorm__imap *m)
{
	pgorm__free(m->slots);
	memset(m, 0, sizeof *m);
}

/* Slots keep the key's hash next to the object, so a probe touches an object only when the
 * hashes match, and growing never reads an object. */
static void insert_slot(pgorm__imap *m, uint64_t h, void *obj)
{
	size_t mask = m->cap - 1;
	size_t i = h & mask;
	while (m->slots[i].obj != NULL)
		i = (i + 1) & mask;
	m->slots[i].hash = h;
	m->slots[i].obj = obj;
	m->count++;
}

static int grow(pgorm__imap *m, size_t need)
{
	size_t ncap = m->cap;
	while (need * 4 > ncap * 3) /* load factor 0.75 */
		ncap *= 2;
	if (ncap == m->cap)
		return 0;
	pgorm__imap_slot *old = m->slots, *ns = pgorm__calloc(ncap, sizeof *ns);
	if (ns == NULL)
		return PGORM_ENOMEM;
	size_t ocap = m->cap;
	m->slots = ns;
	m->cap = ncap;
	m->count = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].obj != NULL)
			insert_slot(m, old[i].hash, old[i].obj);
	pgorm__free(old);
	return 0;
}

int pgorm__imap_reserve(pgorm__imap *m, size_t more) { return grow(m, m->count + more); }

void *pgorm__imap_find(const pgorm__imap *m, const pgorm__model_info *mi, const void *probe)
{
	uint64_t h = key_hash(mi, probe);
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const pgorm__imap_slot *sl = &m->slots[i];
		if (sl->obj == NULL)
			return NULL;
		if (sl->hash == h && ((const pgorm_object *)sl->obj)->model == mi->model && pgorm__pk_equal(mi, sl->obj, probe))
			return sl->obj;
	}
}

int pgorm__imap_put(pgorm__imap *m, const pgorm__model_info *mi, void *obj)
{
	if (grow(m, m->count + 1) != 0)
		return PGORM_ENOMEM;
	insert_slot(m, key_hash(mi, obj), obj);
	pgorm__st(obj)->flags |= OBJ_IN_MAP;
	return 0;
}

void pgorm__imap_del(pgorm__imap *m, const pgorm__model_info *mi, void *obj)
{
	if (!(pgorm__st(obj)->flags & OBJ_IN_MAP))
		return;
	size_t mask = m->cap - 1;
	size_t i = key_hash(mi, obj) & mask;
	while (m->slots[i].obj != obj) {
		if (m->slots[i].obj == NULL)
			return;
		i = (i + 1) & mask;
	}
	/* backward-shift deletion keeps probe chains intact without tombstones */
	size_t j = i;
	for (;;) {
		m->slots[i].obj = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (m->slots[j].obj == NULL) {
				m->count--;
				pgorm__st(obj)->flags &= (uint8_t)~OBJ_IN_MAP;
				return;
			}
			size_t home = m->slots[j].hash & mask;
			/* can slot j move to i? only if its home is not in (i, j] cyclically */
			if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j)))
				break;
		}
		m->slots[i] = m->slots[j];
		i = j;
	}
}
