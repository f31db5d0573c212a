/* lib/arena.h — a bump allocator: many small allocations, one free. Used by results
 * (decoded arrays, numerics) and sessions (objects, strings). */
#ifndef PGORM_ARENA_H
#define PGORM_ARENA_H

#include <stddef.h>
#include <string.h>

typedef struct pgorm__arena_chunk pgorm__arena_chunk;

typedef struct pgorm__arena {
	pgorm__arena_chunk *head;
	char *ptr;       /* next free byte in head */
	char *end;       /* end of head */
	size_t total;    /* bytes obtained from the allocator */
} pgorm__arena;

void pgorm__arena_init(pgorm__arena *a);
/* The slow path of pgorm__arena_alloc: a new chunk (or an oversized one of its own). */
void *pgorm__arena_alloc_chunk(pgorm__arena *a, size_t n);

/* 8-byte aligned (enough for objects, strings and pointer arrays); NULL on out of memory.
 * Inline bump: the loader allocates an object and a string per row. */
static inline void *pgorm__arena_alloc(pgorm__arena *a, size_t n)
{
	size_t r = (n + 7) & ~(size_t)7;
	if (r >= n && a->ptr != NULL && (size_t)(a->end - a->ptr) >= r) {
		void *p = a->ptr;
		a->ptr += r;
		return p;
	}
	return pgorm__arena_alloc_chunk(a, n);
}
static inline void *pgorm__arena_calloc(pgorm__arena *a, size_t n)
{
	void *p = pgorm__arena_alloc(a, n);
	if (p != NULL)
		memset(p, 0, n);
	return p;
}
static inline char *pgorm__arena_strndup(pgorm__arena *a, const char *s, size_t n)
{
	char *d = pgorm__arena_alloc(a, n + 1);
	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}
void pgorm__arena_free_all(pgorm__arena *a);

/* A position to roll back to: everything allocated after the mark is freed by reset. */
typedef struct pgorm__arena_mark {
	pgorm__arena_chunk *head;
	pgorm__arena_chunk *after;  /* head's successor then: oversized chunks go in between */
	char *ptr, *end;
	size_t total;
} pgorm__arena_mark;

pgorm__arena_mark pgorm__arena_get_mark(const pgorm__arena *a);
void pgorm__arena_reset(pgorm__arena *a, pgorm__arena_mark m);

#endif
