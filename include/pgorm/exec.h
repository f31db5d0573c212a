/* pgorm/exec.h — one PostgreSQL connection: parameterized binary execution, a statement
 * cache, pipeline batches, transactions.
 *
 * Thread safety: a pgorm_conn is used by one thread at a time, like libpq's PGconn.
 * Every value travels as a bind parameter in binary; results come back in binary and are
 * decoded by pgorm's codecs without going through text.
 */
#ifndef PGORM_EXEC_H
#define PGORM_EXEC_H

#include "common.h"
#include "error.h"
#include "types.h"

PGORM_BEGIN_DECLS

typedef struct pgorm_conn pgorm_conn;
typedef struct pgorm_result pgorm_result;

/* Statement modes.
 * NAMED: each distinct (SQL, parameter types) is prepared once per connection under a unique
 *   name and kept in an LRU cache of stmt_cache_size entries; evicted statements are
 *   DEALLOCATEd before the next statement runs (never inside an aborted transaction block).
 *   A statement's first use sends its PREPARE in the same pipeline as its execution: one round
 *   trip, as a cached one.
 *   Recovery: a cached statement failing with 26000 (it vanished: DEALLOCATE ALL / DISCARD ALL
 *   behind the cache's back) or 0A000 ("cached plan must not change result type", e.g. after
 *   ALTER TABLE) is prepared again and run once more when no transaction block is open (a
 *   pipeline batch is then re-sent whole: it was rolled back as a whole). Inside a transaction
 *   block the error is returned (the block is aborted) and the next use prepares afresh. After
 *   running DISCARD ALL yourself, call pgorm_conn_cache_reset.
 *   NOT SUPPORTED behind PgBouncer (or any pooler) in transaction or statement pooling mode:
 *   a statement prepared on one server connection is missing on the next, so executions fail
 *   with 26000 ("prepared statement ... does not exist", inside transactions) or 42P05
 *   ("already exists", when two clients prepare the same name; its message and hint say
 *   what to do). Use UNNAMED there, or PgBouncer >= 1.21 with max_prepared_statements > 0
 *   (it tracks protocol-level prepared statements per client).
 * UNNAMED: every statement is sent with PQexecParams / PQsendQueryParams (parse, bind, execute
 *   and sync together), nothing outlives a statement: safe behind PgBouncer 1.18 transaction
 *   mode. Costs a parse per execution. */
typedef enum pgorm_stmt_mode {
	PGORM_STMT_NAMED = 0,   /* prepare once per connection, LRU-bounded cache */
	PGORM_STMT_UNNAMED = 1  /* unnamed statements only: safe behind PgBouncer transaction mode */
} pgorm_stmt_mode;

/** Called after every statement the connection sends (also inside batches).
 * sql is borrowed for the call; params is NULL unless log_params was set. */
typedef void (*pgorm_stmt_hook)(void *ctx, const char *sql, size_t nparams,
                                const pgorm_value *params, double elapsed_us, int status);

typedef struct pgorm_conn_config {
	const char *conninfo;       /* libpq conninfo or URI; PG* env vars apply; copied */
	pgorm_stmt_mode stmt_mode;  /* default PGORM_STMT_NAMED */
	size_t stmt_cache_size;     /* named mode: max prepared statements (default 256; at most
	                               PGORM_STMT_CACHE_MAX, else PGORM_EINVAL) */
	size_t max_value_size;      /* parameters above this size are rejected (default 64 MiB) */
	pgorm_stmt_hook hook;       /* optional statement log hook */
	void *hook_ctx;
	bool log_params;            /* pass parameter values to the hook (default false) */
} pgorm_conn_config;

#define PGORM_CONN_CONFIG_INIT { NULL, PGORM_STMT_NAMED, 256, (size_t)64 << 20, NULL, NULL, false }

/* The largest stmt_cache_size accepted (the cache's hash table is sized from it at connect). */
#define PGORM_STMT_CACHE_MAX 65536

typedef struct pgorm_conn_stats {
	uint64_t statements;    /* statements executed (batch members included) */
	uint64_t round_trips;   /* waits for the server: one per exec, one per batch */
	uint64_t prepares;      /* PREPAREs sent */
	uint64_t cache_hits;    /* named mode: statement found prepared */
	uint64_t cache_misses;
	uint64_t evictions;     /* LRU evictions (each a DEALLOCATE) */
	uint64_t reprepares;    /* recoveries from 26000 / 0A000 */
	size_t cached;          /* statements currently prepared */
} pgorm_conn_stats;

typedef enum pgorm_tx_status {
	PGORM_TX_IDLE,          /* no transaction open */
	PGORM_TX_ACTIVE,        /* a command is in progress */
	PGORM_TX_INTRANS,       /* in a transaction block */
	PGORM_TX_INERROR,       /* in a failed transaction block */
	PGORM_TX_UNKNOWN        /* connection bad */
} pgorm_tx_status;

/** Open a connection. Ownership: *out belongs to the caller; free with pgorm_conn_close.
 * Errors: PGORM_EINVAL (NULL cfg/out, unknown stmt_mode, stmt_cache_size above
 * PGORM_STMT_CACHE_MAX, a conninfo libpq cannot parse: a fixed message that quotes nothing of
 * it, since libpq's may quote part of a password), PGORM_ECONN with libpq's message (the
 * password masked, whatever form it was given in, and by its parsed value) in *err
 * (optional), PGORM_ENOMEM. *out is NULL on error. */
PGORM_API int pgorm_conn_connect(pgorm_conn **out, const pgorm_conn_config *cfg, pgorm_error *err);
/** Wrap an already open libpq connection; on success the pgorm_conn owns pq and will
 * PQfinish it. On error pq is left untouched and still belongs to the caller.
 * Errors: PGORM_EINVAL (NULL out/pq/cfg, cfg refused as by pgorm_conn_connect), PGORM_ENOMEM;
 * message in *err (optional). */
PGORM_API int pgorm_conn_adopt(pgorm_conn **out, struct pg_conn *pq, const pgorm_conn_config *cfg,
                               pgorm_error *err);
/** Close the connection and free everything it owns. Accepts NULL. */
PGORM_API void pgorm_conn_close(pgorm_conn *c);
/** Give back the libpq connection without closing it (the pgorm_conn is freed). The
 * statement cache is forgotten; prepared statements stay on the server. */
PGORM_API struct pg_conn *pgorm_conn_release_pq(pgorm_conn *c);
/** The underlying libpq connection, borrowed. Do not PQfinish it. */
PGORM_API struct pg_conn *pgorm_conn_pq(pgorm_conn *c);
/** Last error on this connection. Ownership: borrowed, valid until the next call on c. */
PGORM_API const pgorm_error *pgorm_conn_error(const pgorm_conn *c);
/** Transaction status without a round trip. */
PGORM_API pgorm_tx_status pgorm_conn_tx_status(const pgorm_conn *c);
/** False once the connection is known to be lost. */
PGORM_API bool pgorm_conn_ok(const pgorm_conn *c);
/** Copy the statistics into *out. */
PGORM_API void pgorm_conn_stats_get(const pgorm_conn *c, pgorm_conn_stats *out);
/** Change the statement log hook (NULL disables). */
PGORM_API void pgorm_conn_set_hook(pgorm_conn *c, pgorm_stmt_hook hook, void *ctx, bool log_params);

/** Execute sql with nparams bind parameters ($1..$n) in binary. When out is not NULL it
 * receives the result (caller frees with pgorm_result_free), else the result is discarded.
 * Errors: PGORM_EINVAL (NULL sql, NULL params with nparams > 0, > 65535 params),
 * PGORM_ETYPE (unknown type), PGORM_ETOOBIG, PGORM_EENCODING (invalid UTF-8 text),
 * PGORM_ESERVER / PGORM_ECONSTRAINT / PGORM_ESERIALIZATION (SQLSTATE in pgorm_conn_error),
 * PGORM_ECONN (connection lost). Nothing is sent when parameters are rejected. */
PGORM_API int pgorm_conn_exec(pgorm_conn *c, const char *sql, size_t nparams,
                              const pgorm_value *params, pgorm_result **out);

/** One statement of a pipeline batch. */
typedef struct pgorm_stmt {
	const char *sql;
	size_t nparams;
	const pgorm_value *params;
} pgorm_stmt;

/** Send n statements in pipeline mode with one sync and collect the results in order.
 * results (may be NULL) has n slots; each receives its result or NULL. The first failing
 * statement aborts the rest: its error is in pgorm_conn_error (stmt_index = its index),
 * the rest are skipped (the hook sees them with PGORM_EABORTED). Outside an explicit
 * transaction the batch is atomic (implicit transaction). On error every slot is NULL.
 * Sending never blocks on a full socket (results are read meanwhile), so batches of any size
 * work. A connection lost mid-batch gives PGORM_ECONN and pgorm_conn_ok false.
 * Errors: as pgorm_conn_exec. */
PGORM_API int pgorm_conn_pipeline(pgorm_conn *c, size_t n, const pgorm_stmt *stmts,
                                  pgorm_result **results);

/** Transactions. Savepoint names are quoted identifiers. Errors: as pgorm_conn_exec. */
PGORM_API int pgorm_conn_begin(pgorm_conn *c);
PGORM_API int pgorm_conn_commit(pgorm_conn *c);
PGORM_API int pgorm_conn_rollback(pgorm_conn *c);
PGORM_API int pgorm_conn_savepoint(pgorm_conn *c, const char *name);
PGORM_API int pgorm_conn_release_savepoint(pgorm_conn *c, const char *name);
PGORM_API int pgorm_conn_rollback_to(pgorm_conn *c, const char *name);

/** Forget every cached prepared statement and the type OIDs looked up by name (custom and
 * enum types, pgorm/types.h), e.g. after DISCARD ALL or a type dropped and created again.
 * No SQL is sent. */
PGORM_API void pgorm_conn_cache_reset(pgorm_conn *c);

/* ---- results ---- */

/** Number of rows / columns; rows affected by INSERT/UPDATE/DELETE (0 otherwise). */
PGORM_API size_t pgorm_result_rows(const pgorm_result *r);
PGORM_API size_t pgorm_result_cols(const pgorm_result *r);
PGORM_API uint64_t pgorm_result_affected(const pgorm_result *r);
/** Column name, borrowed from r; NULL when out of range. */
PGORM_API const char *pgorm_result_col_name(const pgorm_result *r, size_t col);
/** Column type, PGORM_TYPE_INVALID when pgorm has no codec for it. */
PGORM_API pgorm_type pgorm_result_col_type(const pgorm_result *r, size_t col);
/** True when the value is NULL (or out of range). */
PGORM_API bool pgorm_result_is_null(const pgorm_result *r, size_t row, size_t col);
/** Decode one value as type t into *out (borrowed pointers, valid until pgorm_result_free).
 * Integer getters accept narrower integer columns. NULL gives out->is_null = true.
 * Errors: PGORM_EINVAL (out of range), PGORM_ETYPE (column type differs, message names both),
 * PGORM_ENOMEM. The message goes to *err when not NULL. */
PGORM_API int pgorm_result_get(pgorm_result *r, size_t row, size_t col, pgorm_type t,
                               pgorm_value *out, pgorm_error *err);
/** Shorthands for pgorm_result_get; NULL reads as 0 / NULL. */
PGORM_API int pgorm_result_int64(pgorm_result *r, size_t row, size_t col, int64_t *out);
PGORM_API const char *pgorm_result_text(pgorm_result *r, size_t row, size_t col);
/** Free the result. Accepts NULL. */
PGORM_API void pgorm_result_free(pgorm_result *r);

/** Quote an identifier ("a""b", every '"' doubled) into buf of size n, NUL-terminated; returns
 * the length without the NUL, or -1 when buf or name is NULL, name is empty, or the quoted
 * name and its NUL do not fit in n (buf's content is then unspecified). name must be a
 * NUL-terminated string. Thread-safe. */
PGORM_API long pgorm_quote_ident(char *buf, size_t n, const char *name);

PGORM_END_DECLS

#endif
