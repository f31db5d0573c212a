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
	int doom;                                  /* PGORM__STMT_KEEP / _DROP / _RETIRE (sweep) */
	char name[40];
	size_t nparams;
	unsigned *oids;
	char *sql;
} pgorm__stmt_entry;

/* Marks set while a pipeline's results are read, applied by pgorm__stmt_cache_sweep. */
enum { PGORM__STMT_KEEP = 0, PGORM__STMT_DROP = 1, PGORM__STMT_RETIRE = 2 };

typedef char pgorm__stmt_name[40];

typedef struct pgorm__stmt_cache {
	pgorm__stmt_entry **buckets;
	size_t nbuckets, count, cap;
	pgorm__stmt_entry *head, *tail;
	uint64_t seq;
	/* Retired statements: gone from the cache but still prepared on the server, waiting for
	 * a DEALLOCATE at the next moment one can run (not inside an aborted transaction). */
	pgorm__stmt_name *garbage;
	size_t ngarbage, garbage_cap;
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
/* Unlink and free an entry (it is not prepared on the server, or its DEALLOCATE is done). */
void pgorm__stmt_cache_remove(pgorm__stmt_cache *c, pgorm__stmt_entry *e);
/* Unlink and free an entry that is still prepared on the server: its name goes to the garbage
 * list. Without memory for the list the name is forgotten (the server keeps the statement). */
void pgorm__stmt_cache_retire(pgorm__stmt_cache *c, pgorm__stmt_entry *e);
/* Queue a statement name for DEALLOCATE; PGORM_ENOMEM (the name is then forgotten). */
int pgorm__stmt_cache_garbage_push(pgorm__stmt_cache *c, const char *name);
/* Remove (DROP) or retire (RETIRE) every entry marked with doom. */
void pgorm__stmt_cache_sweep(pgorm__stmt_cache *c);
/* Forget every entry and the garbage list (after DISCARD ALL: nothing is left on the server). */
void pgorm__stmt_cache_clear(pgorm__stmt_cache *c);

#endif
