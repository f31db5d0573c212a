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
#include "exec.h"
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

/** column op value, joined to the filters before it by the innermost open group's connective
 * (AND at the top level). The column belongs to the group's model (the query's, or the
 * target of an enclosing pgorm_query_any / _has). op: "=", "<>", "!=", "<", "<=", ">", ">=";
 * "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE" (text column and value; escape literal text with
 * pgorm_like_escape); "STARTSWITH", "ENDSWITH", "CONTAINS" (LIKE with the value escaped, as
 * SQLAlchemy's autoescape); "IN" / "NOT IN" (value: one int8[] or text[] array parameter,
 * sent as = ANY($n) / <> ALL($n); on a char(n) column cast to bpchar[], on an enum column to
 * its enum array type: a text[] of labels, or an int4[] of a C enum's values, each checked
 * against the column's labels when it has them); "IS NULL", "IS NOT NULL" (value ignored).
 * On a char(n) column "=" … ">=" and IN compare as char(n) does (trailing blanks do not
 * count: 'ab' = 'ab '); LIKE compares the padded value with the pattern as the server does. A NULL value
 * with "=" / "<>" means IS NULL / IS NOT NULL (SQLAlchemy's == None); with other operators it
 * is refused. The value's type must suit the column (integers widen); checked here, before
 * any SQL. Errors: PGORM_EINVAL (NULL or unknown column/op), PGORM_ETYPE (naming table.column). */
PGORM_API int pgorm_query_filter(pgorm_query *q, const char *column, const char *op, pgorm_value value);
/** column BETWEEN lo AND hi (both included), like pgorm_query_filter.
 * Errors: PGORM_EINVAL (unknown column, a NULL bound), PGORM_ETYPE. */
PGORM_API int pgorm_query_between(pgorm_query *q, const char *column, pgorm_value lo, pgorm_value hi);
/** Filter groups, nestable, each closed by pgorm_query_end: the filters inside are joined by
 * OR (or_), AND (and_), or AND under NOT (not_). An empty OR group is false, an empty AND true.
 * A group left open makes the query fail before any SQL is sent. Errors: PGORM_EINVAL (more
 * than 16 levels). */
PGORM_API int pgorm_query_or(pgorm_query *q);
PGORM_API int pgorm_query_and(pgorm_query *q);
PGORM_API int pgorm_query_not(pgorm_query *q);
/** SQLAlchemy's Parent.children.any(...) / Child.parent.has(...): EXISTS (SELECT 1 FROM the
 * target WHERE it is related to the row AND the filters given until pgorm_query_end), whose
 * filters name the target's columns and may nest groups, any and has. any takes a collection
 * (one-to-many, many-to-many), has a to-one relationship (many-to-one, one-to-one).
 * Errors: PGORM_EINVAL (NULL, not a relationship of the group's model, any on a to-one or has
 * on a collection, too deep). */
PGORM_API int pgorm_query_any(pgorm_query *q, const char *rel);
PGORM_API int pgorm_query_has(pgorm_query *q, const char *rel);
/** Close the innermost group. Errors: PGORM_EINVAL (no group open). */
PGORM_API int pgorm_query_end(pgorm_query *q);
/** AND an array-column condition: op "@>" (the column holds every element of value), "&&"
 * (it shares one with value) — value an array of the column's type (PGORM_ARRAY) — or "= ANY"
 * (value, one element of the column's element type, is in it). Errors: PGORM_EINVAL (unknown
 * column/op), PGORM_ETYPE (not an array column, wrong value type), before any SQL. */
PGORM_API int pgorm_query_filter_array(pgorm_query *q, const char *column, const char *op, pgorm_value value);
/** A raw SQL condition (the query's table is aliased t) with its own parameters $1..$n, which
 * are renumbered; values never go into the text. Joined like pgorm_query_filter. */
PGORM_API int pgorm_query_where(pgorm_query *q, const char *sql, size_t nparams, const pgorm_value *params);
/** ORDER BY column [DESC], after any earlier order_by (the column is checked and quoted).
 * "rel.column" orders by a column of a many-to-one relationship's target (a scalar subquery on
 * its key: rows whose foreign key is NULL sort as NULL, last ascending).
 * Errors: PGORM_EINVAL (unknown column or relationship, not many-to-one), PGORM_ENOMEM. */
PGORM_API int pgorm_query_order_by(pgorm_query *q, const char *column, bool desc);
/** Copy s into buf (size n) with the LIKE wildcards % and _ and the escape character \
 * escaped by \ (PostgreSQL's default), NUL-terminated, for a LIKE pattern that contains
 * literal text: returns the length, or -1 (NULL argument, does not fit). Thread-safe. */
PGORM_API long pgorm_like_escape(char *buf, size_t n, const char *s);
/** LIMIT / OFFSET in rows (with a joined loader, of parent rows: applied in a subquery).
 * Errors: PGORM_EINVAL (negative). */
PGORM_API int pgorm_query_limit(pgorm_query *q, int64_t limit);
PGORM_API int pgorm_query_offset(pgorm_query *q, int64_t offset);
/** Keyset pagination (SQLAlchemy's "seek" recipe): WHERE (k1, k2, …) > ($1, $2, …) (< with
 * desc) ORDER BY k1, k2, … [DESC] LIMIT limit, in place of LIMIT/OFFSET, whose OFFSET rows the
 * server still reads. after (NULL: the first page) holds the key of the last row of the previous
 * page, one value per column; the columns must be NOT NULL and together unique (the primary
 * key, or a sort column followed by it); one direction for all of them. The query's ORDER BY
 * is the keyset's: pgorm_query_order_by before or after it is refused.
 * Errors: PGORM_EINVAL (no/unknown/nullable column, NULL value, an ORDER BY already, inside a
 * group, negative limit), PGORM_ETYPE (a value that does not suit its column). */
PGORM_API int pgorm_query_keyset(pgorm_query *q, size_t n, const char *const *columns, const pgorm_value *after,
                                 bool desc, int64_t limit);
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

/** Bulk UPDATE with several SET items and expressions: pgorm_query_set adds column = value,
 * pgorm_query_set_expr column = column op value (op: "+", "-", "*", "/" on numeric columns and
 * values; "||" on text), e.g. SET price = price * $1, n = n + 1. The values are bind
 * parameters, checked against the column here (ETYPE naming table.column; NULL refused in an
 * expression and into a NOT NULL column). pgorm_query_update_set runs UPDATE … SET … WHERE the
 * query's filters RETURNING the keys, and expires the identity-map objects of those rows (as
 * pgorm_query_update): their new values, computed by the server, load on next access. A query
 * with a SET list runs only through pgorm_query_update_set.
 * Errors: PGORM_EINVAL (unknown column/op, nothing to SET), PGORM_ETYPE, those of
 * pgorm_query_delete. */
PGORM_API int pgorm_query_set(pgorm_query *q, const char *column, pgorm_value value);
PGORM_API int pgorm_query_set_expr(pgorm_query *q, const char *column, const char *op, pgorm_value value);
PGORM_API int pgorm_query_update_set(pgorm_query *q, uint64_t *affected);

/* ---- aggregates ---- */

typedef enum pgorm_agg { PGORM_AGG_COUNT, PGORM_AGG_SUM, PGORM_AGG_MIN, PGORM_AGG_MAX, PGORM_AGG_AVG } pgorm_agg;

/** Add fn(column) to the aggregate query's select list (count with a NULL column: count(*)),
 * labelled "count", "count_<column>", "sum_<column>", … sum/avg need a numeric column; min/max
 * a numeric, text, date or timestamp one. Errors: PGORM_EINVAL, PGORM_ETYPE (naming the column). */
PGORM_API int pgorm_query_agg(pgorm_query *q, pgorm_agg fn, const char *column);
/** GROUP BY column; the group columns come first in the result, in call order. */
PGORM_API int pgorm_query_group_by(pgorm_query *q, const char *column);
/** HAVING fn(column) op value (op as pgorm_query_filter's comparisons; value: an integer for
 * count, a number for sum/avg, the column's type for min/max). */
PGORM_API int pgorm_query_having(pgorm_query *q, pgorm_agg fn, const char *column, const char *op, pgorm_value value);
/** ORDER BY fn(column) [DESC], after any earlier order. */
PGORM_API int pgorm_query_order_by_agg(pgorm_query *q, pgorm_agg fn, const char *column, bool desc);
/** Run SELECT <group columns>, <aggregates> FROM … WHERE <filters> GROUP BY … HAVING … ORDER BY
 * … LIMIT/OFFSET, into *out: rows × columns read with the typed getters of pgorm/exec.h
 * (pgorm_result_get, _int64, _text, _col_name, _col_type). Types are PostgreSQL's: count int8;
 * sum of int2/int4 int8; sum of int8, avg of integers, sum/avg of numeric: numeric (a decimal
 * string); sum/avg of float: float8; min/max: the column's type; NULL for no rows (but count 0).
 * A query with aggregates runs only through this call (loaders are ignored). Autoflushes.
 * Ownership: *out is the caller's (pgorm_result_free). Errors: PGORM_EINVAL (no aggregate nor
 * group, out NULL), those of pgorm_query_all. */
PGORM_API int pgorm_query_aggregate(pgorm_query *q, pgorm_result **out);

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

/* ---- upsert ---- */

/** How pgorm_session_upsert resolves a conflict (PostgreSQL's INSERT … ON CONFLICT, SQLAlchemy's
 * postgresql insert().on_conflict_do_update / _do_nothing). */
typedef struct pgorm_upsert {
	const char *const *conflict_columns; /* ON CONFLICT (these) — a unique index's columns */
	size_t nconflict;
	const char *constraint;              /* … or ON CONFLICT ON CONSTRAINT this (a name) */
	bool do_nothing;                     /* DO NOTHING (target optional) instead of DO UPDATE */
	const char *const *update_columns;   /* DO UPDATE SET c = EXCLUDED.c for these; none: every */
	size_t nupdate;                      /*   inserted column outside the target and the key */
	size_t batch;                        /* rows per statement; 0: 1000 (fewer if 65535 params) */
	/* The four fields below took the place of `const void *reserved[4]` (same size and
	 * layout: binaries built with it pass NULL / 0 there, which means none). */
	/* ON CONFLICT (conflict_columns) WHERE index_where: the predicate of a partial unique
	 * index, so that it can be the arbiter (SQLAlchemy's index_where). SQL written by the
	 * developer, as pgorm_index.where, never a user value, and without parameters: the server
	 * matches it against the index's predicate when it plans the statement, which a
	 * parameter would defeat. Column names are the table's, unqualified. NULL: none. */
	const char *index_where;
	/* DO UPDATE … WHERE where (SQLAlchemy's on_conflict_do_update(where=…)): a condition on
	 * the existing row (alias t) and the proposed one (EXCLUDED), e.g.
	 * "t.version < EXCLUDED.version AND t.status <> $1", with its own parameters $1..$n
	 * (where_params, renumbered after each statement's row values; values never go into the
	 * text). A row it is false for is neither updated nor returned. NULL: none. */
	const char *where;
	size_t nwhere_params;
	const pgorm_value *where_params;
} pgorm_upsert;
#define PGORM_UPSERT_INIT { NULL, 0, NULL, false, NULL, 0, 0, NULL, NULL, 0, NULL }

/** INSERT the n TRANSIENT objects (pgorm_object_new, columns assigned; one model) with ON
 * CONFLICT [(columns) [WHERE index predicate] | ON CONSTRAINT name] DO UPDATE [WHERE …] / DO
 * NOTHING, one statement per batch, every batch in one round trip,
 * RETURNING the rows written. A column some object never assigned is DEFAULT for it; a
 * version column starts at 1 and DO UPDATE bumps it. Unit of work: the session is flushed
 * first (whatever autoflush says); the returned rows then go through the identity map,
 * overwriting the objects already there for those keys (populate-existing), else becoming
 * new PERSISTENT objects. The objects passed in only carry column values (their relationship
 * links are not followed: set the foreign key columns) and stay TRANSIENT. *out
 * (may be NULL) lists the objects written, in the order the server returns them: rows skipped
 * by DO NOTHING are not in it. Two objects with the same conflict key in one statement are a
 * server error (a row cannot be affected twice). On a server error the transaction is
 * aborted: roll back. Errors: PGORM_EINVAL (NULL, not transient, two models, unknown column,
 * DO UPDATE without a target, nothing assigned or to update, index_where without conflict
 * columns, where with do_nothing, a where with an unterminated string or comment, unbalanced
 * parentheses or a $n beyond nwhere_params), PGORM_ETYPE / PGORM_EINVAL for a where parameter
 * the encoder refuses (nothing sent), flush and server errors (42P10 when no unique index
 * matches the conflict columns and index_where). */
PGORM_API int pgorm_session_upsert(pgorm_session *s, const pgorm_upsert *how, void *const *objs, size_t n,
                                   pgorm_list *out);

/** Map a hand-written parameterized SELECT onto model m: its columns must be the model's
 * columns in model order. Rows go through the identity map. */
PGORM_API int pgorm_session_query_sql(pgorm_session *s, const pgorm_model *m, const char *sql,
                                      size_t nparams, const pgorm_value *params, pgorm_list *out);

PGORM_END_DECLS

#endif
