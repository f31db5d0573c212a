/* lib/stmt_cache.h — per-connection cache of named prepared statements, LRU-bounded.
 * Keys are (SQL text, parameter type OIDs); names are derived from a hash of the key plus a
 * per-connection sequence number, so a name is never reused for different SQL. */
#ifndef PGORM_STMT_CACHE_H
#define PGORM_STMT_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgorm__stmt_entry {
	struct pgorm__stmt_entry *hnext;           /* hash chain */
	struct pgorm__stmt_entry *prev, *next;     /* LRU list, head = most recent */
	uint64_t hash;
	uint64_t pin;                              /* batch epoch that uses it: not evictable */
	char name[40];
	size_t nparams;
	unsigned *oids;
	char *sql;
} pgorm__stmt_entry;

typedef struct pgorm__stmt_cache {
	pgorm__stmt_entry **buckets;
	size_t nbuckets, count, cap;
	pgorm__stmt_entry *head, *tail;
	uint64_t seq;
} pgorm__stmt_cache;

int pgorm__stmt_cache_init(pgorm__stmt_cache *c, size_t cap);
void pgorm__stmt_cache_finish(pgorm__stmt_cache *c);
/* Lookup; a hit moves the entry to the LRU head. */
pgorm__stmt_entry *pgorm__stmt_cache_find(pgorm__stmt_cache *c, const char *sql, size_t n,
                                          const unsigned *oids);
/* Insert a new entry (caller checked it is absent); NULL on out of memory. May exceed cap:
 * the caller evicts with pgorm__stmt_cache_victim first. */
pgorm__stmt_entry *pgorm__stmt_cache_insert(pgorm__stmt_cache *c, const char *sql, size_t n,
                                            const unsigned *oids);
/* Least recently used entry not pinned with epoch, or NULL. */
pgorm__stmt_entry *pgorm__stmt_cache_victim(pgorm__stmt_cache *c, uint64_t epoch);
/* Unlink and free an entry. */
void pgorm__stmt_cache_remove(pgorm__stmt_cache *c, pgorm__stmt_entry *e);
void pgorm__stmt_cache_clear(pgorm__stmt_cache *c);

#endif
