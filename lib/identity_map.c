/* lib/identity_map.c — one object per (model, primary key): linear probing over object
 * pointers, backward-shift deletion, keys read from the objects themselves. */
#include "internal.h"
#include "identity_map.h"

#include <string.h>

static uint64_t key_hash(const pgorm__model_info *mi, const void *obj)
{
	uint64_t h = mi->index + 1;
	const pgorm_column *c0 = &mi->cols[mi->pk[0]];
	if (mi->npk == 1 && c0->type == PGORM_TYPE_INT8) { /* pgorm__col_word of an int8: its value */
		uint64_t k;
		memcpy(&k, (const char *)obj + c0->offset, sizeof k);
		return pgorm__imap_mix(h ^ k);
	}
	for (size_t i = 0; i < mi->npk; i++)
		h = pgorm__imap_mix(h ^ pgorm__col_word(obj, &mi->cols[mi->pk[i]]));
	return h;
}

bool pgorm__pk_equal(const pgorm__model_info *mi, const void *a, const void *b)
{
	for (size_t i = 0; i < mi->npk; i++) {
		const pgorm_column *c = &mi->cols[mi->pk[i]];
		const char *fa = (const char *)a + c->offset, *fb = (const char *)b + c->offset;
		switch (c->type) {
		case PGORM_TYPE_TEXT: case PGORM_TYPE_NUMERIC: case PGORM_TYPE_JSON: case PGORM_TYPE_JSONB:
		case PGORM_TYPE_VARCHAR: case PGORM_TYPE_CHAR: {
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

int pgorm__imap_init(pgorm__imap *m, const pgorm_registry *reg)
{
	m->cap = 1024;
	m->count = 0;
	m->tagged = true;
	m->reg = reg;
	m->slots = pgorm__calloc(m->cap, sizeof *m->slots);
	return m->slots ? 0 : PGORM_ENOMEM;
}

void pgorm__imap_finish(pgorm__imap *m)
{
	pgorm__free(m->slots);
	memset(m, 0, sizeof *m);
}

#define TAG_SHIFT PGORM__IMAP_TAG_SHIFT
#define PTR_MASK PGORM__IMAP_PTR_MASK

static inline void *slot_obj(const pgorm__imap *m, uint64_t sl)
{
	return (void *)(uintptr_t)(m->tagged ? (sl & PTR_MASK) : sl);
}

static inline uint64_t make_slot(const pgorm__imap *m, void *obj, uint64_t h)
{
	uint64_t p = (uint64_t)(uintptr_t)obj;
	return m->tagged ? (p | (h >> TAG_SHIFT << TAG_SHIFT)) : p;
}

static inline bool tag_match(const pgorm__imap *m, uint64_t sl, uint64_t h)
{
	return !m->tagged || (sl >> TAG_SHIFT) == (h >> TAG_SHIFT);
}

static uint64_t obj_hash(const pgorm__imap *m, void *obj)
{
	const pgorm_object *o = obj;
	return key_hash(pgorm__registry_info(m->reg, o->model), obj);
}

static void insert_slot(pgorm__imap *m, uint64_t h, void *obj)
{
	size_t mask = m->cap - 1;
	size_t i = h & mask;
	while (m->slots[i] != 0)
		i = (i + 1) & mask;
	m->slots[i] = make_slot(m, obj, h);
	m->count++;
}

/* Rehash every object into ncap slots; the old slots were written with tags when was_tagged
 * (the new ones use m->tagged). */
static int rebuild_from(pgorm__imap *m, size_t ncap, bool was_tagged)
{
	uint64_t *old = m->slots, *ns = pgorm__calloc(ncap, sizeof *ns);
	if (ns == NULL)
		return PGORM_ENOMEM;
	size_t ocap = m->cap;
	m->slots = ns;
	m->cap = ncap;
	m->count = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i] == 0)
			continue;
		void *o = (void *)(uintptr_t)(was_tagged ? (old[i] & PTR_MASK) : old[i]);
		insert_slot(m, obj_hash(m, o), o);
	}
	pgorm__free(old);
	return 0;
}

static int rebuild(pgorm__imap *m, size_t ncap) { return rebuild_from(m, ncap, m->tagged); }

static int grow(pgorm__imap *m, size_t need)
{
	size_t ncap = m->cap;
	while (need * 5 > ncap * 4) /* load factor 0.8: tags keep long probes cheap */
		ncap *= 2;
	return ncap == m->cap ? 0 : rebuild(m, ncap);
}

int pgorm__imap_reserve(pgorm__imap *m, size_t more) { return grow(m, m->count + more); }

void *pgorm__imap_find(const pgorm__imap *m, const pgorm__model_info *mi, const void *probe)
{
	uint64_t h;
	return pgorm__imap_find_h(m, mi, probe, &h);
}

void *pgorm__imap_find_h(const pgorm__imap *m, const pgorm__model_info *mi, const void *probe, uint64_t *hash)
{
	uint64_t h = *hash = key_hash(mi, probe);
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint64_t sl = m->slots[i];
		if (sl == 0)
			return NULL;
		if (!tag_match(m, sl, h))
			continue;
		void *o = slot_obj(m, sl);
		if (((const pgorm_object *)o)->model == mi->model && pgorm__pk_equal(mi, o, probe))
			return o;
	}
}

int pgorm__imap_put(pgorm__imap *m, const pgorm__model_info *mi, void *obj)
{
	if (m->tagged && ((uint64_t)(uintptr_t)obj >> TAG_SHIFT) != 0) {
		m->tagged = false; /* a pointer above 2^48: keys are compared from now on */
		if (rebuild_from(m, m->cap, true) != 0) {
			m->tagged = true;
			return PGORM_ENOMEM;
		}
	}
	if (grow(m, m->count + 1) != 0)
		return PGORM_ENOMEM;
	insert_slot(m, key_hash(mi, obj), obj);
	pgorm__st(obj)->flags |= OBJ_IN_MAP;
	return 0;
}

int pgorm__imap_put_h(pgorm__imap *m, void *obj, uint64_t hash)
{
	if ((m->tagged && ((uint64_t)(uintptr_t)obj >> TAG_SHIFT) != 0) || (m->count + 1) * 5 > m->cap * 4)
		return pgorm__imap_put(m, pgorm__registry_info(m->reg, ((pgorm_object *)obj)->model), obj);
	insert_slot(m, hash, obj);
	pgorm__st(obj)->flags |= OBJ_IN_MAP;
	return 0;
}

void pgorm__imap_del(pgorm__imap *m, const pgorm__model_info *mi, void *obj)
{
	if (!(pgorm__st(obj)->flags & OBJ_IN_MAP))
		return;
	size_t mask = m->cap - 1;
	size_t i = key_hash(mi, obj) & mask;
	while (slot_obj(m, m->slots[i]) != obj) {
		if (m->slots[i] == 0)
			return;
		i = (i + 1) & mask;
	}
	/* backward-shift deletion keeps probe chains intact without tombstones */
	size_t j = i;
	for (;;) {
		m->slots[i] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (m->slots[j] == 0) {
				m->count--;
				pgorm__st(obj)->flags &= (uint8_t)~OBJ_IN_MAP;
				return;
			}
			size_t home = obj_hash(m, slot_obj(m, m->slots[j])) & mask;
			/* can slot j move to i? only if its home is not in (i, j] cyclically */
			if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j)))
				break;
		}
		m->slots[i] = m->slots[j];
		i = j;
	}
}
