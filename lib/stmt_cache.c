/* lib/stmt_cache.c — hash table + LRU list of prepared statements. */
#include "stmt_cache.h"
#include "hash.h"
#include "internal.h"
#include "pgorm/exec.h"

#include <stdio.h>
#include <string.h>

/* The SQL text a word at a time (a flush's INSERT batches are ~30 KB each), then the OIDs. */
static uint64_t key_hash(const char *sql, size_t n, const unsigned *oids)
{
	uint64_t h = pgorm__hash_bytes(sql, strlen(sql));
	return n ? pgorm__hash_step(h, pgorm__hash_bytes(oids, n * sizeof *oids)) : h;
}

int pgorm__stmt_cache_init(pgorm__stmt_cache *c, size_t cap)
{
	memset(c, 0, sizeof *c);
	if (cap > PGORM_STMT_CACHE_MAX)
		return PGORM_EINVAL; /* the bucket count below would never reach 2 * cap */
	c->cap = cap ? cap : 1;
	c->nbuckets = 64;
	while (c->nbuckets < c->cap * 2)
		c->nbuckets *= 2;
	c->buckets = pgorm__calloc(c->nbuckets, sizeof *c->buckets);
	return c->buckets ? 0 : PGORM_ENOMEM;
}

static void lru_unlink(pgorm__stmt_cache *c, pgorm__stmt_entry *e)
{
	if (e->prev) e->prev->next = e->next; else c->head = e->next;
	if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(pgorm__stmt_cache *c, pgorm__stmt_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head) c->head->prev = e; else c->tail = e;
	c->head = e;
}

pgorm__stmt_entry *pgorm__stmt_cache_find(pgorm__stmt_cache *c, const char *sql, size_t n,
                                          const unsigned *oids)
{
	uint64_t h = key_hash(sql, n, oids);
	for (pgorm__stmt_entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext) {
		if (e->hash == h && e->nparams == n && strcmp(e->sql, sql) == 0 &&
		    (n == 0 || memcmp(e->oids, oids, n * sizeof *oids) == 0)) {
			if (c->head != e) {
				lru_unlink(c, e);
				lru_push(c, e);
			}
			return e;
		}
	}
	return NULL;
}

pgorm__stmt_entry *pgorm__stmt_cache_insert(pgorm__stmt_cache *c, const char *sql, size_t n,
                                            const unsigned *oids)
{
	pgorm__stmt_entry *e = pgorm__calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	e->sql = pgorm__strdup(sql);
	e->oids = n ? pgorm__calloc(n, sizeof *oids) : NULL;
	if (e->sql == NULL || (n && e->oids == NULL)) {
		pgorm__free(e->sql);
		pgorm__free(e->oids);
		pgorm__free(e);
		return NULL;
	}
	if (n)
		memcpy(e->oids, oids, n * sizeof *oids);
	e->nparams = n;
	e->hash = key_hash(sql, n, oids);
	snprintf(e->name, sizeof e->name, "pgorm_%016llx_%llu", (unsigned long long)e->hash,
	         (unsigned long long)++c->seq);
	pgorm__stmt_entry **b = &c->buckets[e->hash & (c->nbuckets - 1)];
	e->hnext = *b;
	*b = e;
	lru_push(c, e);
	c->count++;
	return e;
}

pgorm__stmt_entry *pgorm__stmt_cache_victim(pgorm__stmt_cache *c, uint64_t epoch)
{
	for (pgorm__stmt_entry *e = c->tail; e; e = e->prev)
		if (epoch == 0 || e->pin != epoch)
			return e;
	return NULL;
}

void pgorm__stmt_cache_remove(pgorm__stmt_cache *c, pgorm__stmt_entry *e)
{
	pgorm__stmt_entry **p = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	lru_unlink(c, e);
	c->count--;
	pgorm__free(e->sql);
	pgorm__free(e->oids);
	pgorm__free(e);
}

int pgorm__stmt_cache_garbage_push(pgorm__stmt_cache *c, const char *name)
{
	if (c->ngarbage == c->garbage_cap) {
		size_t cap = c->garbage_cap ? 2 * c->garbage_cap : 8;
		pgorm__stmt_name *g = pgorm__reallocarray(c->garbage, cap, sizeof *g);
		if (g == NULL)
			return PGORM_ENOMEM;
		c->garbage = g;
		c->garbage_cap = cap;
	}
	pgorm__strlcpy(c->garbage[c->ngarbage++], name, sizeof(pgorm__stmt_name));
	return 0;
}

void pgorm__stmt_cache_retire(pgorm__stmt_cache *c, pgorm__stmt_entry *e)
{
	(void)pgorm__stmt_cache_garbage_push(c, e->name);
	pgorm__stmt_cache_remove(c, e);
}

void pgorm__stmt_cache_sweep(pgorm__stmt_cache *c)
{
	pgorm__stmt_entry *e = c->head;
	while (e != NULL) {
		pgorm__stmt_entry *next = e->next;
		if (e->doom == PGORM__STMT_RETIRE)
			pgorm__stmt_cache_retire(c, e);
		else if (e->doom == PGORM__STMT_DROP)
			pgorm__stmt_cache_remove(c, e);
		e = next;
	}
}

void pgorm__stmt_cache_clear(pgorm__stmt_cache *c)
{
	while (c->head)
		pgorm__stmt_cache_remove(c, c->head);
	c->ngarbage = 0;
}

void pgorm__stmt_cache_finish(pgorm__stmt_cache *c)
{
	if (c->buckets)
		pgorm__stmt_cache_clear(c);
	pgorm__free(c->buckets);
	pgorm__free(c->garbage);
	memset(c, 0, sizeof *c);
}
