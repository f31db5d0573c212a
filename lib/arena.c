/* lib/arena.c — chunked bump allocator. Large requests get a chunk of their own. */
#include "arena.h"
#include "internal.h"

#include <stdint.h>
#include <string.h>

struct pgorm__arena_chunk {
	pgorm__arena_chunk *next;
	size_t size;
	_Alignas(16) char data[];
};

/* 8-byte alignment: every pgorm allocation (objects, strings, pointer arrays) needs no more. */
enum { ARENA_CHUNK = 64 * 1024, ARENA_ALIGN = 8 };

void pgorm__arena_init(pgorm__arena *a) { memset(a, 0, sizeof *a); }

void *pgorm__arena_alloc_chunk(pgorm__arena *a, size_t n)
{
	if (n > SIZE_MAX - 2 * ARENA_ALIGN - sizeof(pgorm__arena_chunk))
		return NULL;
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (a->ptr == NULL || (size_t)(a->end - a->ptr) < n) {
		size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		pgorm__arena_chunk *c = pgorm__malloc(sizeof *c + size);
		if (c == NULL)
			return NULL;
		c->size = size;
		a->total += size;
		if (size != ARENA_CHUNK && a->head != NULL) {
			/* Oversized: keep the current chunk as the bump target. */
			c->next = a->head->next;
			a->head->next = c;
			return c->data;
		}
		c->next = a->head;
		a->head = c;
		a->ptr = c->data;
		a->end = c->data + size;
	}
	void *p = a->ptr;
	a->ptr += n;
	return p;
}

void pgorm__arena_free_all(pgorm__arena *a)
{
	pgorm__arena_chunk *c = a->head;
	while (c != NULL) {
		pgorm__arena_chunk *next = c->next;
		pgorm__free(c);
		c = next;
	}
	pgorm__arena_init(a);
}

pgorm__arena_mark pgorm__arena_get_mark(const pgorm__arena *a)
{
	return (pgorm__arena_mark){ a->head, a->head ? a->head->next : NULL, a->ptr, a->end, a->total };
}

void pgorm__arena_reset(pgorm__arena *a, pgorm__arena_mark m)
{
	/* Chunks pushed after the mark sit in front of m.head; oversized ones were linked right
	 * after the head that was current then, so walk from the top and free everything up to
	 * the marked head, then the oversized chunks linked behind it since. */
	while (a->head != NULL && a->head != m.head) {
		pgorm__arena_chunk *c = a->head;
		a->head = c->next;
		pgorm__free(c);
	}
	while (a->head != NULL && a->head->next != m.after) {
		pgorm__arena_chunk *c = a->head->next;
		a->head->next = c->next;
		pgorm__free(c);
	}
	a->ptr = m.ptr;
	a->end = m.end;
	a->total = m.total;
}
