/* lib/identity_map.h — (model, primary key) → object, one per session. Model facts come
 * from the registry; the map holds no object memory (the session's arena does). */
#ifndef PGORM_IDENTITY_MAP_H
#define PGORM_IDENTITY_MAP_H

#include "object.h"
#include "registry.h"

#include <string.h>

/* Identity map: open addressing over object pointers, keyed by (model, primary key). */
typedef struct pgorm__imap {
	uint64_t *slots;              /* tagged object pointers, 0 = empty (identity_map.c) */
	size_t cap, count;
	bool tagged;
	const pgorm_registry *reg;    /* model facts when an object is rehashed */
} pgorm__imap;

/* An empty map for objects of reg's models. Errors: PGORM_ENOMEM. */
int pgorm__imap_init(pgorm__imap *m, const pgorm_registry *reg);
void pgorm__imap_finish(pgorm__imap *m);
void *pgorm__imap_find(const pgorm__imap *m, const pgorm__model_info *mi, const void *probe);
int pgorm__imap_put(pgorm__imap *m, const pgorm__model_info *mi, void *obj);
/* The same, with the hash pgorm__imap_find_h gave for the same key (no second hashing). */
void *pgorm__imap_find_h(const pgorm__imap *m, const pgorm__model_info *mi, const void *probe, uint64_t *hash);
int pgorm__imap_put_h(pgorm__imap *m, void *obj, uint64_t hash);
/* The map's hash finaliser (murmur3's fmix64). */
static inline uint64_t pgorm__imap_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}
/* Start fetching the slot of a single int8 key (the loader does it one row ahead); returns
 * the key's hash (the one the map computes for that key) for pgorm__imap_find_int and
 * pgorm__imap_put_h. */
static inline uint64_t pgorm__imap_prefetch_int(const pgorm__imap *m, const pgorm__model_info *mi, int64_t key)
{
	uint64_t h = pgorm__imap_mix((mi->index + 1) ^ (uint64_t)key);
	__builtin_prefetch(&m->slots[h & (m->cap - 1)]);
	return h;
}

/* A slot is one word: the object pointer with the top 16 bits of the key's hash in the
 * pointer's unused top 16 bits (user-space pointers fit in 48 bits on x86-64 and arm64), so
 * a probe reads an object only when the tags match. Should a pointer ever use those bits,
 * the map drops tags for good and compares keys instead. */
#define PGORM__IMAP_TAG_SHIFT 48
#define PGORM__IMAP_PTR_MASK ((UINT64_C(1) << PGORM__IMAP_TAG_SHIFT) - 1)

/* pgorm__imap_find_h for a model with a single int8 key at offset keyoff, with the hash the
 * prefetch gave: the key is compared as an integer (no probe object, no per-type compare).
 * On a miss, *at is the empty slot where pgorm__imap_put_at can put the key's object, as long
 * as nothing is put in between. Inline: the load loop's probe. */
static inline void *pgorm__imap_find_int_at(const pgorm__imap *m, const pgorm__model_info *mi, size_t keyoff,
                                            int64_t key, uint64_t h, size_t *at)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint64_t sl = m->slots[i];
		if (sl == 0) {
			*at = i;
			return NULL;
		}
		if (m->tagged && (sl >> PGORM__IMAP_TAG_SHIFT) != (h >> PGORM__IMAP_TAG_SHIFT))
			continue;
		const char *o = (const char *)(uintptr_t)(m->tagged ? (sl & PGORM__IMAP_PTR_MASK) : sl);
		int64_t k;
		memcpy(&k, o + keyoff, sizeof k);
		if (k == key && ((const pgorm_object *)(const void *)o)->model == mi->model)
			return (void *)(uintptr_t)o;
	}
}
static inline void *pgorm__imap_find_int(const pgorm__imap *m, const pgorm__model_info *mi, int64_t key, uint64_t h)
{
	size_t at;
	return pgorm__imap_find_int_at(m, mi, mi->cols[mi->pk[0]].offset, key, h, &at);
}
/* Put obj (not in the map; its key hashes to h) into slot at, which pgorm__imap_find_int_at
 * just found empty for its key (falls back to pgorm__imap_put_h when the map must grow or
 * drop its tags, or when the slot was taken since after all). Errors: PGORM_ENOMEM. */
static inline int pgorm__imap_put_at(pgorm__imap *m, void *obj, uint64_t h, size_t at)
{
	uint64_t p = (uint64_t)(uintptr_t)obj;
	if (!m->tagged || (p >> PGORM__IMAP_TAG_SHIFT) != 0 || (m->count + 1) * 5 > m->cap * 4 ||
	    m->slots[at] != 0)
		return pgorm__imap_put_h(m, obj, h);
	m->slots[at] = p | (h >> PGORM__IMAP_TAG_SHIFT << PGORM__IMAP_TAG_SHIFT);
	m->count++;
	pgorm__st(obj)->flags |= OBJ_IN_MAP;
	return 0;
}
/* Make room for `more` insertions without rehashing in between. */
int pgorm__imap_reserve(pgorm__imap *m, size_t more);
void pgorm__imap_del(pgorm__imap *m, const pgorm__model_info *mi, void *obj);
/* True when two objects of model mi have the same primary key values. */
bool pgorm__pk_equal(const pgorm__model_info *mi, const void *a, const void *b);

#endif
