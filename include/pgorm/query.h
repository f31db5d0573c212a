/* pgorm/query.h — queries over a model: typed filters, ordering, limits, row locks, loader
 * options along relationship paths, bulk UPDATE/DELETE by criteria, streaming.
 *
 * Every value is a bind parameter; column names are checked against the model and quoted.
 * Builder calls record the first error and return it; execution returns it again before any
 * SQL is sent. Objects returned belong to the session (see session.h).
 * Thread safety: like its session, one thread at a time.
 */
#ifndef PGORM_QUERY_H
#define PGORM_QUERY_H

#include "common.h"
#include "error.h"
#include "model.h"
#include "session.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_query pgorm_query;

/* A list of objects; items live in the session's memory with the objects (no free needed: it
 * goes with their graph, see session.h). */
typedef struct pgorm_list {
	void **items;
	size_t len;
} pgorm_list;

/** Start a query for model m. Ownership: *out is the caller's (pgorm_query_destroy).
 * Errors: PGORM_EINVAL (model not in the session's registry), PGORM_ENOMEM. */
PGORM_API int pgorm_query_create(pgorm_query **out, pgorm_session *s, const pgorm_model *m);
/** Free the query (not the objects it returned). Accepts NULL. */
PGORM_API void pgorm_query_destroy(pgorm_query *q);
/** The query's first error, or NULL. Borrowed. */
PGORM_API const pgorm_error *pgorm_query_error(const pgorm_query *q);

/** AND column op value. op: "=", "<>", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN" (value is an
 * int8[] or text[] array), "IS NULL", "IS NOT NULL" (value ignored). The value's type must
 * suit the column (integers widen). Errors: PGORM_EINVAL (unknown column/op), PGORM_ETYPE. */
PGORM_API int pgorm_query_filter(pgorm_query *q, const char *column, const char *op, pgorm_value value);
/** AND a raw SQL condition (the table is aliased t) with its own parameters $1..$n, which are
 * renumbered; values never go into the text. */
PGORM_API int pgorm_query_where(pgorm_query *q, const char *sql, size_t nparams, const pgorm_value *params);
/** ORDER BY column [DESC], after any earlier order_by (the column is checked and quoted).
 * Errors: PGORM_EINVAL (unknown column), PGORM_ENOMEM. */
PGORM_API int pgorm_query_order_by(pgorm_query *q, const char *column, bool desc);
/** LIMIT / OFFSET in rows (with a joined loader, of parent rows: applied in a subquery).
 * Errors: PGORM_EINVAL (negative). */
PGORM_API int pgorm_query_limit(pgorm_query *q, int64_t limit);
PGORM_API int pgorm_query_offset(pgorm_query *q, int64_t offset);
/** FOR UPDATE [SKIP LOCKED]. */
PGORM_API int pgorm_query_for_update(pgorm_query *q, bool skip_locked);
/** Loader for a relationship path: "children", "children.toys", or "*" (every relationship
 * of every level without its own option), overriding the relationship's default.
 * Errors: PGORM_EINVAL naming the path when a segment is not a relationship of its model. */
PGORM_API int pgorm_query_option(pgorm_query *q, const char *path, pgorm_loader loader);
/** Overwrite attributes of objects already in the identity map (default: keep them). */
PGORM_API int pgorm_query_populate_existing(pgorm_query *q, bool on);

/** Run and return every object (one per row; joined rows are folded). Autoflushes first when
 * the session is configured to. Errors (details in pgorm_session_error): the first error of
 * the building calls (PGORM_EINVAL, PGORM_ETYPE, PGORM_ENOMEM), PGORM_ENOMEM, PGORM_ESTATE
 * (the session needs a rollback), PGORM_EMULTIPLE (two rows for a joined one-to-one),
 * PGORM_ERAISE / PGORM_ENPLUSONE from loaders, server and connection errors. */
PGORM_API int pgorm_query_all(pgorm_query *q, pgorm_list *out);
/** First object or *out = NULL when there is none (not an error). Errors: as pgorm_query_all. */
PGORM_API int pgorm_query_first(pgorm_query *q, void **out);
/** Exactly one object. Errors: PGORM_ENOTFOUND, PGORM_EMULTIPLE, those of pgorm_query_all. */
PGORM_API int pgorm_query_one(pgorm_query *q, void **out);
/** SELECT count(*) with the query's filters (order, limit, offset and loaders ignored) into
 * *out. Autoflushes like pgorm_query_all. Errors: as pgorm_query_all. */
PGORM_API int pgorm_query_count(pgorm_query *q, int64_t *out);

/** Bulk DELETE / UPDATE by the query's filters: no cascades, no relationship handling
 * (as in SQLAlchemy). Objects of those rows in the identity map are detached (delete) or
 * expired (update). *affected (may be NULL) receives the row count.
 * Errors: as pgorm_query_all (without the loader ones). */
PGORM_API int pgorm_query_delete(pgorm_query *q, uint64_t *affected);
/** UPDATE … SET column = value (a bind parameter) WHERE the query's filters.
 * Errors: PGORM_EINVAL (unknown column, NULL into a NOT NULL column), PGORM_ETYPE, and those
 * of pgorm_query_delete. */
PGORM_API int pgorm_query_update(pgorm_query *q, const char *column, pgorm_value value, uint64_t *affected);

/** Iterate the result in batches through a server-side cursor inside the transaction; each
 * batch gets its relationship loaders. Each batch is loaded into objects of its own (a reader
 * session inside this session's transaction), valid only until cb returns: they are freed
 * afterwards, so memory stays bounded. The session's own objects are never refreshed from a
 * batch nor linked to its objects, even for the same rows; batch objects cannot be given to
 * calls on the session (PGORM_EINVAL: another session's object) — load what you keep with
 * pgorm_session_get. cb returns 0 to go on, non-zero to stop. */
typedef int (*pgorm_stream_fn)(void *ctx, void **objs, size_t n);
/** Errors: PGORM_EINVAL (cb NULL, batch 0), those of pgorm_query_all. A non-zero return of cb
 * stops the stream without error. */
PGORM_API int pgorm_query_stream(pgorm_query *q, size_t batch, pgorm_stream_fn cb, void *ctx);

/** Map a hand-written parameterized SELECT onto model m: its columns must be the model's
 * columns in model order. Rows go through the identity map. */
PGORM_API int pgorm_session_query_sql(pgorm_session *s, const pgorm_model *m, const char *sql,
                                      size_t nparams, const pgorm_value *params, pgorm_list *out);

PGORM_END_DECLS

#endif
