/* pgorm/alloc.h — the allocator hook (hiredis/libuv style). */
#ifndef PGORM_ALLOC_H
#define PGORM_ALLOC_H

#include "common.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_allocator {
	void *(*malloc_fn)(size_t);
	void *(*calloc_fn)(size_t, size_t);
	void *(*realloc_fn)(void *, size_t);
	void (*free_fn)(void *);
} pgorm_allocator;

/** Replace the allocator used for every pgorm allocation; NULL restores libc's.
 * Call before any other pgorm call; the hooks must be thread-safe. Returns the previous one.
 * libpq's own allocations are not affected. */
PGORM_API pgorm_allocator pgorm_set_allocator(const pgorm_allocator *a);

PGORM_END_DECLS

#endif
