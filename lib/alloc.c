/* lib/alloc.c — every pgorm allocation goes through these, so tests can inject failures. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pgorm_allocator allocator = { malloc, calloc, realloc, free };

int pgorm_allocator_set(const pgorm_allocator *a, pgorm_allocator *prev)
{
	if (a != NULL && (a->malloc_fn == NULL || a->calloc_fn == NULL || a->realloc_fn == NULL || a->free_fn == NULL))
		return PGORM_EINVAL;
	if (prev != NULL)
		*prev = allocator;
	allocator = a != NULL ? *a : (pgorm_allocator){ malloc, calloc, realloc, free };
	return 0;
}

pgorm_allocator pgorm_set_allocator(const pgorm_allocator *a)
{
	pgorm_allocator prev = { NULL, NULL, NULL, NULL }; /* stays so when refused */
	(void)pgorm_allocator_set(a, &prev);
	return prev;
}

void *pgorm__malloc(size_t n) { return allocator.malloc_fn(n ? n : 1); }

void *pgorm__calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return allocator.calloc_fn(n ? n : 1, size ? size : 1);
}

void *pgorm__realloc(void *p, size_t n) { return allocator.realloc_fn(p, n ? n : 1); }

void *pgorm__reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return pgorm__realloc(p, n * size);
}

char *pgorm__strndup(const char *s, size_t n)
{
	char *d = pgorm__malloc(n + 1);
	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *pgorm__strdup(const char *s) { return s ? pgorm__strndup(s, strlen(s)) : NULL; }

void pgorm__free(void *p)
{
	if (p != NULL)
		allocator.free_fn(p);
}
