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

/** Replace the allocator used for every pgorm allocation; NULL restores libc's. *prev (may be
 * NULL) receives the previous one. Call before any other pgorm call; the hooks must be
 * thread-safe. libpq's own allocations are not affected.
 * Errors: PGORM_EINVAL when a member is NULL (nothing changes). */
PGORM_API int pgorm_allocator_set(const pgorm_allocator *a, pgorm_allocator *prev);
/** As pgorm_allocator_set, returning the previous allocator; an allocator with a NULL member
 * is refused (nothing changes) and an all-NULL pgorm_allocator is returned. */
PGORM_API pgorm_allocator pgorm_set_allocator(const pgorm_allocator *a);

PGORM_END_DECLS

#endif
