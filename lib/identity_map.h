/* lib/identity_map.h — (model, primary key) → object, one per session. Model facts come
 * from the registry; the map holds no object memory (the session's arena does). */
#ifndef PGORM_IDENTITY_MAP_H
#define PGORM_IDENTITY_MAP_H

#include "object.h"
#include "registry.h"

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
/* Start fetching the slot of a single int8 key (the loader does it one row ahead); returns
 * the key's hash for pgorm__imap_find_int and pgorm__imap_put_h. */
uint64_t pgorm__imap_prefetch_int(const pgorm__imap *m, const pgorm__model_info *mi, int64_t key);
/* pgorm__imap_find_h for a model with a single int8 key, with the hash the prefetch gave: the
 * key is compared as an integer (the load loop's probe; no probe object, no per-type compare). */
void *pgorm__imap_find_int(const pgorm__imap *m, const pgorm__model_info *mi, int64_t key, uint64_t hash);
/* Make room for `more` insertions without rehashing in between. */
int pgorm__imap_reserve(pgorm__imap *m, size_t more);
void pgorm__imap_del(pgorm__imap *m, const pgorm__model_info *mi, void *obj);
/* True when two objects of model mi have the same primary key values. */
bool pgorm__pk_equal(const pgorm__model_info *mi, const void *a, const void *b);

#endif
